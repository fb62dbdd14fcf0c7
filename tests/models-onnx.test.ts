// The local ONNX provider end to end on a tiny random CLIP-style dual encoder the test writes (real
// ONNX graphs with CLIP's input/output names, a WordPiece tokenizer.json, a preprocessor config):
// loading, tokenizing, preprocessing and batching; `m2rag models pull` against a local server laid
// out like the model hub; `m2rag eval retrieval` with the tiny model.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { Tokenizer } from '@huggingface/tokenizers';
import { ConfigSchema } from '../src/core/config.js';
import { loadModels } from '../src/models/registry.js';
import { OnnxClipEncoder, preprocessImage, preprocessingFrom } from '../src/models/onnx-clip.js';
import { CorpusStore } from '../storage/index.js';
import { CORPORA, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { TINY_VOCAB, writeTinyClip, type TinyClip } from './helpers/tiny-clip.js';
import { tmpdir } from 'node:os';

const FLICKR = path.join(CORPORA, 'flickr8k-1k');
let tiny: TinyClip;
before(async () => {
  tiny = await writeTinyClip(await mkdtemp(path.join(tmpdir(), 'm2rag-tiny-clip-')));
});

function normalized(values: number[]): number[] {
  const norm = Math.hypot(...values);
  return values.map((v) => v / norm);
}

function close(actual: Float32Array, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-4, `${what}: [${i}] ${actual[i]} vs ${expected[i]}`);
}

test('preprocessing follows preprocessor_config.json: shortest-edge resize, center crop, normalize, CHW', async () => {
  // 16×8: left half red, right half blue. Shortest edge 4 → 8×4, center crop 4×4 keeps columns 2–5.
  const raw = Buffer.alloc(16 * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) raw.set(x < 8 ? [255, 0, 0] : [0, 0, 255], (y * 16 + x) * 3);
  const png = await sharp(raw, { raw: { width: 16, height: 8, channels: 3 } }).png().toBuffer();
  const p = preprocessingFrom({ size: { shortest_edge: 4 }, crop_size: { height: 4, width: 4 }, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], resample: 0 });
  const { pixels, height, width } = await preprocessImage(png, p);
  assert.deepEqual([height, width], [4, 4]);
  const at = (c: number, y: number, x: number) => pixels[c * 16 + y * 4 + x]!;
  assert.deepEqual([at(0, 1, 0), at(1, 1, 0), at(2, 1, 0)], [1, -1, -1], 'left column red → (1, -1, -1)');
  assert.deepEqual([at(0, 2, 3), at(1, 2, 3), at(2, 2, 3)], [-1, -1, 1], 'right column blue → (-1, -1, 1)');
  // SigLIP-style config: exact size, no crop, default CLIP mean/std when none given.
  const siglip = preprocessingFrom({ size: { height: 6, width: 6 }, do_center_crop: false });
  assert.deepEqual(siglip.resize, { height: 6, width: 6 });
  assert.equal(siglip.crop, undefined);
  assert.deepEqual(siglip.mean, [0.48145466, 0.4578275, 0.40821073]);
});

test('tiny dual encoder: image vectors are flatten·W of the preprocessed pixels, the same batched or not', async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  const config = ConfigSchema.parse({ models: { clipDir: tiny.dir, clipBatchSize: 2 } });
  const models = await loadModels(config, store, { env: {} });
  try {
    const encoder = models.imageEmbedder!;
    assert.ok(encoder instanceof OnnxClipEncoder);
    assert.equal(encoder.provider, 'onnx');
    const files = (await readdir(FLICKR)).filter((f) => f.endsWith('.jpg')).slice(0, 5);
    const images = await Promise.all(files.map((f) => readFile(path.join(FLICKR, f))));
    const batched = await encoder.embedImages(images);
    assert.equal(batched.length, 5);
    assert.equal(encoder.dimensions, tiny.dimensions);
    for (const [i, image] of images.entries()) {
      const [single] = await encoder.embedImages([image]);
      close(batched[i]!, Array.from(single!), `image ${i} batched vs alone`);
      const { pixels } = await preprocessImage(image, preprocessingFrom(JSON.parse(await readFile(path.join(tiny.dir, 'preprocessor_config.json'), 'utf8'))));
      const expected = Array.from({ length: tiny.dimensions }, (_, d) => pixels.reduce((s, x, f) => s + x * tiny.visionWeights[f * tiny.dimensions + d]!, 0));
      close(batched[i]!, normalized(expected), `image ${i} vs reference`);
    }
    assert.notDeepEqual(Array.from(batched[0]!), Array.from(batched[1]!), 'different photos, different vectors');
  } finally {
    await models.dispose();
    await store.close();
  }
});

