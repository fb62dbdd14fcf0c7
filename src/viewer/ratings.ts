// Human judgments from the viewer's forms: an answer's M2RAG metric on the paper's scale, or an
// image marked relevant / describes well. Form input is validated here, where it enters; a rater
// rating the same thing again replaces the earlier value (the id is stable in rater and target).
import { ratingIdOf, Rating, type CorpusStore } from '../../storage/index.js';
import { M2RAG_METRICS, RUBRIC_UPPER_BOUND } from '../../scorers/m2rag-metrics.js';

/** The reference's 0–1 metrics; the others are its 0–10 rubrics. */
const FRACTION_METRICS = new Set<string>(['context_precision', 'faithfulness']);

/**
 * The M2RAG metrics a person can rate on an answer, each on the reference's scale (image recall is
 * counted, not judged, so it is not rated).
 */
export const RATED_METRICS: ReadonlyArray<{ name: string; min: number; max: number; step: number }> = M2RAG_METRICS.filter((m) => m !== 'image_recall').map((name) =>
  FRACTION_METRICS.has(name) ? { name, min: 0, max: 1, step: 0.1 } : { name, min: 0, max: RUBRIC_UPPER_BOUND, step: 1 },
);

export type NewRating = Omit<Rating, 'id' | 'at'>;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * The ratings in one form (an answer's form has a field per metric, an image's one per aspect;
 * empty fields are not rated), or a one-line reason why the fields do not make any.
 */
export function parseRatings(body: Record<string, unknown>): NewRating[] | string {
  const rater = text(body.rater);
  if (!rater) return 'type your name in "rated by" before rating';
  if (rater.length > 80) return 'the rater name is longer than 80 characters';
  const queryId = text(body.queryId);
  if (!queryId) return 'the form has no query id';
  const ratings: NewRating[] = [];
  if (body.kind === 'generation') {
    const generationId = text(body.generationId);
    if (!generationId) return 'the form names no answer';
    for (const metric of RATED_METRICS) {
      const field = text(body[`metric_${metric.name}`]);
      if (field === undefined) continue;
      const value = Number(field);
      if (!Number.isFinite(value) || value < metric.min || value > metric.max) return `${metric.name} is rated from ${metric.min} to ${metric.max}`;
      ratings.push({ rater, target: { kind: 'generation', generationId, queryId, metric: metric.name }, value });
    }
  } else if (body.kind === 'image') {
    const imageId = text(body.imageId);
    if (!imageId) return 'the form names no image';
    for (const aspect of ['relevant', 'describes'] as const) {
      const field = text(body[aspect]);
      if (field === undefined) continue;
      if (field !== '0' && field !== '1') return 'an image mark is 1 (yes) or 0 (no)';
      ratings.push({ rater, target: { kind: 'image', imageId, queryId, aspect }, value: Number(field) });
    }
  } else {
    return 'the form says neither an answer nor an image is rated';
  }
  return ratings.length > 0 ? ratings : 'the form has no rating filled in';
}

export async function storeRating(store: CorpusStore, rating: NewRating, at = new Date()): Promise<Rating> {
  const t = rating.target;
  const id = t.kind === 'generation' ? ratingIdOf(rating.rater, 'generation', t.generationId, t.metric) : ratingIdOf(rating.rater, 'image', `${t.queryId}/${t.imageId}`, t.aspect);
  const record = Rating.parse({ ...rating, id, at: at.toISOString() });
  await store.put('ratings', record);
  return record;
}
