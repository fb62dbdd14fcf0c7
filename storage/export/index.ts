// `m2rag export`: writes a dataset folder in one of three formats, with the image files it refers
// to and a dataset card. Deterministic: records are read in key order and sorted, and nothing from
// the clock is written, so the same store gives byte-identical files.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CorpusStore } from '../store.js';
import type { Query } from '../schemas.js';
import { buildCard } from './card.js';
import type { ExportContext } from './context.js';

export { MissingBlobError } from './context.js';
import { buildElementsJsonl } from './elements-jsonl.js';
import { writeM2ragQueries } from './m2rag.js';
import { DEV_SET_FILE } from './m2rag-layout.js';
import { buildLlamaFactory, DATASET_INFO_FILE, LLM_FILE, MLLM_FILE } from './llama-factory.js';
import { loadDescriptions } from '../views.js';
import type { RagvlTrainingSet } from './ragvl-samples.js';
import { writeRagvlRerank } from './ragvl-rerank.js';
import { writeRagvlQa } from './ragvl-qa.js';

export const EXPORT_FORMATS = ['m2rag', 'llama-factory', 'jsonl', 'ragvl-rerank', 'ragvl-qa'] as const;

/** Written into every export folder, so a later export knows it may replace the folder. */
export const EXPORT_MARKER = '.m2rag-export';
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  format: ExportFormat;
  outDir: string;
  /** Minimum image coherence, helpfulness, reference and recall of a llama-factory training sample. */
  sharegptMinMetric: number;
  /** The export's own settings, by section, for the card; the settings that built the data come from the store's stage stats. */
  settings?: Record<string, Record<string, unknown>>;
  /** Leave out an image whose blob file is gone instead of stopping (MissingBlobError). */
  allowMissing?: boolean;
  /** ragvl-rerank, ragvl-qa: the pairs and samples the runner mined (choosing them needs the models). */
  ragvl?: RagvlTrainingSet;
}

export interface ExportSummary {
  files: string[];
  counts: Record<string, unknown>;
}

export async function exportDataset(store: CorpusStore, options: ExportOptions): Promise<ExportSummary> {
  await mkdir(path.join(options.outDir, options.format === 'jsonl' ? '' : 'images'), { recursive: true });
  const ctx: ExportContext = { store, outDir: options.outDir, descriptions: await loadDescriptions(store), allowMissing: options.allowMissing };
  const queries: Query[] = [];
  for await (const q of store.iterate('queries')) queries.push(q);
  queries.sort((a, b) => a.id.localeCompare(b.id));

  let files: string[];
  let counts: Record<string, unknown>;
  if (options.format === 'm2rag') {
    const { lines, counts: c } = await writeM2ragQueries(ctx, queries);
    await writeFile(path.join(options.outDir, DEV_SET_FILE), lines.map((l) => l + '\n').join(''));
    files = [DEV_SET_FILE, 'images/', 'README.md'];
    counts = { ...c };
  } else if (options.format === 'llama-factory') {
    const { llm, mllm, datasetInfo, counts: c } = await buildLlamaFactory(ctx, options.sharegptMinMetric);
    await writeFile(path.join(options.outDir, LLM_FILE), llm);
    await writeFile(path.join(options.outDir, MLLM_FILE), mllm);
    await writeFile(path.join(options.outDir, DATASET_INFO_FILE), datasetInfo);
    files = [DATASET_INFO_FILE, LLM_FILE, MLLM_FILE, 'images/', 'README.md'];
    counts = { generations: c.generations, taken: c.taken, ...Object.fromEntries(Object.entries(c.leftOut).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [`left out: ${k}`, v])) };
  } else if (options.format === 'ragvl-rerank' || options.format === 'ragvl-qa') {
    if (!options.ragvl) throw new Error(`export ${options.format}: the mined training set was not given`);
    ({ files, counts } = await (options.format === 'ragvl-rerank' ? writeRagvlRerank : writeRagvlQa)(ctx, options.ragvl));
  } else {
    const { lines, counts: c } = await buildElementsJsonl(ctx, queries);
    await writeFile(path.join(options.outDir, 'elements.jsonl'), lines.map((l) => l + '\n').join(''));
    files = ['elements.jsonl', 'README.md'];
    counts = { queries: queries.length, ...c };
  }
  const card = await buildCard(store, { format: options.format, files, counts, settings: options.settings ?? {} });
  await writeFile(path.join(options.outDir, 'README.md'), card);
  await writeFile(path.join(options.outDir, EXPORT_MARKER), `${options.format}\n`);
  return { files, counts };
}