test('tiny dual encoder: texts are tokenized by tokenizer.json, padded per batch, truncated to model_max_length', async () => {
  const encoder = await OnnxClipEncoder.open(tiny.dir, { threads: 1, batchSize: 8 });
  try {
    const row = (token: string) => Array.from(tiny.tokenEmbeddings.slice(TINY_VOCAB.indexOf(token) * tiny.dimensions, (TINY_VOCAB.indexOf(token) + 1) * tiny.dimensions));
    const meanOf = (tokens: string[]) => normalized(row(tokens[0]!).map((_, d) => tokens.reduce((s, t) => s + row(t)[d]!, 0) / tokens.length));
    const texts = ['A dog runs', 'Two people play on the grass in the water', 'a zebra runs', 'a dog runs on the grass in the water a child in a red shirt'];
    const [short, long, unknown, truncated] = await encoder.embedTexts(texts);
    close(short!, meanOf(['[CLS]', 'a', 'dog', 'runs', '[SEP]']), 'lower-cased, special tokens added, padding masked out');
    close(long!, meanOf(['[CLS]', 'two', 'people', 'play', 'on', 'the', 'grass', 'in', 'the', 'water', '[SEP]']), 'longest text of the batch');
    close(unknown!, meanOf(['[CLS]', 'a', '[UNK]', 'runs', '[SEP]']), 'unknown word');
    // model_max_length 12: eleven tokens kept and the end token in the last place.
    const ids = new Tokenizer(JSON.parse(await readFile(path.join(tiny.dir, 'tokenizer.json'), 'utf8')), {}).encode(texts[3]!).ids;
    assert.ok(ids.length > 12);
    close(truncated!, meanOf([...ids.slice(0, 11).map((id: number) => TINY_VOCAB[id]!), '[SEP]']), 'truncated to 12 with [SEP] kept');
    const [alone] = await encoder.embedTexts(['A dog runs']);
    close(alone!, Array.from(short!), 'same vector with or without longer texts in the batch');
  } finally {
    await encoder.dispose();
  }
});

test('a model directory without the ONNX graphs is a clear user error', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'config.json'), JSON.stringify({ models: { clipDir: path.join(dir, 'empty') } }));
  const result = await runCli(['--config', path.join(dir, 'config.json'), '--store', path.join(dir, 'store'), 'eval', 'retrieval', '--images', FLICKR, '--captions', path.join(FLICKR, 'captions.csv'), '--limit', '3']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /not a CLIP-family ONNX export \(needs vision_model\.onnx/);
});

test('m2rag eval retrieval with the tiny dual encoder prints {"r1","r5","r10","n"}', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'config.json'), JSON.stringify({ models: { clipDir: tiny.dir, clipBatchSize: 4 } }));
  const result = await runCli(['--config', path.join(dir, 'config.json'), '--store', path.join(dir, 'store'), 'eval', 'retrieval', '--images', FLICKR, '--captions', path.join(FLICKR, 'captions.csv'), '--limit', '12', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.n, 12);
  assert.equal(report.captions, 60);
  assert.equal(report.embedder, `onnx/${path.basename(tiny.dir)}`);
  for (const key of ['r1', 'r5', 'r10']) assert.ok(report[key] >= 0 && report[key] <= 1, key);
  assert.ok(report.r1 <= report.r5 && report.r5 <= report.r10);
});

