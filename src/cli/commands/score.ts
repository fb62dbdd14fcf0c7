// `m2rag score`: the score stage (every chunk and kept image scored against its query, kept or dropped).
import { Command } from 'commander';
import { addStageOptions, runStepsOnStore, type StageFlags } from './common.js';

export function register(program: Command): void {
  addStageOptions(
    program.command('score').description('score every chunk and kept image against its query (0–10) and keep or drop it'),
  ).action((options: StageFlags, command: Command) => runStepsOnStore(command, options, ['score']));
}
