// The M2RAG export of a real mirror build (real Wikipedia-mirror pages stored as the crawler stores
// them, then the process-text, process-images, describe and score stages, offline), read exactly as the reference code loads a dev set: summarize.py's level selection,
// BaseSummarizer.filter_webpage_pieces, remove_invalid_auxiliary_images and
// M2RAGEndToEndSummarizer.filter_images_and_reorganize_webpages with the defaults of
// src/config/summarize_custom_llm.yaml, transcribed to TypeScript (dict access raises on a missing
// key, comparisons need numbers, the placeholder→image assert). Then: import of that export into a
// new store and a second export must give the same bytes, a bad line must be refused with file:line,
// and the card must carry the settings the build ran with, not the export command's.
import assert from 'node:assert/strict';
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigSchema } from '../src/core/config.js';
import { runStage, type Stage } from '../src/core/stage.js';
import { STAGE_ORDER } from '../src/core/stages.js';
import type { ModelServices } from '../src/models/services.js';
import { ProcessTextStage } from '../processors/text/stage.js';
import { processImagesStage } from '../processors/images/stage.js';
import { DescribeStage } from '../processors/describe/stage.js';
import { createScoreStage } from '../scorers/score-stage.js';
import { sniffImageType } from '../crawlers/net/sniff.js';
import { exportDataset } from '../storage/export/index.js';
import { importM2rag } from '../storage/import/m2rag.js';
import { runCli } from './helpers/cli.js';
import { buildMirrorStore } from './helpers/mirror-store.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore } from '../storage/index.js';

const IMPORT = { sniffMime: sniffImageType, minChunkScore: 3, minImageScore: 3, stagesDone: STAGE_ORDER.slice(0, STAGE_ORDER.indexOf('score') + 1) };

type Dict = Record<string, unknown>;

/** Python's `d[key]`: a missing key is a KeyError. */
function get<T = unknown>(d: unknown, key: string): T {
  if (d === null || typeof d !== 'object' || !(key in d)) throw new Error(`KeyError: '${key}'`);
  return (d as Dict)[key] as T;
}

/** A value the reference compares with `>=` or sorts by: None or a string would raise a TypeError. */
function num(v: unknown, what: string): number {
  if (typeof v !== 'number') throw new Error(`TypeError: ${what} is ${JSON.stringify(v)}, not a number`);
  return v;
}

// src/config/summarize_custom_llm.yaml (summarizer_config.params) and its `levels: [1]`.
const REF = { maxPiecesPerSample: 20, minPieceScore: 3, maxImages: 10, maxImagesPerSample: 5, maxAuxImages: 5, maxImageScore: 1e10, minImageScore: 3, levels: [1, 2, 3] };
const PLACEHOLDER = /<IMAGE_PLACEHOLDER>\[(\d+)\]/g;

function topIndices<T>(items: T[], score: (x: T) => number, id: (x: T) => unknown, k: number): unknown[] {
  return [...items].sort((a, b) => score(b) - score(a)).slice(0, k).map(id);
}

function filterWebpagePieces(sample: Dict): Dict[] {
  const out: Dict[] = [];
  for (const webpage of get<Dict[]>(sample, 'webpages')) {
    const pieces = get(webpage, 'cleaned_webpage_splits');
    if (!Array.isArray(pieces)) continue;
    const above = (pieces as Dict[]).filter((p) => num(get(p, 'score'), 'score') >= REF.minPieceScore);
    const topK = (topIndices(above, (p) => get<number>(p, 'score'), (p) => get(p, 'split_id'), REF.maxPiecesPerSample) as number[]).sort((a, b) => a - b);
    const topPieces = above.filter((p) => topK.includes(get(p, 'split_id')));
    const images = get<Dict[]>(webpage, 'images');
    for (const image of images) if (!topK.includes(get(image, 'split_id'))) image.valid = false;
    const reserved = images.filter((i) => get(i, 'valid'));
    if (topPieces.length > 0) {
      out.push({ query_id: get(sample, 'query_id'), webpage_id: get(webpage, 'webpage_id'), title: get(webpage, 'title'), url: get(webpage, 'url'), pieces: topPieces, images: reserved });
    }
  }
  return out;
}

function removeInvalidAuxImages(sample: Dict): Dict[] {
  const out: Dict[] = [];
  for (const aux of get<Dict[]>(sample, 'aux_images')) {
    aux.aux_image_id = `${String(get(sample, 'query_id'))}-${String(get(aux, 'image_id'))}`;
    if (get(aux, 'valid')) out.push(aux);
  }
  return out;
}

