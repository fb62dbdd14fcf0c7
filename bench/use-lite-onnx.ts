// USE-lite on TF.js (WASM, in-process, today's path) against ONNX Runtime (use-lite-onnx.ts): texts
// per second and CPU seconds of this process for 400 real 1,000-character texts (each past the 128
// tokens the graph reads), tokenizing included, at batch sizes 16/32/64 and, for ONNX Runtime, 1
// and 2 intra-op threads; and the largest difference between the two paths' vectors.
//   node --import tsx bench/use-lite-onnx.ts
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CORPORA } from '../tests/helpers/cli.js';
import type { UseLiteModel } from '../src/models/use-lite-onnx.js';
import { loadUseLite } from '../tests/helpers/use-lite-tfjs.js';
import { loadUseLiteOnnx } from '../src/models/use-lite-onnx.js';

const TEXTS = 400;
const TEXT_LENGTH = 1000;
const BATCHES = [16, 32, 64];

/** 1,000-character passages of the mirror's articles, 1,000 characters apart, skipping each article’s first 3,000. */
async function passages(): Promise<string[]> {
  const dir = path.join(CORPORA, 'wiki-ray-charles', 'A');
  const texts: string[] = [];
  for (const file of (await readdir(dir)).sort()) {
    const text = (await readFile(path.join(dir, file), 'utf8')).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    for (let start = 3000; start + TEXT_LENGTH <= text.length && texts.length < TEXTS; start += TEXT_LENGTH) texts.push(text.slice(start, start + TEXT_LENGTH));
    if (texts.length === TEXTS) return texts;
  }
  throw new Error(`the mirror holds only ${texts.length} passages of ${TEXT_LENGTH} characters`);
}

async function embedAll(model: UseLiteModel, texts: string[], batch: number): Promise<Float32Array[]> {
  const vectors: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += batch) vectors.push(...(await model.embedBatch(texts.slice(i, i + batch))));
  return vectors;
}

async function measure(label: string, model: UseLiteModel, texts: string[], batch: number): Promise<Float32Array[]> {
  await model.embedBatch(texts.slice(0, batch)); // warm-up: first-run allocations and kernel selection
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const vectors = await embedAll(model, texts, batch);
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(`${label.padEnd(26)} batch ${String(batch).padStart(2)}  ${(texts.length / seconds).toFixed(1).padStart(6)} texts/s  ${cpuSeconds.toFixed(2).padStart(6)} CPU s  ${((cpuSeconds / texts.length) * 1000).toFixed(2)} ms CPU/text`);
  return vectors;
}

const texts = await passages();
console.log(`${texts.length} texts of ${TEXT_LENGTH} characters`);

const tfjs = await loadUseLite();
let reference: Float32Array[] = [];
for (const batch of BATCHES) reference = await measure('TF.js WASM (1 thread)', tfjs, texts, batch);
tfjs.dispose();

let worst = 0;
for (const threads of [1, 2]) {
  const onnx = await loadUseLiteOnnx({ threads });
  for (const batch of BATCHES) {
    const vectors = await measure(`ONNX Runtime (${threads} thread${threads > 1 ? 's' : ''})`, onnx, texts, batch);
    vectors.forEach((vector, i) => vector.forEach((x, k) => (worst = Math.max(worst, Math.abs(x - reference[i]![k]!)))));
  }
  onnx.dispose();
}
console.log(`max |ONNX − TF.js| over every vector component: ${worst.toExponential(2)}`);
