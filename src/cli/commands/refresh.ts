// `m2rag refresh`: re-crawls what changed since the store was built, redoes only what it touched,
// and records the result as a new numbered store version (src/cli/refresh/run-refresh.ts).
import { Command, InvalidArgumentError } from 'commander';
import { addCrawlOptions, crawlConfigFor, type CrawlFlags } from './crawl.js';
import { globalOptions, withModelServices, withStore } from './common.js';
import { readQueriesFile } from '../../core/queries.js';
import { UserError } from '../../core/errors.js';
import type { RefreshSummary } from '../refresh/run-refresh.js';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `90m`, `2w`, `45s`. */
export function parseDuration(value: string): number {
  const match = /^(\d+)([smhdw])$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 30d, 12h, 90m, 2w or 45s.');
  return Number(match[1]) * UNITS[match[2]!]!;
}

type RefreshFlags = CrawlFlags & { queries?: string; olderThan?: number; searchAgain: boolean; json: boolean };

function summaryLine(s: RefreshSummary): string {
  const p = s.pages;
  const i = s.images;
  const failed = Object.entries(s.failed).map(([k, n]) => ` ${k}=${n}`).join('');
  return `refresh: version ${s.version}: pages new=${p.new} same=${p.same} changed=${p.changed} removed=${p.removed}; images same=${i.same} changed=${i.changed} added=${i.added} removed=${i.removed}; not-modified=${s.notModified} model-calls=${s.modelCalls}${failed}`;
}

export function register(program: Command): void {
  addCrawlOptions(
    program
      .command('refresh')
      .description('re-fetch the stored pages with conditional requests, redo only what changed, and record a new store version')
      .option('--queries <file>', 'only the pages of these queries (JSONL or one query a line); default: every page')
      .option('--older-than <duration>', 'only pages fetched longer ago than this (30d, 12h, 90m, 2w, 45s)', parseDuration)
      .option('--search-again', "run each query's search again, so pages that now rank come in as new", false)
      .option('--json', 'print the counts as one JSON object on the last line of stdout', false),
  ).action(async (options: RefreshFlags, command: Command) => {
    const global = globalOptions(command);
    const config = await crawlConfigFor(global, options);
    if (options.searchAgain && config.crawl.search === 'local' && !config.crawl.site) throw new UserError('--search-again with --search local needs --site <url>, as the crawl did');
    const queryIds = options.queries ? new Set((await readQueriesFile(options.queries)).queries.map((q) => q.id)) : undefined;
    const summary = await withStore(global, (store) =>
      withModelServices(config, store, async (services) => (await import('../refresh/run-refresh.js')).runRefresh(store, config, services, { queryIds, olderThanMs: options.olderThan, searchAgain: options.searchAgain })),
    );
    process.stderr.write(summaryLine(summary) + '\n');
    if (options.json) {
      const { version, pages, images, notModified, modelCalls } = summary;
      process.stdout.write(JSON.stringify({ version, pages, images, notModified, modelCalls }) + '\n');
    }
  });
}