function reorganize(webpage: Dict): Dict | undefined {
  const pieces = get<Dict[]>(webpage, 'pieces');
  if (pieces.length === 0) return undefined;
  let text = pieces.map((p) => get<string>(p, 'text')).join('');
  const images: Dict[] = [];
  const reserved = get<Dict[]>(webpage, 'images').map((i) => get(i, 'image_id'));
  for (const index of [...text.matchAll(PLACEHOLDER)].map((m) => Number(m[1]))) {
    if (!reserved.includes(index)) text = text.replaceAll(`<IMAGE_PLACEHOLDER>[${index}]`, '');
    else {
      text = text.replaceAll(`<IMAGE_PLACEHOLDER>[${index}]`, '<TEMP_IMAGE_PLACEHOLDER>');
      const found = get<Dict[]>(webpage, 'images').filter((i) => get(i, 'image_id') === index);
      images.push(...found);
      assert.ok(found.length > 0, 'the reference asserts every reserved placeholder finds its image');
    }
  }
  return { ...webpage, content: text.replaceAll('<IMAGE_PLACEHOLDER>', '').replaceAll('<TEMP_IMAGE_PLACEHOLDER>', '<IMAGE_PLACEHOLDER>'), images };
}

function filterImagesAndReorganize(webpages: Dict[], auxImages: Dict[]): { webpages: Dict[]; auxImages: Dict[] } {
  let counter = 0;
  const inRange = (i: Dict) => num(get(i, 'final_score'), 'final_score') >= REF.minImageScore && get<number>(i, 'final_score') < REF.maxImageScore;
  for (const webpage of webpages) {
    const images = get<Dict[]>(webpage, 'images').filter(inRange);
    const topK = topIndices(images, (i) => get<number>(i, 'final_score'), (i) => get(i, 'image_id'), REF.maxImagesPerSample);
    webpage.images = images.filter((i) => topK.includes(get(i, 'image_id')));
    for (const image of webpage.images as Dict[]) image._global_sort_id = counter++;
  }
  const aux = auxImages.filter(inRange);
  const auxTop = topIndices(aux, (i) => get<number>(i, 'final_score'), (i) => get(i, 'aux_image_id'), REF.maxAuxImages);
  const topAux = aux.filter((i) => auxTop.includes(get(i, 'aux_image_id')));
  for (const image of topAux) image._global_sort_id = counter++;
  const all = [...webpages.flatMap((w) => w.images as Dict[]), ...topAux];
  const globalTop = topIndices(all, (i) => get<number>(i, 'final_score'), (i) => get(i, '_global_sort_id'), REF.maxImages);
  for (const webpage of webpages) webpage.images = (webpage.images as Dict[]).filter((i) => globalTop.includes(get(i, '_global_sort_id')));
  return { webpages: webpages.map(reorganize).filter((w): w is Dict => w !== undefined), auxImages: topAux };
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(path.relative(dir, path.join(entry.parentPath, entry.name)), await readFile(path.join(entry.parentPath, entry.name)));
  }
  return files;
}

