// `m2rag build`: every stage, in order, for a queries file; with --queue, its per-query steps as jobs
// for `m2rag worker`s (the corpus-wide ones run in `m2rag merge`).
import { Command } from 'commander';
import { addStageOptions, globalOptions } from './common.js';
import { addCrawlOptions, crawlConfigFor, runStepsForQueries, type QueriesStepOptions } from './crawl.js';
import { addQueueOptions, queueSteps, type QueueFlags } from './queue-steps.js';
import { BUILD_STEPS } from '../pipeline.js';
import { MAP_STEPS } from '../../queue/steps.js';

export function register(program: Command): void {
  addStageOptions(
    addQueueOptions(
      addCrawlOptions(
        program
          .command('build')
          .description(`run every stage (${BUILD_STEPS.join(' → ')}; filter only with --filter-queries) for a queries file`)
          .requiredOption('--queries <file>', 'queries file: JSONL ({"query", "id"?, "topic"?, "urls"?}) or one query a line')
          .option('--filter-queries', 'first run query intake (filter-queries): reject what is not a real question or gains nothing from images, set topic and level'),
      ),
    ),
  ).action((options: QueriesStepOptions & QueueFlags, command: Command) =>
    options.queue
      ? queueSteps({ ...options, queue: options.queue }, () => crawlConfigFor(globalOptions(command), options), MAP_STEPS)
      : runStepsForQueries(options, command, BUILD_STEPS),
  );
}
