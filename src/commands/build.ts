// `m2rag build`: every stage, in order, for a queries file.
import { Command } from 'commander';
import { addStageOptions, globalOptions, loadAndIngestQueries, shardFrom } from './common.js';
import { addCrawlOptions, crawlConfigFor, type CrawlFlags } from './crawl.js';
import { BUILD_STEPS, runBuildSteps } from '../pipeline.js';
import { CorpusStore } from '../../storage/index.js';

export function register(program: Command): void {
  addStageOptions(
    addCrawlOptions(
      program
        .command('build')
        .description(`run every stage (${BUILD_STEPS.join(' → ')}) for a queries file`)
        .requiredOption('--queries <file>', 'queries file: JSONL ({"query", "id"?, "topic"?, "urls"?}) or one query a line'),
    ),
  ).action(async (options: CrawlFlags & { queries: string; rank: number; worldSize: number; force: boolean }, command: Command) => {
    const global = globalOptions(command);
    const config = await crawlConfigFor(global, options);
    const shard = shardFrom(options);
    const store = await loadAndIngestQueries(options.queries, () => CorpusStore.open(global.store));
    try {
      await runBuildSteps(store, config, BUILD_STEPS, { shard, force: options.force });
    } finally {
      await store.close();
    }
  });
}
