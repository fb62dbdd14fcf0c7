// The dataset page's figures: each stage's counts (what came in, what was dropped and why), score
// histograms, image sizes and types, and the model calls and tokens used. The browser draws them
// with Chart.js from this JSON.
import type { CorpusStore } from '../../storage/index.js';

export interface DatasetSummary {
  stages: Array<{ stage: string; runs: number; lastRunAt: string; counts: Record<string, number> }>;
  /** Final scores in bins 0..10 (a score s falls in bin floor(s), 10 in bin 10). */
  scoreHistograms: { chunk: number[]; image: number[] };
  imageSizes: { labels: string[]; counts: number[] };
  imageTypes: Record<string, number>;
  modelCalls: Record<string, number>;
  tokens: { prompt: number; completion: number };
  records: Record<string, number>;
}

const SIZE_BINS: Array<[label: string, maxPixels: number]> = [
  ['< 10k px', 10_000],
  ['10k–100k', 100_000],
  ['100k–1M', 1_000_000],
  ['1M–4M', 4_000_000],
  ['> 4M', Infinity],
];

export async function datasetSummary(store: CorpusStore): Promise<DatasetSummary> {
  const summary: DatasetSummary = {
    stages: (await store.stageStats()).map((s) => ({ stage: s.stage, runs: s.runs, lastRunAt: s.lastRunAt, counts: s.counts })),
    scoreHistograms: { chunk: new Array(11).fill(0), image: new Array(11).fill(0) },
    imageSizes: { labels: [...SIZE_BINS.map(([l]) => l), 'not decoded'], counts: new Array(SIZE_BINS.length + 1).fill(0) },
    imageTypes: {},
    modelCalls: {},
    tokens: { prompt: 0, completion: 0 },
    records: {},
  };
  for await (const score of store.iterate('scores')) {
    if (score.finalScore === undefined) continue;
    summary.scoreHistograms[score.elementKind][Math.max(0, Math.min(10, Math.floor(score.finalScore)))]++;
  }
  for await (const image of store.iterate('images')) {
    summary.imageTypes[image.mime] = (summary.imageTypes[image.mime] ?? 0) + 1;
    const pixels = image.width !== undefined && image.height !== undefined ? image.width * image.height : undefined;
    const bin = pixels === undefined ? SIZE_BINS.length : SIZE_BINS.findIndex(([, max]) => pixels < max);
    summary.imageSizes.counts[bin]++;
  }
  for await (const entry of store.iterate('modelCache')) {
    const key = `${entry.provider}/${entry.model}`;
    summary.modelCalls[key] = (summary.modelCalls[key] ?? 0) + 1;
  }
  for await (const generation of store.iterate('generations')) {
    summary.tokens.prompt += generation.usage?.promptTokens ?? 0;
    summary.tokens.completion += generation.usage?.completionTokens ?? 0;
  }
  for (const kind of ['queries', 'pages', 'chunks', 'images', 'descriptions', 'scores', 'generations', 'evalResults', 'ratings'] as const) {
    summary.records[kind] = await store.count(kind);
  }
  return summary;
}
