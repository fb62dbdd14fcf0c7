// `export --format ragvl-qa`: generator training samples with noise injected as RagVL trains its
// generator: a single-image query gets one hard negative image beside its gold image (the order
// chosen by the runner), with the gold answer; a multi-image query keeps its gold images. Written as
//   qa/llava.json, qa/internvl.jsonl   [{id, image: [files], conversations}] with one <image> per image
//   qa/sharegpt.json                   [{messages, images}]
//   internvl_meta.json, dataset_info.json
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExportContext } from './context.js';
import { copyImages, IMAGE_TOKEN, internvlMeta, json, jsonLines, llamaFactoryInfo, type RagvlTrainingSet } from './ragvl-samples.js';

export const QA_FILES = { llava: 'qa/llava.json', internvl: 'qa/internvl.jsonl', sharegpt: 'qa/sharegpt.json' } as const;

export async function writeRagvlQa(ctx: ExportContext, set: RagvlTrainingSet): Promise<{ files: string[]; counts: Record<string, number> }> {
  await mkdir(path.join(ctx.outDir, 'qa'), { recursive: true });
  const copied = new Map<string, string>();
  const llava: unknown[] = [];
  const sharegpt: unknown[] = [];
  let imageMissing = 0;
  for (const sample of set.qa) {
    const files = await copyImages(ctx, sample.imageIds, copied);
    if (!files) {
      imageMissing++;
      continue;
    }
    const tokens = files.map(() => IMAGE_TOKEN).join('\n');
    const m2rag = { query_id: sample.queryId, image_ids: sample.imageIds, injected_negative_id: sample.injectedNegativeId ?? null, answer_source: sample.answerSource };
    llava.push({
      id: sample.queryId,
      image: files,
      conversations: [
        { from: 'human', value: `${tokens}\n${sample.prompt}` },
        { from: 'gpt', value: sample.answer },
      ],
      m2rag,
    });
    sharegpt.push({
      messages: [
        { role: 'user', content: `${files.map(() => IMAGE_TOKEN).join('')}${sample.prompt}` },
        { role: 'assistant', content: sample.answer },
      ],
      images: files,
      m2rag,
    });
  }
  const out = (file: string, text: string) => writeFile(path.join(ctx.outDir, file), text);
  await out(QA_FILES.llava, json(llava));
  await out(QA_FILES.internvl, jsonLines(llava));
  await out(QA_FILES.sharegpt, json(sharegpt));
  await out('internvl_meta.json', internvlMeta({ m2rag_qa: { annotation: QA_FILES.internvl, length: llava.length } }));
  await out('dataset_info.json', llamaFactoryInfo({ 'm2rag-qa': QA_FILES.sharegpt }));
  return {
    files: [...Object.values(QA_FILES), 'internvl_meta.json', 'dataset_info.json', 'images/', 'README.md'],
    counts: { ...set.counts.qa, samples: llava.length, 'left-out:image-missing': imageMissing },
  };
}
