// `m2rag eval agreement`: the rank correlation between each automatic metric and the human ratings
// made in `m2rag serve`, with n.
import type { Command } from 'commander';
import { globalOptions, withStore } from './common.js';
import { computeAgreement, formatAgreement } from '../../viewer/agreement.js';

export function registerAgreement(evalCommand: Command): void {
  evalCommand
    .command('agreement')
    .description('Spearman and Kendall rank correlation between each automatic metric and the human ratings')
    .option('--json', 'print the rows as one JSON object')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withStore(globalOptions(command), async (store) => {
        const rows = await computeAgreement(store);
        process.stdout.write(options.json ? JSON.stringify({ agreement: rows }) + '\n' : formatAgreement(rows));
      });
    });
}
