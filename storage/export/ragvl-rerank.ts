// `export --format ragvl-rerank`: instruction data for a Yes/No reranker, the pairs mined by the
// runner (positives: images the query's scores keep as relevant; hard negatives: images retrieval
// ranks high that are not kept for the query). Each pair, with our description as the caption and
// again caption-agnostic, in
//   rerank/llava.json, rerank/llava-caption-agnostic.json     LLaVA conversations [{id, image, conversations}]
//   rerank/internvl.jsonl, rerank/internvl-caption-agnostic.jsonl   the same, one a line (InternVL's annotation)
//   rerank/sharegpt.json, rerank/sharegpt-caption-agnostic.json     ShareGPT [{messages, images}]
//   internvl_meta.json, dataset_info.json                      InternVL's meta file, LLaMA-Factory's dataset info
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExportContext } from './context.js';
import { copyImages, IMAGE_TOKEN, internvlMeta, json, jsonLines, llamaFactoryInfo, type RagvlTrainingSet } from './ragvl-samples.js';

export const RERANK_FILES = {
  llava: 'rerank/llava.json',
  llavaAgnostic: 'rerank/llava-caption-agnostic.json',
  internvl: 'rerank/internvl.jsonl',
  internvlAgnostic: 'rerank/internvl-caption-agnostic.jsonl',
  sharegpt: 'rerank/sharegpt.json',
  sharegptAgnostic: 'rerank/sharegpt-caption-agnostic.json',
} as const;

export async function writeRagvlRerank(ctx: ExportContext, set: RagvlTrainingSet): Promise<{ files: string[]; counts: Record<string, number> }> {
  await mkdir(path.join(ctx.outDir, 'rerank'), { recursive: true });
  const copied = new Map<string, string>();
  const llava: unknown[] = [];
  const llavaAgnostic: unknown[] = [];
  const sharegpt: unknown[] = [];
  const sharegptAgnostic: unknown[] = [];
  let imageMissing = 0;
  for (const pair of set.pairs) {
    const files = await copyImages(ctx, [pair.imageId], copied);
    if (!files) {
      imageMissing++;
      continue;
    }
    const id = `${pair.queryId}:${pair.imageId.slice(0, 12)}`;
    const m2rag = { query_id: pair.queryId, image_id: pair.imageId, target: pair.target, caption: pair.caption ?? null, retrieval_rank: pair.retrievalRank ?? null };
    const conversation = (text: string) => [
      { from: 'human', value: `${IMAGE_TOKEN}\n${text}` },
      { from: 'gpt', value: pair.target },
    ];
    const messages = (text: string) => [
      { role: 'user', content: `${IMAGE_TOKEN}${text}` },
      { role: 'assistant', content: pair.target },
    ];
    llava.push({ id, image: files[0], conversations: conversation(pair.prompt), m2rag });
    llavaAgnostic.push({ id, image: files[0], conversations: conversation(pair.promptCaptionAgnostic), m2rag });
    sharegpt.push({ messages: messages(pair.prompt), images: files, m2rag });
    sharegptAgnostic.push({ messages: messages(pair.promptCaptionAgnostic), images: files, m2rag });
  }
  const out = (file: string, text: string) => writeFile(path.join(ctx.outDir, file), text);
  await out(RERANK_FILES.llava, json(llava));
  await out(RERANK_FILES.llavaAgnostic, json(llavaAgnostic));
  await out(RERANK_FILES.internvl, jsonLines(llava));
  await out(RERANK_FILES.internvlAgnostic, jsonLines(llavaAgnostic));
  await out(RERANK_FILES.sharegpt, json(sharegpt));
  await out(RERANK_FILES.sharegptAgnostic, json(sharegptAgnostic));
  await out(
    'internvl_meta.json',
    internvlMeta({ m2rag_rerank: { annotation: RERANK_FILES.internvl, length: llava.length }, m2rag_rerank_caption_agnostic: { annotation: RERANK_FILES.internvlAgnostic, length: llava.length } }),
  );
  await out('dataset_info.json', llamaFactoryInfo({ 'm2rag-rerank': RERANK_FILES.sharegpt, 'm2rag-rerank-caption-agnostic': RERANK_FILES.sharegptAgnostic }));
  const positives = set.pairs.filter((p) => p.target === 'Yes').length;
  return {
    files: [...Object.values(RERANK_FILES), 'internvl_meta.json', 'dataset_info.json', 'images/', 'README.md'],
    counts: { ...set.counts.rerank, pairs: llava.length, positives, 'hard-negatives': set.pairs.length - positives, 'left-out:image-missing': imageMissing },
  };
}
