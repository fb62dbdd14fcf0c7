// `m2rag export`: the dataset in the M2RAG benchmark layout, as ShareGPT training data, or as flat JSONL.
import { Command, Option } from 'commander';
import { configFor, globalOptions, withStore } from './common.js';
import { scoreIdOf } from '../../scorers/score-stage.js';
import { exportDataset, EXPORT_FORMATS, type ExportFormat } from '../../storage/export/index.js';

export function register(program: Command): void {
  program
    .command('export')
    .description('export the dataset: m2rag (benchmark layout with image files), sharegpt (training set) or jsonl (scored elements)')
    .addOption(new Option('--format <name>', 'export format').choices([...EXPORT_FORMATS]).default('m2rag'))
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .action(async (options: { format: ExportFormat; out: string }, command: Command) => {
      const global = globalOptions(command);
      const config = await configFor(global);
      await withStore(global, async (store) => {
        const summary = await exportDataset(store, {
          format: options.format,
          outDir: options.out,
          scoreIdOf,
          sharegptMinMetric: config.run.sharegptMinMetric,
          settings: {
            'Image filters': config.images,
            'Keep thresholds': config.score,
            'Runner and ShareGPT selection': config.run,
          },
        });
        const counts = Object.entries(summary.counts).map(([k, v]) => `${k}=${String(v)}`).join(' ');
        process.stdout.write(`export ${options.format} → ${options.out}: ${counts}\n`);
      });
    });
}
