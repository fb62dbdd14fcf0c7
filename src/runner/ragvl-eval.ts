// The figures RagVL's tables report, from the store: for each imported benchmark question
// (`import --format webqa|mmqa`) its stored answer of one strategy, scored by the dataset's
// accuracy (WebQA by Qcate, MMQA exact match), split single- against multi-image; and the
// reranker's P/R/F1 at N, 5 and 10 against the gold images, from the candidates' stored relevances.
import { mmqaAccuracy, rerankPrfAt, splitMeans, webqaAccuracy, type PooledPrf, type RerankedQuery, type SplitMeans } from '../../scorers/ragvl-metrics.js';
import type { CorpusStore, Generation, Query } from '../../storage/index.js';

export interface DatasetAccuracy {
  questions: number;
  /** Questions with no stored answer of the strategy (not in the means). */
  unanswered: number;
  accuracy: SplitMeans;
  /** WebQA only: the mean accuracy and count per question category. */
  byQcate?: Record<string, { mean: number; n: number }>;
}

export interface RagvlEvalReport {
  strategy: string;
  webqa?: DatasetAccuracy;
  mmqa?: DatasetAccuracy;
  /** Absent when no answer of the strategy recorded a rerank. */
  rerank?: { threshold: number; queries: number; atN: PooledPrf; at5: PooledPrf; at10: PooledPrf };
}

/** The answer of the strategy for each query: the latest by id among the ok ones (one per method). */
async function answersOf(store: CorpusStore, strategy: string): Promise<Map<string, Generation>> {
  const byQuery = new Map<string, Generation>();
  for await (const g of store.iterate('generations')) {
    if (g.strategy !== strategy || g.status === 'failed') continue;
    const earlier = byQuery.get(g.queryId);
    if (!earlier || g.id > earlier.id) byQuery.set(g.queryId, g);
  }
  return byQuery;
}

function datasetAccuracy(queries: Query[], answers: Map<string, Generation>): DatasetAccuracy {
  const samples: Array<{ accuracy: number; goldImages: number; qcate?: string }> = [];
  for (const q of queries) {
    const answer = answers.get(q.id);
    if (!answer) continue;
    const gold = q.benchmark!;
    const accuracy = gold.dataset === 'webqa' ? webqaAccuracy(answer.output, gold.answer, gold.qcate ?? 'text') : mmqaAccuracy(answer.output, gold.answer);
    samples.push({ accuracy, goldImages: gold.goldImageIds.length, qcate: gold.qcate });
  }
  const result: DatasetAccuracy = { questions: queries.length, unanswered: queries.length - samples.length, accuracy: splitMeans(samples) };
  if (queries[0]?.benchmark?.dataset === 'webqa') {
    const byQcate: Record<string, number[]> = {};
    for (const s of samples) (byQcate[s.qcate ?? 'text'] ??= []).push(s.accuracy);
    result.byQcate = Object.fromEntries(
      Object.entries(byQcate)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([qcate, values]) => [qcate, { mean: values.reduce((a, b) => a + b, 0) / values.length, n: values.length }]),
    );
  }
  return result;
}

export async function evaluateRagvl(store: CorpusStore, options: { strategy: string; topN: number }): Promise<RagvlEvalReport> {
  const byDataset: Record<'webqa' | 'mmqa', Query[]> = { webqa: [], mmqa: [] };
  for await (const q of store.iterate('queries')) if (q.benchmark) byDataset[q.benchmark.dataset].push(q);
  const answers = await answersOf(store, options.strategy);
  const report: RagvlEvalReport = { strategy: options.strategy };
  for (const dataset of ['webqa', 'mmqa'] as const) if (byDataset[dataset].length) report[dataset] = datasetAccuracy(byDataset[dataset], answers);

  const reranked: RerankedQuery[] = [];
  let threshold: number | undefined;
  for (const q of [...byDataset.webqa, ...byDataset.mmqa]) {
    const retrieval = answers.get(q.id)?.retrieval;
    if (!retrieval) continue;
    threshold ??= retrieval.threshold;
    reranked.push({
      goldImageIds: q.benchmark!.goldImageIds,
      relevances: retrieval.candidates.flatMap((c) => (c.status === 'ok' && c.relevance !== undefined ? [{ imageId: c.imageId, relevance: c.relevance }] : [])),
    });
  }
  if (threshold !== undefined) {
    report.rerank = { threshold, queries: reranked.length, atN: rerankPrfAt(reranked, options.topN, threshold), at5: rerankPrfAt(reranked, 5, threshold), at10: rerankPrfAt(reranked, 10, threshold) };
  }
  return report;
}
