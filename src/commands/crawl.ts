// `m2rag crawl`: find and fetch pages and auxiliary images for each query.
import { Command } from 'commander';
import { addStageOptions, globalOptions, loadAndIngestQueries, shardFrom, configFor } from './common.js';
import { runBuildSteps } from './build.js';
import { CorpusStore } from '../../storage/index.js';

export function register(program: Command): void {
  addStageOptions(
    program
      .command('crawl')
      .description('find and fetch web pages and auxiliary images for each query')
      .requiredOption('--queries <file>', 'queries file: JSONL ({"query", "id"?, "topic"?, "urls"?}) or one query a line'),
  ).action(async (options: { queries: string; rank: number; worldSize: number; force: boolean }, command: Command) => {
    const global = globalOptions(command);
    const config = await configFor(global);
    const shard = shardFrom(options);
    const store = await loadAndIngestQueries(options.queries, () => CorpusStore.open(global.store));
    try {
      await runBuildSteps(store, config, ['crawl'], { shard, force: options.force });
    } finally {
      await store.close();
    }
  });
}
