// Model benchmarks (figures go to BENCHMARKS.md, section "Models").
//   node --import tsx bench/models.ts [--images 40] [--clip-dir <dir>] [--threads 1] [--batch 16] [--ocr-recall]
// (a) embedded OCR (PaddleOCR PP-OCRv4, ONNX) images/s on the mirror's images (many album covers
//     with text) and on flickr8k-1k photos; (b) embedded text embedder (USE lite) texts/s on captions;
//     (c) the ONNX dual encoder images/s and texts/s: the tiny random model the tests use, or a real
//     export given with --clip-dir (then also (d) text→image Recall@1/5/10 on all of flickr8k-1k);
//     (e) with --ocr-recall, Recall@K of the embedded default (OCR text embedded as text) on flickr8k-1k.
// Wall time and CPU time are both printed: the machine is shared, CPU seconds per item are steadier.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UniversalSentenceEncoder } from '../src/models/embedded-text.js';
import { OnnxClipEncoder } from '../src/models/onnx-clip.js';
import { PaddleOcr } from '../src/models/paddle-ocr.js';
import { evaluateTextToImage, readCaptions } from '../scorers/retrieval-eval.js';
import { OcrTextImageEmbedder } from '../src/models/ocr-text-embedder.js';
import { writeTinyClip } from '../tests/helpers/tiny-clip.js';
import { timed } from './timing.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CORPORA = path.resolve(ROOT, '../shared/corpora');
const FLICKR = path.join(CORPORA, 'flickr8k-1k');
const MIRROR_IMAGES = path.join(CORPORA, 'wiki-ray-charles/I/m');
const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '40' },
    'clip-dir': { type: 'string' },
    threads: { type: 'string', default: '1' },
    batch: { type: 'string', default: '16' },
    'ocr-recall': { type: 'boolean', default: false },
  },
});
const count = Number(args.images);
const threads = Number(args.threads);

async function files(dir: string, accept: RegExp, n: number): Promise<Buffer[]> {
  const names = (await readdir(dir)).filter((name) => accept.test(name)).sort().slice(0, n);
  return Promise.all(names.map((name) => readFile(path.join(dir, name))));
}

const mirror = await files(MIRROR_IMAGES, /\.(jpe?g|png)$/i, count);
const photos = await files(FLICKR, /\.jpg$/i, count);

const ocr = new PaddleOcr({ threads });
await timed('OCR model load + first image', 1, 'images', () => ocr.recognize(mirror[0]!));
let lines = 0;
await timed(`OCR, mirror images (threads ${threads})`, mirror.length, 'images', async () => {
  for (const image of mirror) lines += (await ocr.recognize(image)).length;
});
console.log(`  ${lines} text lines found in ${mirror.length} mirror images`);
await timed(`OCR, flickr8k photos (threads ${threads})`, photos.length, 'images', async () => {
  for (const image of photos) await ocr.recognize(image);
});

const captions = (await readCaptions(path.join(FLICKR, 'captions.csv'))).slice(0, 200).map((r) => r.caption);
const use = new UniversalSentenceEncoder();
await timed('USE lite load + first text', 1, 'texts', () => use.embedTexts([captions[0]!]));
await timed('USE lite text embeddings', captions.length, 'texts', () => use.embedTexts(captions));

const scratch = await mkdtemp(path.join(tmpdir(), 'm2rag-bench-models-'));
const clipDir = args['clip-dir'] ?? (await writeTinyClip(scratch, { dimensions: 512, side: 224 })).dir;
const real = args['clip-dir'] !== undefined;
const clip = await OnnxClipEncoder.open(clipDir, { threads, batchSize: Number(args.batch) });
const label = real ? `ONNX dual encoder ${path.basename(clipDir)}` : 'ONNX tiny random dual encoder (224 px input, 512-d, one MatMul)';
await timed(`${label}, images incl. preprocessing (batch ${args.batch}, threads ${threads})`, photos.length, 'images', () => clip.embedImages(photos));
await timed(`${label}, texts`, captions.length, 'texts', () => clip.embedTexts(captions));

const rows = await readCaptions(path.join(FLICKR, 'captions.csv'));
if (real) {
  const result = await timed('Recall@K, flickr8k-1k', 1000, 'images', () => evaluateTextToImage(FLICKR, rows, clip, { batch: Number(args.batch) }));
  console.log(`  text→image ${result.embedder}: R@1 ${result.r1} R@5 ${result.r5} R@10 ${result.r10} (n ${result.n}, ${result.captions} captions)`);
} else {
  console.log('Recall@K with a real CLIP model: skipped, no real model given (--clip-dir); none can be downloaded on this machine');
}
if (args['ocr-recall']) {
  const embedder = new OcrTextImageEmbedder(ocr, use);
  const result = await timed('Recall@K of the embedded default (OCR text), flickr8k-1k', 1000, 'images', () => evaluateTextToImage(FLICKR, rows, embedder));
  console.log(`  text→image ${result.embedder}: R@1 ${result.r1} R@5 ${result.r5} R@10 ${result.r10} (n ${result.n}, ${result.captions} captions)`);
}
await Promise.all([ocr.dispose(), use.dispose(), clip.dispose()]);
await rm(scratch, { recursive: true, force: true });