test('the mirror build exports the M2RAG dev-set layout the reference loads; import → export gives the same bytes', async (t) => {
  const dir = await tempDir(t);
  const store = await CorpusStore.open(path.join(dir, 'store'));
  t.after(() => store.close());
  await buildMirrorStore(store, [{ query: 'Ray Charles piano soul music', pages: ['Ray_Charles.html', 'Georgia_on_My_Mind.html', 'Betty_Carter.html'] }]);
  // The mirror's images are Wikipedia thumbnails (mostly 5–20 KB), under M2RAG's 20 KB floor.
  const built = ConfigSchema.parse({ images: { minBytes: 2048, minPixels: 5000 } });
  const services = servicesFor(t, built, store);
  for (const stage of [new ProcessTextStage(), processImagesStage, new DescribeStage(), createScoreStage()] as Array<Stage<ModelServices>>) {
    const report = await runStage(stage, store, { config: built, services });
    assert.equal(report.failed, 0, `${stage.name}: ${report.firstFailure}`);
  }

  // Exported with the default config: the card must still say what the build ran with.
  const out = path.join(dir, 'export');
  await exportDataset(store, { format: 'm2rag', outDir: out, sharegptMinMetric: 0.7 });
  const card = await readFile(path.join(out, 'README.md'), 'utf8');
  assert.match(card, /### process-images[\s\S]*\| images\.minBytes \| 2048 \|/);
  assert.doesNotMatch(card, /minBytes \| 20480/);
  assert.match(card, /### score[\s\S]*\| score\.minChunkScore \| 3 \|/);

  const samples = (await readFile(path.join(out, 'dev_set.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Dict);
  const selected = samples.filter((s) => REF.levels.includes(num(get(s, 'level'), 'level')));
  assert.equal(selected.length, 1);
  let placeholders = 0;
  let validImages = 0;
  for (const sample of selected) {
    for (const key of ['query_id', 'content', 'webpages', 'aux_images', 'level']) get(sample, key);
    for (const webpage of get<Dict[]>(sample, 'webpages')) {
      for (const key of ['webpage_id', 'url', 'title', 'cleaned_webpage_splits', 'images']) get(webpage, key);
      const images = get<Dict[]>(webpage, 'images');
      for (const image of images) {
        for (const key of ['split_id', 'image_id', 'image_url', 'valid', 'cached_image_url', 'final_score', 'detailed_image_caption']) get(image, key);
        if (get(image, 'valid')) {
          validImages++;
          num(get(image, 'final_score'), 'final_score');
          await access(path.join(out, get<string>(image, 'cached_image_url')));
        }
      }
      for (const split of get<Dict[]>(webpage, 'cleaned_webpage_splits')) {
        for (const key of ['split_id', 'text', 'score']) get(split, key);
        num(get(split, 'score'), 'score');
        for (const m of get<string>(split, 'text').matchAll(PLACEHOLDER)) {
          placeholders++;
          assert.ok(images.some((i) => i.image_id === Number(m[1])), `placeholder ${m[0]} of webpage ${String(webpage.webpage_id)} has no images[] entry`);
        }
      }
    }
    for (const aux of get<Dict[]>(sample, 'aux_images')) {
      for (const key of ['image_id', 'image_url', 'cached_image_url', 'valid', 'final_score', 'detailed_image_caption']) get(aux, key);
      if (get(aux, 'valid')) await access(path.join(out, get<string>(aux, 'cached_image_url')));
    }
    const loaded = filterImagesAndReorganize(filterWebpagePieces(structuredClone(sample)), removeInvalidAuxImages(structuredClone(sample)));
    assert.ok(loaded.webpages.length > 0, 'the reference keeps some webpages');
    assert.ok(loaded.webpages.some((w) => (w.images as Dict[]).length > 0 && String(w.content).includes('<IMAGE_PLACEHOLDER>')), 'and places some images');
  }
  assert.ok(placeholders > 0 && validImages > 0, `placeholders=${placeholders} valid images=${validImages}`);

  // Import the export into a new store and export it again: the same dataset, byte for byte.
  const imported = await CorpusStore.open(path.join(dir, 'imported'));
  t.after(() => imported.close());
  const counts = await importM2rag(imported, { ...IMPORT, file: path.join(out, 'dev_set.jsonl') });
  assert.deepEqual([counts.queries, counts.imagesWithoutFile], [1, 0]);
  const again = path.join(dir, 'export-again');
  await exportDataset(imported, { format: 'm2rag', outDir: again, sharegptMinMetric: 0.7 });
  const first = await filesOf(out);
  const second = await filesOf(again);
  const dataset = (files: Map<string, Buffer>) => [...files.keys()].filter((f) => f === 'dev_set.jsonl' || f.startsWith('images/')).sort();
  assert.deepEqual(dataset(second), dataset(first));
  for (const name of dataset(first)) assert.ok(first.get(name)!.equals(second.get(name)!), `${name} differs after import → export`);
  assert.match(second.get('README.md')!.toString(), /## Imported records[\s\S]*descriptions from dev_set\.jsonl/);
});

test('import refuses a bad line with file:line and writes nothing', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'dev_set.jsonl');
  const good = { query_id: 'q1', content: 'a question', webpages: [], aux_images: [], level: 1 };
  await writeFile(file, `${JSON.stringify(good)}\n${JSON.stringify({ ...good, query_id: 'q2', level: 'easy' })}\n`);
  const store = path.join(dir, 'store');
  const result = await runCli(['--store', store, 'import', file]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^m2rag: .*dev_set\.jsonl:2: level: .*\n$/);
  const opened = await CorpusStore.open(store);
  t.after(() => opened.close());
  assert.equal(await opened.count('queries'), 0);
});
