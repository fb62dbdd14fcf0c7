// `m2rag score`: the score stage (every chunk and kept image scored against its query, kept or dropped).
import { Command } from 'commander';
import { addStageOptions, configFor, globalOptions, shardFrom, withStore } from './common.js';
import { runBuildSteps } from '../pipeline.js';

export function register(program: Command): void {
  addStageOptions(
    program.command('score').description('score every chunk and kept image against its query (0–10) and keep or drop it'),
  ).action(async (options: { rank: number; worldSize: number; force: boolean }, command: Command) => {
    const global = globalOptions(command);
    const config = await configFor(global);
    const shard = shardFrom(options);
    await withStore(global, (store) => runBuildSteps(store, config, ['score'], { shard, force: options.force }));
  });
}
