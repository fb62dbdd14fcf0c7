// The stages `m2rag build` runs, in order. Each step's stages are loaded only when the step runs,
// so `m2rag stats` does not pay for Crawlee and `m2rag score` does not pay for Chromium.
import type { Config } from '../core/config.js';
import { StageFailedError } from '../core/errors.js';
import { formatCounts, runStage, type Stage, type StageReport } from '../core/stage.js';
import { stageDependencies } from '../core/stages.js';
import type { ModelServices } from '../models/services.js';
import type { CorpusStore, Shard } from '../../storage/index.js';

export const BUILD_STEPS = ['crawl', 'process', 'describe', 'score'] as const;
export type BuildStep = (typeof BUILD_STEPS)[number];

/** The stages that make up each build step (processing, for example, is text then images). */
export const STAGES: Record<BuildStep, () => Promise<Stage<ModelServices>[]>> = {
  crawl: async () => [new (await import('../../crawlers/crawl-stage.js')).CrawlStage()],
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
}

/**
 * Runs stages in order, printing each stage's counts as it ends. A stage in which every query it
 * tried failed stops the run (exit 1) with the first reason; partial failures are counted and retried
 * by the next run.
 */
export async function runStages(store: CorpusStore, config: Config, stages: readonly Stage<ModelServices>[], options: StageRunOptions): Promise<StageReport[]> {
  const reports: StageReport[] = [];
  for (const stage of stages) {
    const report = await runStage(stage, store, { config, shard: options.shard, force: options.force, services: options.services, ...stageDependencies(stage.name) });
    process.stderr.write(formatCounts(report) + '\n');
    reports.push(report);
    if (report.queries > 0 && report.failed === report.queries) {
      throw new StageFailedError(`${stage.name}: all ${report.failed} queries it tried failed (first: ${report.firstFailure}); fix the cause and run the same command again`);
    }
  }
  return reports;
}

/** Runs the stages of the given build steps in order (see runStages). */
export async function runBuildSteps(store: CorpusStore, config: Config, steps: readonly BuildStep[], options: StageRunOptions): Promise<StageReport[]> {
  const reports: StageReport[] = [];
  for (const step of steps) reports.push(...(await runStages(store, config, await STAGES[step](), options)));
  return reports;
}
