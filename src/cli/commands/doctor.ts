// `m2rag doctor [--repair]`: checks a store (database, every record against its schema, every
// index entry, every blob against its sha256) and reports per part; `--repair` fixes what can be
// fixed and lists what cannot. Exits 1 while problems remain. Lost image originals are fetched
// again through the crawler's safe HTTP (the same address policy as `crawl`).
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { configFor, globalOptions } from './common.js';
import type { Config } from '../../core/config.js';
import { StageFailedError, UserError } from '../../core/errors.js';
import { readBody, safeFetch } from '../../../crawlers/net/safe-http.js';
import { UrlPolicy } from '../../../crawlers/net/url-policy.js';
import { doctorStore, type BlobRefetch, type DoctorReport } from '../../../storage/index.js';

/** Fetches an image URL again through the crawler's safe HTTP, under the crawl's address policy. */
export function refetcher(config: Config): BlobRefetch {
  const options = {
    policy: new UrlPolicy({ allowPrivate: config.crawl.allowPrivate }),
    timeoutMs: config.crawl.requestTimeoutSecs * 1000,
    maxBytes: config.crawl.maxImageBytes,
    userAgent: config.crawl.userAgent,
  };
  return async (url) => {
    const response = await safeFetch(url, options);
    const bytes = await readBody(response.body);
    return response.statusCode === 200 ? bytes : undefined;
  };
}

export function formatReport(report: DoctorReport, repair: boolean): string[] {
  const lines = [`store ${report.store}:`];
  for (const part of report.parts) {
    const state = part.problemCount === 0 ? 'ok' : `${part.problemCount} problem${part.problemCount === 1 ? '' : 's'}`;
    lines.push(`  ${part.part}: ${part.checked} checked, ${state}`);
    for (const fixed of part.repaired) lines.push(`    repaired: ${fixed}`);
    for (const problem of part.problems) lines.push(`    ${repair ? 'cannot repair' : 'problem'}: ${problem}`);
    if (part.problemCount > part.problems.length) lines.push(`    … and ${part.problemCount - part.problems.length} more`);
  }
  if (report.remaining === 0) lines.push('doctor: no problems remain');
  return lines;
}

function remainingLine(report: DoctorReport, repair: boolean): string {
  const n = report.remaining;
  return `doctor: ${n} problem${n === 1 ? '' : 's'} remain${n === 1 ? 's' : ''} in store ${report.store}${repair ? ' (listed above as cannot repair)' : '; run `m2rag doctor --repair` to fix what can be fixed'}`;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the store (database, records, indexes, blobs) and, with --repair, fix what can be fixed')
    .option('--repair', 'repair: LevelDB repair (after a copy of db/), rebuilt indexes, dropped damaged cache entries, lost images fetched again', false)
    .option('--json', 'print the report as one JSON object')
    .action(async (options: { repair: boolean; json?: boolean }, command: Command) => {
      const global = globalOptions(command);
      if (!existsSync(global.store)) throw new UserError(`--store ${global.store} does not exist; name the store folder to check`);
      const config = await configFor(global);
      const report = await doctorStore(global.store, { repair: options.repair, refetch: refetcher(config) });
      if (options.json) process.stdout.write(JSON.stringify(report) + '\n');
      else process.stdout.write(formatReport(report, options.repair).join('\n') + '\n');
      if (report.remaining > 0) throw new StageFailedError(remainingLine(report, options.repair));
    });
}
