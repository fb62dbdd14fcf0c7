// `run --caption none|description|dataset` picks the RagVL reranker's template: caption-agnostic, our
// description, or the imported dataset's own caption. The vision model, LLM and embedder are a local
// stand-in for an OpenAI-compatible server (tests/helpers/openai-server.ts); the store is hand-made
// WebQA-layout data imported with the real CLI, with a RagVL caption file.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CorpusStore, descriptionIdOf } from '../storage/index.js';
import { runCli } from './helpers/cli.js';
import { chatReply, embeddingsReply, startOpenAiServer, userContent, type RecordedRequest } from './helpers/openai-server.js';
import { letterVector, WEBQA, writeRagvlFiles } from './helpers/ragvl-fixture.js';
import { tempDir } from './helpers/temp.js';

const OURS = 'Our own description: a small blue songbird on a wooden feeder';
const FACT_CAPTION = WEBQA.w1.img_posFacts[0]!.caption;
// RagVL's caption file (WebQA_caption_test.json) replaces the fact's caption of w1's image.
const DATASET_CAPTION = 'A jay with blue wings on a feeder, from the caption file';

const isRerank = (r: RecordedRequest): boolean => r.body.max_tokens === 1 && r.body.logprobs === true;

test('the reranker sends the caption-agnostic, our-description or dataset-caption template as --caption says', async (t) => {
  const dir = await tempDir(t);
  const files = await writeRagvlFiles(dir);
  const storeDir = path.join(dir, 'store');
  const captions = path.join(dir, 'WebQA_caption_test.json');
  await writeFile(captions, JSON.stringify({ [String(WEBQA.w1.img_posFacts[0]!.image_id)]: DATASET_CAPTION }));
  const imported = await runCli(['--store', storeDir, 'import', '--format', 'webqa', files.webqaFile, '--images', files.webqaImages, '--captions', captions]);
  assert.equal(imported.code, 0, imported.stderr);

  // Our description of w1's image, for the occurrence the import made.
  const store = await CorpusStore.open(storeDir);
  const [imageId] = (await store.get('queries', 'w1'))!.benchmark!.goldImageIds;
  const [occurrenceId] = await store.related('image-occurrences', imageId!);
  await store.put('descriptions', {
    id: descriptionIdOf(imageId!, occurrenceId, 'vision-model', 'stand-in-vl'),
    imageId: imageId!,
    occurrenceId,
    status: 'ok',
    text: OURS,
    method: 'vision-model',
    provenance: { provider: 'openai-compatible', model: 'stand-in-vl', inputHash: 'h', at: '2026-01-01T00:00:00.000Z' },
  });
  await store.close();

  const server = await startOpenAiServer({
    chat: (request) => (isRerank(request) ? chatReply('Yes', { logprobs: { Yes: -0.1, No: -2.5 } }) : chatReply('blue')),
    embeddings: (request) => embeddingsReply((request.body.input as string[]).map(letterVector)),
  });
  t.after(() => server.close());
  const config = path.join(dir, 'config.json');
  await writeFile(config, JSON.stringify({ models: { visionUrl: server.url, visionModel: 'stand-in-vl', embeddingUrl: server.url, embeddingModel: 'stand-in-embed', maxRetries: 0, cache: false } }));

  const textsFor = async (caption: string): Promise<string[]> => {
    const before = server.requestsTo('chat').length;
    const run = await runCli(['--store', storeDir, '--config', config, 'run', '--strategy', 'ragvl-short', '--pool', 'corpus', '--caption', caption, '--force']);
    assert.equal(run.code, 0, run.stderr);
    const sent = server.requestsTo('chat').slice(before);
    const shortAnswers = sent.filter((r) => !isRerank(r));
    // One short-answer request per question: the kept images, then the question and the instruction.
    assert.equal(shortAnswers.length, 4);
    assert.match(userContent(shortAnswers[0]!).text, /\nReply with just a word or a short phrase\.$/);
    return sent.filter(isRerank).map((r) => userContent(r).text);
  };

  // 4 questions × 6 candidate images.
  const none = await textsFor('none');
  assert.equal(none.length, 24);
  for (const text of none) assert.match(text, /^Question: .+\nWould this image help answer the question\? Reply with Yes or No\.$/);

  const ours = await textsFor('description');
  assert.equal(ours.length, 24);
  assert.ok(ours.every((text) => text.startsWith('Caption of the image: ')));
  assert.equal(ours.filter((text) => text.includes(OURS)).length, 4);
  assert.equal(ours.filter((text) => text.includes(DATASET_CAPTION)).length, 0);

  const dataset = await textsFor('dataset');
  assert.equal(dataset.length, 24);
  assert.equal(dataset.filter((text) => text.includes(OURS) || text.includes(FACT_CAPTION)).length, 0);
  assert.equal(dataset.filter((text) => text.startsWith(`Caption of the image: ${DATASET_CAPTION}\nQuestion: `)).length, 4);

  // The report names where the threshold came from: the flag, or the config (file or default).
  const runWith = (extra: string[]) => runCli(['--store', storeDir, '--config', config, 'run', '--strategy', 'ragvl-short', '--pool', 'corpus', '--caption', 'none', '--force', ...extra]);
  assert.match((await runWith(['--threshold', '0.7'])).stdout, /threshold 0\.700 \(--threshold\)/);
  assert.match((await runWith([])).stdout, /threshold \d\.\d{3} \(config\)/);
});
