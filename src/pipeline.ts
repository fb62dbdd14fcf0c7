// The stages `m2rag build` runs, in order. Each area registers its stage here when it exists;
// a step without a stage stops the build with `not implemented yet: <step>` (exit 3).
import type { Stage } from './stage.js';
import { CrawlStage } from '../crawlers/crawl-stage.js';
import { processImagesStage } from '../processors/images/stage.js';
import { DescribeStage } from '../processors/describe/stage.js';
import { createScoreStage } from '../scorers/score-stage.js';
import { processTextStage } from '../processors/text/stage.js';

export const BUILD_STEPS = ['crawl', 'process', 'describe', 'score'] as const;
export type BuildStep = (typeof BUILD_STEPS)[number];

/** The stages that make up each build step (processing, for example, is text then images). */
export const STAGES: Record<BuildStep, Stage[]> = {
  crawl: [new CrawlStage()],
  process: [processTextStage, processImagesStage],
  describe: [new DescribeStage()],
  score: [createScoreStage()],
};
