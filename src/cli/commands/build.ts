// `m2rag build`: every stage, in order, for a queries file; with --queue, its per-query steps as jobs
// for `m2rag worker`s (the corpus-wide ones run in `m2rag merge`).
import { Command } from 'commander';
import { addStageOptions, globalOptions } from './common.js';
import { addCrawlOptions, crawlConfigFor, runStepsForQueries, type QueriesStepOptions } from './crawl.js';
import { BUILD_STEPS } from '../pipeline.js';
import { StageFailedError, UserError } from '../../core/errors.js';
import { readQueriesFile } from '../../core/queries.js';
import { enqueueSteps } from '../../queue/jobs.js';
import { MAP_STEPS, REDUCE_STEPS } from '../../queue/steps.js';
import { queueStatus, waitForJobs } from '../../queue/status.js';

type BuildOptions = QueriesStepOptions & { queue?: string; wait: boolean };

/** Queues one job per query per step, then (unless --no-wait) shows progress until every query's last job ends. */
async function queueBuild(options: BuildOptions & { queue: string }, command: Command): Promise<void> {
  if (options.worldSize > 1) {
    throw new UserError(`--world-size cannot be combined with --queue: the workers share the queued jobs, and ${REDUCE_STEPS.join(', ')} (text dedup, image clustering) cannot be sharded: \`m2rag merge\` runs them once`);
  }
  const config = await crawlConfigFor(globalOptions(command), options);
  const steps = MAP_STEPS.filter((step) => step !== 'filter' || config.filter.enabled);
  const { queries } = await readQueriesFile(options.queries);
  const createdAt = new Date(0).toISOString();
  const records = queries.map((q) => ({ id: q.id, query: q.query, topic: q.topic, urls: q.urls, createdAt }));
  const lastJobs = await enqueueSteps(options.queue, steps, config, records);
  process.stderr.write(`queued ${records.length} queries × ${steps.length} steps (${steps.join(' → ')}) on ${options.queue}\n`);
  if (!options.wait) return;
  const { failed } = await waitForJobs(options.queue, steps.at(-1)!, lastJobs, async () => {
    const line = (await queueStatus(options.queue, steps)).map(({ step, counts }) => `${step} ${counts.completed}/${lastJobs.length}${counts.failed ? ` (${counts.failed} failed)` : ''}`);
    process.stderr.write(`progress: ${line.join(', ')}\n`);
  });
  if (failed.length > 0) {
    throw new StageFailedError(`${failed.length} of ${lastJobs.length} queries failed for good (first: ${failed[0]!.jobId}: ${failed[0]!.reason}); see \`m2rag status --queue ${options.queue}\``);
  }
  process.stderr.write(`done: ${lastJobs.length} queries crawled by the workers; \`m2rag merge --out <store> <shard>…\` merges their shards and runs ${REDUCE_STEPS.join(' → ')} once over the whole\n`);
}

export function register(program: Command): void {
  addStageOptions(
    addCrawlOptions(
      program
        .command('build')
        .description(`run every stage (${BUILD_STEPS.join(' → ')}; filter only with --filter-queries) for a queries file`)
        .requiredOption('--queries <file>', 'queries file: JSONL ({"query", "id"?, "topic"?, "urls"?}) or one query a line')
        .option('--filter-queries', 'first run query intake (filter-queries): reject what is not a real question or gains nothing from images, set topic and level')
        .option('--queue <url>', 'queue the work as jobs on this Redis server (redis://host:port) for `m2rag worker`s instead of running it here')
        .option('--no-wait', 'with --queue: return once the jobs are queued'),
    ),
  ).action((options: BuildOptions, command: Command) =>
    options.queue ? queueBuild({ ...options, queue: options.queue }, command) : runStepsForQueries(options, command, BUILD_STEPS),
  );
}
