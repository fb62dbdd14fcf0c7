// `m2rag process`: the processing stages over crawled pages (text, then images).
import { Command } from 'commander';
import { addStageOptions, configFor, globalOptions, shardFrom, withStore } from './common.js';
import { runBuildSteps } from '../pipeline.js';

export function register(program: Command): void {
  addStageOptions(
    program.command('process').description('extract, chunk and dedup pages; normalize, filter, hash, cluster and contextualize images'),
  ).action(async (options: { rank: number; worldSize: number; force: boolean }, command: Command) => {
    const global = globalOptions(command);
    const config = await configFor(global);
    const shard = shardFrom(options);
    await withStore(global, (store) => runBuildSteps(store, config, ['process'], { shard, force: options.force }));
  });
}
