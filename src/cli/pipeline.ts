// The stages `m2rag build` runs, in order. Each step's stages are loaded only when the step runs,
// so `m2rag stats` does not pay for Crawlee and `m2rag score` does not pay for Chromium.
import type { Config } from '../core/config.js';
import { StageFailedError } from '../core/errors.js';
import { formatCounts, runStage, type Stage, type StageReport } from '../core/stage.js';
import { INTAKE_STAGE, intakeSkipReason, stageDependencies } from '../core/stages.js';
import type { ModelServices } from '../models/services.js';
import type { CorpusStore, Shard } from '../../storage/index.js';

/** `filter` (query intake) runs only when `filter.enabled` (`build --filter-queries`) is set. */
export const BUILD_STEPS = ['filter', 'crawl', 'process', 'describe', 'score'] as const;
export type BuildStep = (typeof BUILD_STEPS)[number];

/** The stages that make up each build step (processing, for example, is text then images). */
export const STAGES: Record<BuildStep, (options?: Pick<StageRunOptions, 'hostLimiterFor'>) => Promise<Stage<ModelServices>[]>> = {
  filter: async () => [new (await import('../../scorers/query-filter-stage.js')).FilterQueriesStage()],
  crawl: async (options) => [new (await import('../../crawlers/crawl-stage.js')).CrawlStage(options?.hostLimiterFor)],
  process: async () => {
    const [text, images] = await Promise.all([import('../../processors/text/stage.js'), import('../../processors/images/stage.js')]);
    return [text.processTextStage, images.processImagesStage];
  },
  describe: async () => [new (await import('../../processors/describe/stage.js')).DescribeStage()],
  score: async () => [(await import('../../scorers/score-stage.js')).createScoreStage()],
};

export interface StageRunOptions {
  shard: Shard;
  force: boolean;
  /** The models the command opened once for all its stages. */
  services: ModelServices;
  /** Only this query (a queue worker's job); the others in the store are skipped. */
  queryId?: string;
  /** The crawl's per-host gate for given limits (a queue worker's is shared through Redis); default: per process. */
  hostLimiterFor?: (perHost: number, delayMs: number) => { acquire(host: string): Promise<() => void> };
  /** Stops the run (default: the process-wide interrupt); a queue worker gives each job its own, so what a job's stages hang on it goes with the job. */
  signal?: AbortSignal;
}

/**
 * Runs stages in order, printing each stage's counts as it ends. A stage stops the run (exit 1) with
 * one line when every query it tried failed, when a model endpoint is down (it stops at once), or
 * when more of its model calls failed than `models.maxFailureRate` allows. Partial failures are
 * counted and retried by the next run. Queries the intake filter rejected are skipped after it.
 */
export async function runStages(store: CorpusStore, config: Config, stages: readonly Stage<ModelServices>[], options: StageRunOptions): Promise<StageReport[]> {
  const reports: StageReport[] = [];
  const services = options.services;
  for (const stage of stages) {
    const before = services.modelCalls?.() ?? { requests: 0, failed: 0 };
    const report = await runStage(stage, store, {
      config,
      shard: options.shard,
      force: options.force,
      services,
      signal: options.signal,
      ...stageDependencies(stage.name, { intakeFilter: config.filter.enabled }),
      skip: (query) => (options.queryId !== undefined && query.id !== options.queryId ? 'other-job' : stage.name === INTAKE_STAGE ? undefined : intakeSkipReason(query)),
      halted: () => services.halted?.(),
    });
    process.stderr.write(formatCounts(report) + '\n');
    reports.push(report);
    if (report.halted) throw new StageFailedError(`${stage.name}: stopped: ${report.halted}`);
    if (report.queries > 0 && report.failed === report.queries) {
      throw new StageFailedError(`${stage.name}: all ${report.failed} queries it tried failed (first: ${report.firstFailure}); fix the cause and run the same command again`);
    }
    const after = services.modelCalls?.() ?? before;
    const requests = after.requests - before.requests;
    const failed = after.failed - before.failed;
    if (requests > 0 && failed / requests > config.models.maxFailureRate) {
      throw new StageFailedError(
        `${stage.name}: ${failed} of ${requests} model calls failed (${percent(failed / requests)}, above the allowed ${percent(config.models.maxFailureRate)}; first: ${report.firstFailure ?? 'see the counts above'}); fix the cause and run the same command again, or raise --max-failure-rate`,
      );
    }
  }
  return reports;
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

/** Runs the stages of the given build steps in order (see runStages). */
export async function runBuildSteps(store: CorpusStore, config: Config, steps: readonly BuildStep[], options: StageRunOptions): Promise<StageReport[]> {
  const reports: StageReport[] = [];
  for (const step of steps) {
    if (step === 'filter' && !config.filter.enabled) continue;
    reports.push(...(await runStages(store, config, await STAGES[step](options), options)));
  }
  return reports;
}
