// `m2rag build`: every stage, in order, for a queries file.
import { Command } from 'commander';
import { addStageOptions } from './common.js';
import { addCrawlOptions, runStepsForQueries, type QueriesStepOptions } from './crawl.js';
import { BUILD_STEPS } from '../pipeline.js';

export function register(program: Command): void {
  addStageOptions(
    addCrawlOptions(
      program
        .command('build')
        .description(`run every stage (${BUILD_STEPS.join(' → ')}; filter only with --filter-queries) for a queries file`)
        .requiredOption('--queries <file>', 'queries file: JSONL ({"query", "id"?, "topic"?, "urls"?}) or one query a line')
        .option('--filter-queries', 'first run query intake (filter-queries): reject what is not a real question or gains nothing from images, set topic and level'),
    ),
  ).action((options: QueriesStepOptions, command: Command) => runStepsForQueries(options, command, BUILD_STEPS));
}