/** A local server laid out like the model hub: a listing with checksums and resolve URLs with Range. */
async function startHub(repo: string, files: Record<string, Buffer>, options: { lie?: string } = {}) {
  const requests: Array<{ path: string; range?: string }> = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://127.0.0.1');
    requests.push({ path: url.pathname, range: req.headers.range });
    if (url.pathname === `/api/models/${repo}/revision/main`) {
      const siblings = Object.entries(files).map(([rfilename, bytes]) =>
        rfilename.endsWith('.onnx')
          ? { rfilename, size: bytes.length, lfs: { sha256: options.lie === rfilename ? '0'.repeat(64) : createHash('sha256').update(bytes).digest('hex'), size: bytes.length } }
          : { rfilename, size: bytes.length, blobId: createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex') },
      );
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: repo, siblings }));
      return;
    }
    const prefix = `/${repo}/resolve/main/`;
    const file = url.pathname.startsWith(prefix) ? files[decodeURIComponent(url.pathname.slice(prefix.length))] : undefined;
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      res.writeHead(206, { 'content-range': `bytes ${start}-${file.length - 1}/${file.length}`, 'content-length': file.length - start }).end(file.subarray(start));
    } else res.writeHead(200, { 'content-length': file.length }).end(file);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

async function tinyFiles(): Promise<Record<string, Buffer>> {
  const names = ['onnx/vision_model.onnx', 'onnx/text_model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json', 'config.json'];
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(path.join(tiny.dir, n))] as const)));
}

test('m2rag models pull downloads a hub export into the cache, verified and resumable, and models list shows it', async (t) => {
  const repo = 'm2rag-tests/tiny-clip';
  const files = await tinyFiles();
  const hub = await startHub(repo, files);
  t.after(() => hub.close());
  const cache = await tempDir(t);
  // An interrupted earlier pull left half of the vision graph.
  const modelDir = path.join(cache, 'models', 'm2rag-tests--tiny-clip');
  await mkdir(path.join(modelDir, 'onnx'), { recursive: true });
  const vision = files['onnx/vision_model.onnx']!;
  await writeFile(path.join(modelDir, 'onnx/vision_model.onnx.part'), vision.subarray(0, vision.length >> 1));

  const pulled = await runCli(['models', 'pull', repo, '--hub-url', hub.url, '--cache-dir', cache]);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.match(pulled.stdout, /resumed +onnx\/vision_model\.onnx .*verified/);
  assert.match(pulled.stdout, /downloaded +onnx\/text_model\.onnx/);
  assert.equal(hub.requests.find((r) => r.path.endsWith('vision_model.onnx'))!.range, `bytes=${vision.length >> 1}-`);
  for (const [name, bytes] of Object.entries(files)) assert.deepEqual(await readFile(path.join(modelDir, name)), bytes, name);
  assert.deepEqual((await readdir(path.join(modelDir, 'onnx'))).sort(), ['text_model.onnx', 'vision_model.onnx'], 'no .part left');

  const again = await runCli(['models', 'pull', repo, '--hub-url', hub.url, '--cache-dir', cache]);
  assert.match(again.stdout, /present +onnx\/vision_model\.onnx/);

  const list = await runCli(['models', 'list', '--cache-dir', cache, '--json']);
  const listed = JSON.parse(list.stdout);
  assert.deepEqual(listed.models.map((m: { name: string; complete: boolean }) => [m.name, m.complete]), [[repo, true]]);
  const encoder = await OnnxClipEncoder.open(modelDir, { threads: 1, batchSize: 2 });
  assert.equal((await encoder.embedTexts(['a dog']))[0]!.length, tiny.dimensions);
  await encoder.dispose();
});

test('models pull refuses a file whose checksum does not match the hub listing', async (t) => {
  const repo = 'm2rag-tests/tampered';
  const hub = await startHub(repo, await tinyFiles(), { lie: 'onnx/text_model.onnx' });
  t.after(() => hub.close());
  const cache = await tempDir(t);
  const result = await runCli(['models', 'pull', repo, '--hub-url', hub.url, '--cache-dir', cache]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /onnx\/text_model\.onnx failed verification \(sha256 [0-9a-f]{64}, the hub lists 0{64}\)/);
  const onnxDir = path.join(cache, 'models', 'm2rag-tests--tampered', 'onnx');
  assert.deepEqual(await readdir(onnxDir), ['vision_model.onnx'], 'the unverified file was not kept');
  const unknown = await runCli(['models', 'pull', 'no such model', '--hub-url', hub.url, '--cache-dir', cache]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown model "no such model" \(known: clip-vit-b32/);
});
