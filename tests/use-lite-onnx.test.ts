// USE-lite on ONNX Runtime against the package's own TF.js run, on real article texts: the same token ids as
// the package's tokenizer, the same vectors and the same cosine similarities to 1e-4, and a text's
// vector unmoved by the padding of a batch.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { EmbeddingsModel } from '@energetic-ai/embeddings';
import { useLiteWeightsDir } from '../src/models/use-lite-graph.js';
import { loadUseLiteOnnx, loadUseLiteTokenizer } from '../src/models/use-lite-onnx.js';
import { MIRROR } from './helpers/mirror-store.js';
import { loadUseLite } from './helpers/use-lite-tfjs.js';

const TOLERANCE = 1e-4;

/** Plain text of the mirror's longer articles (redirect stubs are skipped). */
async function articleTexts(count: number): Promise<string[]> {
  const dir = path.join(MIRROR, 'A');
  const texts: string[] = [];
  for (const file of (await readdir(dir)).sort()) {
    const text = (await readFile(path.join(dir, file), 'utf8')).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    if (text.length > 8000) texts.push(text);
    if (texts.length === count) break;
  }
  return texts;
}

/** 51 texts: a short and a 1,000-character passage of 25 articles (the long ones past the 128 tokens the graph reads), and an empty one. */
async function sampleTexts(): Promise<string[]> {
  const texts = (await articleTexts(25)).flatMap((text, i) => [text.slice(2000 + i * 10, 2000 + i * 10 + 20 + i * 4), text.slice(5000, 6000)]);
  return [...texts, ''];
}

const maxAbsDifference = (a: Float32Array, b: Float32Array) => a.reduce((max, x, k) => Math.max(max, Math.abs(x - b[k]!)), 0);
const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, k) => sum + x * b[k]!, 0);

test('the ported tokenizer gives the package tokenizer’s ids on article text, raw HTML and unusual characters', async () => {
  const vocabulary = JSON.parse(await readFile(path.join(useLiteWeightsDir(), 'vocab.json'), 'utf8')) as Array<[string, number]>;
  const reference = new EmbeddingsModel({ vocabulary, model: undefined as never }).tokenizer;
  const ported = await loadUseLiteTokenizer();
  const html = await readFile(path.join(MIRROR, 'A', 'Ray_Charles.html'), 'utf8');
  const texts = [...(await sampleTexts()), html.slice(0, 4000), ' ', '  two  spaces ', 'emoji 😀😀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ｆｕｌｌ ﬁ ½', '中文字符 テスト', '\u0000\u0007 control'];
  for (const text of texts) assert.deepEqual(ported.encode(text), reference.encode(text), JSON.stringify(text.slice(0, 60)));
  // Unknown characters are among them: runs of them merge into one unknown id.
  assert.ok(ported.encode('中文字符').includes(0));
});

test('ONNX USE-lite gives the TF.js vectors and cosine similarities within 1e-4', async (t) => {
  const texts = await sampleTexts();
  const tfjs = await loadUseLite();
  const onnx = await loadUseLiteOnnx({ threads: 1 });
  t.after(() => {
    onnx.dispose();
    tfjs.dispose();
  });
  const expected: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += 16) expected.push(...(await tfjs.embedBatch(texts.slice(i, i + 16))));
  // Batches of 16 in the given order, so short and long texts share batches and padding is exercised.
  const actual: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += 16) actual.push(...(await onnx.embedBatch(texts.slice(i, i + 16))));
  assert.equal(actual.length, texts.length);
  const worst = Math.max(...actual.map((vector, i) => maxAbsDifference(vector, expected[i]!)));
  assert.ok(worst <= TOLERANCE, `max |difference| ${worst}`);
  for (let i = 0; i + 1 < texts.length; i++) {
    const j = (i * 7 + 3) % texts.length;
    assert.ok(Math.abs(dot(actual[i]!, actual[j]!) - dot(expected[i]!, expected[j]!)) <= TOLERANCE, `cosine of texts ${i} and ${j}`);
  }
  assert.ok(Math.abs(dot(actual[1]!, actual[1]!) - 1) < 1e-5, 'vectors are unit length');
  assert.ok(dot(actual[1]!, actual[3]!) < 0.99, 'different texts get different vectors');
});

test('a text’s ONNX vector does not depend on the longer texts padding its batch', async (t) => {
  const [short, long] = await sampleTexts();
  const onnx = await loadUseLiteOnnx({ threads: 2 });
  t.after(() => onnx.dispose());
  const [alone] = await onnx.embedBatch([short!]);
  const [padded] = await onnx.embedBatch([short!, long!]);
  assert.ok(maxAbsDifference(alone!, padded!) < 1e-6);
  assert.deepEqual(await onnx.embedBatch([]), []);
});
