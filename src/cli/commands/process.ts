// `m2rag process`: the processing stages over crawled pages (text, then images).
import { Command } from 'commander';
import { addStageOptions, runStepsOnStore, type StageFlags } from './common.js';

export function register(program: Command): void {
  addStageOptions(
    program.command('process').description('extract, chunk and dedup pages; normalize, filter, hash, cluster and contextualize images'),
  ).action((options: StageFlags, command: Command) => runStepsOnStore(command, options, ['process']));
}
