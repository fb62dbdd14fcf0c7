// A ShareGPT training set (LLaMA-Factory's multimodal layout): `sharegpt.json`, an array of
// {id, messages: [{role: "user", content: "<image>…question"}, {role: "assistant", content: answer}],
// images: [paths]}, one `<image>` token per input image, answers citing images as images/k.ext in
// that order. Only generations whose image coherence, helpfulness, reference and image recall are
// each at least the minimum (0.7 by default) are taken.
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import type { EvalResult, Generation } from '../schemas.js';
import type { ExportContext } from './context.js';
import { imageFileOf } from './m2rag.js';

export const SHAREGPT_METRICS = ['image_coherence', 'image_helpfulness', 'image_reference', 'image_recall'] as const;

export interface ShareGptCounts {
  generations: number;
  taken: number;
  /** Left out, by reason: `not-evaluated`, `below-minimum:<metric>`, `metric-missing:<metric>`. */
  leftOut: Record<string, number>;
}

export async function buildShareGpt(ctx: ExportContext, minMetric: number): Promise<{ json: string; counts: ShareGptCounts }> {
  const evals = new Map<string, EvalResult[]>();
  for await (const r of ctx.store.iterate('evalResults')) {
    if (!r.generationId) continue;
    evals.set(r.generationId, [...(evals.get(r.generationId) ?? []), r]);
  }
  const counts: ShareGptCounts = { generations: 0, taken: 0, leftOut: {} };
  const leave = (reason: string): void => void (counts.leftOut[reason] = (counts.leftOut[reason] ?? 0) + 1);
  const records: unknown[] = [];
  const generations: Generation[] = [];
  for await (const g of ctx.store.iterate('generations')) generations.push(g);
  for (const generation of generations.sort((a, b) => a.id.localeCompare(b.id))) {
    counts.generations++;
    // The judged evaluation (llm-judge) is the one that has the image metrics.
    const result = (evals.get(generation.id) ?? []).sort((a, b) => Number(b.method === 'llm-judge') - Number(a.method === 'llm-judge') || a.id.localeCompare(b.id))[0];
    if (!result) {
      leave('not-evaluated');
      continue;
    }
    const missing = SHAREGPT_METRICS.find((m) => result.metrics[m] === undefined);
    if (missing) {
      leave(`metric-missing:${missing}`);
      continue;
    }
    const low = SHAREGPT_METRICS.find((m) => result.metrics[m]! < minMetric);
    if (low) {
      leave(`below-minimum:${low}`);
      continue;
    }
    const query = await ctx.store.get('queries', generation.queryId);
    const images = (await ctx.store.getMany('images', generation.inputs.imageIds)).filter((i) => i !== undefined);
    if (images.length !== generation.inputs.imageIds.length) {
      leave('image-missing');
      continue;
    }
    for (const image of images) await copyFile(ctx.store.blobPath(image.id), path.join(ctx.outDir, imageFileOf(image.id, image.mime)));
    records.push({
      id: generation.id,
      messages: [
        { role: 'user', content: '<image>'.repeat(images.length) + (query?.query ?? '') },
        { role: 'assistant', content: generation.output },
      ],
      images: images.map((i) => imageFileOf(i.id, i.mime)),
    });
    counts.taken++;
  }
  return { json: JSON.stringify(records, null, 1) + '\n', counts };
}
