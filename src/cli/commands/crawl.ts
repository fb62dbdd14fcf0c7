// `m2rag crawl`: find and fetch pages and auxiliary images for each query.
import { Command, Option } from 'commander';
import {
  addStageOptions,
  configFor,
  globalOptions,
  loadAndIngestQueries,
  parseNonNegativeInt,
  parsePositiveInt,
  shardFrom,
  withModelServices,
  type GlobalOptions,
} from './common.js';
import { addQueueOptions, queueSteps, type QueueFlags } from './queue-steps.js';
import { runBuildSteps, type BuildStep } from '../pipeline.js';
import type { Config } from '../../core/config.js';
import { UserError } from '../../core/errors.js';
import { CorpusStore } from '../../../storage/index.js';
import { findChromium } from '../../../crawlers/fetch/chromium.js';

export interface CrawlFlags {
  search?: 'wikipedia' | 'searxng' | 'brave' | 'google-cse' | 'local' | 'seeds';
  site?: string;
  pages?: number;
  auxImages?: number;
  render?: boolean;
  concurrency?: number;
  ignoreRobots?: boolean;
  allowPrivate?: boolean;
  chromium?: string;
}

function parseSiteUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`--site ${value}: not an absolute URL (for example http://127.0.0.1:8080/index.html)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UserError(`--site ${value}: only http(s) sites can be crawled`);
  return url.href;
}

/** The crawl flags, shared by `crawl` and `build`. */
export function addCrawlOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--search <provider>', 'search provider for pages and auxiliary images (default: wikipedia)').choices(['wikipedia', 'searxng', 'brave', 'google-cse', 'local', 'seeds']),
    )
    .option('--site <url>', 'entry page of the site --search local crawls and searches (its host may be private); with --search seeds, the private host the seed URLs may come from')
    .addOption(new Option('--pages <n>', 'web pages per query (default: 10)').argParser(parseNonNegativeInt))
    .addOption(new Option('--aux-images <n>', 'auxiliary images per query (default: 10)').argParser(parseNonNegativeInt))
    .option('--render', 'render pages in Chromium (for pages that need JavaScript)')
    .addOption(new Option('--concurrency <n>', 'pages in flight at once, and as many images (default: 128; per host at most crawl.perDomainConcurrency)').argParser(parsePositiveInt))
    .option('--ignore-robots', 'do not read or obey robots.txt')
    .option('--allow-private', 'allow private, loopback and link-local addresses (intranets, local mirrors)')
    .option('--chromium <path>', 'Chromium executable for --render (default: /usr/bin/chromium if present)');
}

/** The config with the crawl flags applied on top of the file, checked for combinations that cannot work. */
export async function crawlConfigFor(global: GlobalOptions, options: CrawlFlags): Promise<Config> {
  const config = await configFor(global, {
    crawl: {
      search: options.search,
      site: options.site === undefined ? undefined : parseSiteUrl(options.site),
      pages: options.pages,
      auxImages: options.auxImages,
      render: options.render,
      concurrency: options.concurrency,
      ignoreRobots: options.ignoreRobots,
      allowPrivate: options.allowPrivate,
      chromiumPath: options.chromium,
    },
  });
  // Seeds read --site as the one private host their URLs may be fetched from; other providers would ignore it.
  if (config.crawl.site && config.crawl.search !== 'local' && config.crawl.search !== 'seeds') {
    throw new UserError(`--site needs --search local (the ${config.crawl.search} provider would ignore it): add --search local, or drop --site`);
  }
  if (config.crawl.search === 'local' && !config.crawl.site) {
    throw new UserError('--search local needs --site <url>: the entry page of the site or mirror to search');
  }
  // Before any query is stored: a missing browser is the user's to fix, not a crawl failure per page.
  if (config.crawl.render) await findChromium(config.crawl.chromiumPath);
  return config;
}

export type QueriesStepOptions = CrawlFlags & { queries: string; rank: number; worldSize: number; force: boolean };

/** Loads the queries file (before touching the store), then runs the steps over the queries. */
export async function runStepsForQueries(options: QueriesStepOptions, command: Command, steps: readonly BuildStep[]): Promise<void> {
  const global = globalOptions(command);
  const config = await crawlConfigFor(global, options);
  const shard = shardFrom(options);
  const store = await loadAndIngestQueries(options.queries, () => CorpusStore.open(global.store));
  try {
    await withModelServices(config, store, (services) => runBuildSteps(store, config, steps, { shard, force: options.force, services }));
  } finally {
    await store.close();
  }
}

export function register(program: Command): void {
  addStageOptions(
    addQueueOptions(
      addCrawlOptions(
        program
          .command('crawl')
          .description('find and fetch web pages and auxiliary images for each query')
          .requiredOption('--queries <file>', 'queries file: JSONL ({"query", "id"?, "topic"?, "urls"?}) or one query a line'),
      ),
    ),
  ).action((options: QueriesStepOptions & QueueFlags, command: Command) =>
    options.queue
      ? queueSteps({ ...options, queue: options.queue }, () => crawlConfigFor(globalOptions(command), options), ['crawl'])
      : runStepsForQueries(options, command, ['crawl']),
  );
}
