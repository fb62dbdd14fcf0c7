// The M2RAG training set in LLaMA-Factory's form, as the reference builds it
// (scripts/export_training_set.py, finetune/scripts/prepare_llama_factory_dataset.py,
// finetune/dataset_info.json):
//   dataset_info.json        M2RAG-LLM and M2RAG-MLLM, `formatting: sharegpt`, their columns and tags
//   llm/llama_factory.json   [{id, messages: [user, assistant]}]: the single-stage LLM prompt, images as captions
//   mllm/llama_factory.json  the same with the vision prompt, `<image>` per image, and `images` (paths)
// The user turn is the full single-stage prompt over the generation's kept input, recorded by the
// run stage (Generation.singleStagePrompt); the assistant turn is the answer in a ```markdown fence.
// A generation is taken when each of image coherence, helpfulness, reference and recall is at least
// the minimum (the reference's 0.7). As there, a precision metric with nothing to judge (no image
// cited) is a mean of nothing and never below the minimum; one whose judgments failed is left out.
// Samples are numbered in generation-id order, then shuffled with Python's random.seed(3407).shuffle.
import { access, copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { EvalResult, Generation, Image } from '../schemas.js';
import { onMissingBlob, type ExportContext } from './context.js';
import { imageFileOf } from './m2rag.js';

export const TRAINING_METRICS = ['image_coherence', 'image_helpfulness', 'image_reference', 'image_recall'] as const;
export const LLM_FILE = 'llm/llama_factory.json';
export const MLLM_FILE = 'mllm/llama_factory.json';
export const DATASET_INFO_FILE = 'dataset_info.json';
const IMAGE_TOKEN = '<image>';
const SHUFFLE_SEED = 3407;

const TAGS = { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant', system_tag: 'system' };

export const DATASET_INFO = {
  'M2RAG-LLM': { file_name: LLM_FILE, formatting: 'sharegpt', columns: { messages: 'messages' }, tags: TAGS },
  'M2RAG-MLLM': { file_name: MLLM_FILE, formatting: 'sharegpt', columns: { messages: 'messages', images: 'images' }, tags: TAGS },
};

export interface LlamaFactoryCounts {
  generations: number;
  taken: number;
  /** Left out, by reason (see `leftOutReason`). */
  leftOut: Record<string, number>;
}

export interface LlamaFactoryFiles {
  llm: string;
  mllm: string;
  datasetInfo: string;
  counts: LlamaFactoryCounts;
}

/** The judged evaluation with the per-image judgments (a vision judge ran), first by id. */
function judgedResult(results: EvalResult[]): EvalResult | undefined {
  return results.filter((r) => r.images !== undefined).sort((a, b) => a.id.localeCompare(b.id))[0];
}

/** Why a generation is not a training sample, or undefined when it is one. */
export function leftOutReason(generation: Generation, results: EvalResult[], minMetric: number): string | undefined {
  if (!generation.singleStagePrompt) return 'no-single-stage-prompt';
  if (generation.status === 'failed') return 'generation-failed';
  // A model-free answer is no target to train a model on.
  if (generation.method === 'extractive') return 'extractive-answer';
  const result = judgedResult(results);
  if (!result) return results.length === 0 ? 'not-evaluated' : 'images-not-judged';
  for (const metric of TRAINING_METRICS) {
    const value = result.metrics[metric];
    if (value === undefined) {
      if ((result.failed[metric] ?? 0) > 0) return `judgment-failed:${metric}`;
      if (metric === 'image_recall') return 'metric-missing:image_recall';
      continue;
    }
    if (value < minMetric) return `below-minimum:${metric}`;
  }
  const { mllm, imageIds } = generation.singleStagePrompt;
  if (mllm.split(IMAGE_TOKEN).length - 1 !== imageIds.length) return 'image-token-count-mismatch';
  return undefined;
}

/** CPython's Mersenne Twister, seeded as `random.seed(n)` for a non-negative int below 2^32. */
function pythonRandom(seed: number): (bits: number) => number {
  const mt = new Uint32Array(624);
  mt[0] = 19650218;
  for (let i = 1; i < 624; i++) mt[i] = Math.imul(1812433253, mt[i - 1]! ^ (mt[i - 1]! >>> 30)) + i;
  // init_by_array with the one-word key [seed].
  let i = 1;
  for (let k = 0; k < 624; k++) {
    mt[i] = (mt[i]! ^ Math.imul(mt[i - 1]! ^ (mt[i - 1]! >>> 30), 1664525)) + seed;
    if (++i >= 624) [mt[0], i] = [mt[623]!, 1];
  }
  for (let k = 0; k < 623; k++) {
    mt[i] = (mt[i]! ^ Math.imul(mt[i - 1]! ^ (mt[i - 1]! >>> 30), 1566083941)) - i;
    if (++i >= 624) [mt[0], i] = [mt[623]!, 1];
  }
  mt[0] = 0x80000000;
  let index = 624;
  const next = (): number => {
    if (index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % 624]! & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      index = 0;
    }
    let y = mt[index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    return (y ^ (y >>> 18)) >>> 0;
  };
  return (bits) => next() >>> (32 - bits);
}

/** `random.seed(seed); random.shuffle(items)` as CPython does it (lists under 2^32 items). */
export function pythonShuffle<T>(items: T[], seed: number): T[] {
  const bits = pythonRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const n = i + 1;
    const k = n.toString(2).length;
    let j = bits(k);
    while (j >= n) j = bits(k);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const json = (value: unknown): string => JSON.stringify(value, null, 4);

export async function buildLlamaFactory(ctx: ExportContext, minMetric: number): Promise<LlamaFactoryFiles> {
  const evals = new Map<string, EvalResult[]>();
  for await (const r of ctx.store.iterate('evalResults')) if (r.generationId) evals.set(r.generationId, [...(evals.get(r.generationId) ?? []), r]);
  const generations: Generation[] = [];
  for await (const g of ctx.store.iterate('generations')) generations.push(g);
  generations.sort((a, b) => a.id.localeCompare(b.id));

  const counts: LlamaFactoryCounts = { generations: generations.length, taken: 0, leftOut: {} };
  const leave = (reason: string): void => void (counts.leftOut[reason] = (counts.leftOut[reason] ?? 0) + 1);
  const samples: Array<{ llm: unknown; mllm: unknown }> = [];
  await mkdir(path.join(ctx.outDir, 'llm'), { recursive: true });
  await mkdir(path.join(ctx.outDir, 'mllm'), { recursive: true });
  for (const generation of generations) {
    const reason = leftOutReason(generation, evals.get(generation.id) ?? [], minMetric);
    if (reason) {
      leave(reason);
      continue;
    }
    const prompt = generation.singleStagePrompt!;
    const images = await ctx.store.getMany('images', prompt.imageIds);
    const present = await Promise.all(images.map((i) => (i ? access(ctx.store.blobPath(i.id)).then(() => true, () => false) : false)));
    if (!present.every(Boolean)) {
      for (const [i, image] of images.entries()) if (image && !present[i]) onMissingBlob(ctx, image.id);
      leave('image-missing');
      continue;
    }
    const files = (images as Image[]).map((i) => imageFileOf(i.id, i.mime));
    for (const [i, image] of (images as Image[]).entries()) await copyFile(ctx.store.blobPath(image.id), path.join(ctx.outDir, files[i]!));
    const id = String(samples.length);
    const answer = { role: 'assistant', content: `\`\`\`markdown\n${generation.output}\n\`\`\`` };
    const m2rag = { generation_id: generation.id, query_id: generation.queryId, strategy: generation.strategy };
    samples.push({
      llm: { id, messages: [{ role: 'user', content: prompt.llm }, answer], m2rag },
      mllm: { id, messages: [{ role: 'user', content: prompt.mllm }, answer], images: files, m2rag },
    });
    counts.taken++;
  }
  const shuffled = pythonShuffle(samples, SHUFFLE_SEED);
  return {
    llm: json(shuffled.map((s) => s.llm)) + '\n',
    mllm: json(shuffled.map((s) => s.mllm)) + '\n',
    datasetInfo: json(DATASET_INFO) + '\n',
    counts,
  };
}
