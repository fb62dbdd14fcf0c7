// How well the automatic metrics agree with people: for each metric, the rank correlation (Spearman's
// rho and Kendall's tau-b, both tie-aware) between the metric's value and the mean human rating of
// the same answer. Image marks are held against the image's final score. The M2RAG paper says its
// metrics need this check; this runs it on the user's own data.
import type { CorpusStore, Rating } from '../../storage/index.js';
import { indexStore, listRatings } from './data.js';

/** Ranks 1..n, ties given the mean of the ranks they span. */
function averageRanks(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]![0] === order[start]![0]) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) ranks[order[k]![1]] = rank;
    start = end + 1;
  }
  return ranks;
}

function pearson(x: number[], y: number[]): number | undefined {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? undefined : sxy / Math.sqrt(sxx * syy);
}

/** Spearman's rho: Pearson's r over average ranks; undefined when either side is constant or n < 2. */
export function spearman(x: number[], y: number[]): number | undefined {
  if (x.length !== y.length) throw new Error('spearman: the two samples differ in length');
  if (x.length < 2) return undefined;
  return pearson(averageRanks(x), averageRanks(y));
}

/** Kendall's tau-b (ties in either variable corrected); undefined when either side is constant or n < 2. */
export function kendall(x: number[], y: number[]): number | undefined {
  if (x.length !== y.length) throw new Error('kendall: the two samples differ in length');
  let concordant = 0;
  let discordant = 0;
  let tiedX = 0;
  let tiedY = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = Math.sign(x[i]! - x[j]!);
      const dy = Math.sign(y[i]! - y[j]!);
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tiedX++;
      else if (dy === 0) tiedY++;
      else if (dx === dy) concordant++;
      else discordant++;
    }
  }
  const denominator = Math.sqrt((concordant + discordant + tiedX) * (concordant + discordant + tiedY));
  return denominator === 0 ? undefined : (concordant - discordant) / denominator;
}

export interface AgreementRow {
  /** The automatic metric (or `imageScore:relevant` / `imageScore:describes`). */
  metric: string;
  n: number;
  spearman?: number;
  kendall?: number;
}

function meanByKey(ratings: Rating[], keyOf: (r: Rating) => string | undefined): Map<string, number> {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const rating of ratings) {
    const key = keyOf(rating);
    if (key === undefined) continue;
    const s = sums.get(key) ?? { sum: 0, n: 0 };
    s.sum += rating.value;
    s.n++;
    sums.set(key, s);
  }
  return new Map([...sums].map(([key, s]) => [key, s.sum / s.n]));
}

function row(metric: string, pairs: Array<[number, number]>): AgreementRow {
  const x = pairs.map((p) => p[0]);
  const y = pairs.map((p) => p[1]);
  return { metric, n: pairs.length, spearman: spearman(x, y), kendall: kendall(x, y) };
}

/** One row per automatic metric that has human ratings, in metric order. */
export async function computeAgreement(store: CorpusStore): Promise<AgreementRow[]> {
  const ratings = await listRatings(store);
  const index = await indexStore(store);
  const human = meanByKey(ratings, (r) => (r.target.kind === 'generation' ? `${r.target.generationId}\0${r.target.metric}` : undefined));
  const byMetric = new Map<string, Array<[number, number]>>();
  for (const [key, value] of human) {
    const [generationId, metric] = key.split('\0') as [string, string];
    const auto = (index.evalsByGeneration.get(generationId) ?? []).map((e) => e.metrics[metric]).filter((v): v is number => v !== undefined);
    if (auto.length === 0) continue;
    const list = byMetric.get(metric) ?? [];
    list.push([auto.reduce((a, b) => a + b, 0) / auto.length, value]);
    byMetric.set(metric, list);
  }
  const rows = [...byMetric].sort(([a], [b]) => a.localeCompare(b)).map(([metric, pairs]) => row(metric, pairs));

  for (const aspect of ['relevant', 'describes'] as const) {
    const marks = meanByKey(ratings, (r) => (r.target.kind === 'image' && r.target.aspect === aspect ? `${r.target.queryId}\0${r.target.imageId}` : undefined));
    const pairs: Array<[number, number]> = [];
    for (const [key, value] of marks) {
      const [queryId, imageId] = key.split('\0') as [string, string];
      const score = (index.scoresByQuery.get(queryId) ?? []).find((s) => s.elementKind === 'image' && s.elementId === imageId);
      if (score?.finalScore !== undefined) pairs.push([score.finalScore, value]);
    }
    if (pairs.length > 0) rows.push(row(`imageScore:${aspect}`, pairs));
  }
  return rows;
}

export function formatAgreement(rows: AgreementRow[]): string {
  if (rows.length === 0) return 'no human ratings that match an automatic metric yet (rate answers and images in `m2rag serve`)\n';
  const fmt = (v: number | undefined) => (v === undefined ? '—' : v.toFixed(3)).padStart(10);
  const lines = [`${'metric'.padEnd(26)}${'n'.padStart(5)}${'spearman'.padStart(10)}${'kendall'.padStart(10)}`];
  for (const r of rows) lines.push(`${r.metric.padEnd(26)}${String(r.n).padStart(5)}${fmt(r.spearman)}${fmt(r.kendall)}`);
  return lines.join('\n') + '\n';
}
