// The embedded text embedder on ONNX Runtime's threads: the same vectors at 1 and 2 threads, bit for
// bit, each where its text was; the same scores from the score stage on a real mirror store at 1 and
// 2 threads; a failing batch rejects and the encoder goes on.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigSchema } from '../src/core/config.js';
import { runStage } from '../src/core/stage.js';
import { UniversalSentenceEncoder } from '../src/models/embedded-text.js';
import { loadModels } from '../src/models/registry.js';
import { modelServicesOf } from '../src/models/services.js';
import { dot } from '../scorers/calibration.js';
import { createScoreStage } from '../scorers/score-stage.js';
import { buildMirrorStore } from './helpers/describe-store.js';
import { readMirrorArticle } from './helpers/mirror-store.js';
import { tempDir } from './helpers/temp.js';

/** Texts of many lengths from a mirror article (past the 128 tokens the graph reads, too), with an empty one and a repeat. */
async function mirrorTexts(): Promise<string[]> {
  const { html } = await readMirrorArticle('Ray_Charles.html');
  const text = html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
  const lengths = [40, 1200, 90, 300, 700, 20, 2000, 150, 500, 60, 1000, 250, 80, 400, 900, 120, 35, 600];
  const texts = lengths.map((n, i) => text.slice(3000 + i * 1500, 3000 + i * 1500 + n));
  return [...texts, '', texts[3]!];
}

test('USE-lite on 2 threads gives the 1-thread vectors bit for bit, each in its own slot', async (t) => {
  const texts = await mirrorTexts();
  const oneThread = new UniversalSentenceEncoder(undefined, { threads: 1 });
  const threaded = new UniversalSentenceEncoder(undefined, { threads: 2 });
  t.after(() => Promise.all([oneThread.dispose(), threaded.dispose()]));
  const [one, two] = await Promise.all([oneThread.embedTexts(texts), threaded.embedTexts(texts)]);
  assert.equal(two.length, texts.length);
  assert.deepEqual(two, one);
  // Alone, a text pads differently, which moves its vector only by float rounding.
  for (const i of [0, 6, texts.length - 2]) {
    const [alone] = await threaded.embedTexts([texts[i]!]);
    assert.ok(Math.max(...alone!.map((x, k) => Math.abs(x - two[i]![k]!))) < 1e-5, `text ${i} alone`);
  }
  assert.ok(Math.abs(dot(two[1]!, two[1]!) - 1) < 1e-5, 'vectors are unit length');
  assert.deepEqual(two[texts.length - 1], two[3], 'a repeated text gets the same vector');
  assert.ok(dot(two[1]!, two[4]!) < 0.999, 'different texts get different vectors');
});

test('the score stage gives the same scores at 1 and 2 embedding threads on a mirror store', async (t) => {
  const dir = await tempDir(t);
  const scoresAt = async (threads: number) => {
    const { store } = await buildMirrorStore(path.join(dir, `store-${threads}`), 'Ray Charles piano soul music', [{ file: 'Ray_Charles.html' }]);
    t.after(() => store.close());
    const config = ConfigSchema.parse({ models: { cache: false } });
    const loaded = await loadModels(config, store, { env: {} });
    const textEmbedder = new UniversalSentenceEncoder(undefined, { threads });
    t.after(() => Promise.all([loaded.dispose(), textEmbedder.dispose()]));
    const report = await runStage(createScoreStage(), store, { services: modelServicesOf({ ...loaded, textEmbedder }), config });
    assert.equal(report.failed, 0);
    const scores = new Map<string, { components: Record<string, number>; finalScore?: number; kept?: boolean }>();
    for await (const s of store.iterate('scores')) scores.set(s.id, { components: s.components, finalScore: s.finalScore, kept: s.kept });
    return scores;
  };
  const one = await scoresAt(1);
  const two = await scoresAt(2);
  assert.ok(one.size > 20, `${one.size} elements scored`);
  assert.deepEqual(two, one);
});

test('a batch that fails is rejected, and the encoder goes on', async (t) => {
  const encoder = new UniversalSentenceEncoder(undefined, { threads: 1 });
  t.after(() => encoder.dispose());
  await assert.rejects(encoder.embedTexts([42 as unknown as string]));
  const [vector] = await encoder.embedTexts(['Ray Charles at the piano']);
  assert.equal(vector!.length, 512);
});
