// The llama-factory export (the M2RAG training set) on a real LevelDB store whose generations the run
// stage wrote against a local stand-in for an OpenAI-compatible API (tests/helpers/openai-server.ts):
// the user turn is the single-stage prompt the run recorded, `<image>` tokens match the images list,
// dataset_info.json holds the reference's two entries, and the 0.7 filter leaves out what it should,
// counted by reason.
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigSchema } from '../src/core/config.js';
import { runStage } from '../src/core/stage.js';
import { RunStage } from '../src/runner/run.js';
import { exportDataset } from '../storage/export/index.js';
import { leftOutReason, pythonShuffle } from '../storage/export/llama-factory.js';
import { chatReply, userContent, type RecordedRequest } from './helpers/openai-server.js';
import { scoredFixtureWithStandIn } from './helpers/run-fixture.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { generationIdOf, type EvalResult, type Generation } from '../storage/index.js';

const AT = '2026-01-01T00:00:00.000Z';
const PROVENANCE = { provider: 'stand-in', model: 'judge', inputHash: 'h', at: AT };

function script(request: RecordedRequest): ReturnType<typeof chatReply> {
  const { text } = userContent(request);
  if (text.includes('# Answer lines')) return chatReply('Not this one\n-1');
  return chatReply('```markdown\nRay Charles played piano.\n![At the piano](images/0.jpg)\n```');
}

function judged(generationId: string, metrics: Record<string, number>, failed: Record<string, number> = {}): EvalResult {
  return { id: `e-${generationId}`, queryId: 'q', generationId, metrics, failed, images: [], method: 'm2rag-judge', provenance: PROVENANCE };
}

const GOOD = { image_coherence: 0.9, image_helpfulness: 0.8, image_reference: 0.7, image_recall: 1 };

test('llama-factory: the recorded single-stage prompt as the user turn, <image> per listed image, dataset_info, the 0.7 filter with counted reasons', async (t) => {
  const { fixture, server, config, services } = await scoredFixtureWithStandIn(t, script);
  for (const strategy of ['single', 'multi', 'mllm'] as const) await runStage(new RunStage({ strategy }), fixture.store, { services, config });
  const offline = ConfigSchema.parse({});
  await runStage(new RunStage({ strategy: 'single' }), fixture.store, { services: servicesFor(t, offline, fixture.store), config: offline, force: true });

  const [singleRequest] = server.requestsTo('chat');
  const sentPrompt = userContent(singleRequest!).text;
  const get = async (strategy: string, method: string): Promise<Generation> => (await fixture.store.get('generations', generationIdOf(fixture.queryId, strategy, method)))!;
  const single = await get('single', 'llm-single-stage');
  const multi = await get('multi', 'llm-multi-stage');
  const mllm = await get('mllm', 'mllm-single-stage');
  const extractive = await get('single', 'extractive');
  // The run records the single-stage prompt for every M2RAG input: sent for single, unsent for multi and the fallback.
  assert.equal(single.singleStagePrompt!.llm, sentPrompt);
  assert.deepEqual([single.singleStagePrompt!.sent, multi.singleStagePrompt!.sent, mllm.singleStagePrompt!.sent, extractive.singleStagePrompt!.sent], [true, false, true, false]);
  assert.equal(multi.singleStagePrompt!.llm, sentPrompt, 'the same kept input gives the same single-stage prompt');
  assert.deepEqual(single.singleStagePrompt!.imageIds, [fixture.imageIds.piano, fixture.imageIds.georgia]);

  const b = fixture.store.batch();
  b.put('evalResults', judged(single.id, GOOD));
  b.put('evalResults', { ...judged(single.id, {}), id: 'e-no-judge', images: undefined, method: 'no-judge' });
  b.put('evalResults', judged(multi.id, { ...GOOD, image_coherence: 0.5 }));
  const { image_helpfulness: _failed, ...withoutHelpfulness } = GOOD;
  b.put('evalResults', judged(mllm.id, withoutHelpfulness, { image_helpfulness: 1 }));
  b.put('evalResults', judged(extractive.id, GOOD));
  await b.write();

  const out = path.join(await tempDir(t), 'lf');
  const summary = await exportDataset(fixture.store, { format: 'llama-factory', outDir: out, sharegptMinMetric: 0.7 });
  assert.deepEqual(summary.counts, {
    generations: 4,
    taken: 1,
    'left out: below-minimum:image_coherence': 1,
    'left out: extractive-answer': 1,
    'left out: judgment-failed:image_helpfulness': 1,
  });
  const info = JSON.parse(await readFile(path.join(out, 'dataset_info.json'), 'utf8'));
  const tags = { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant', system_tag: 'system' };
  assert.deepEqual(info, {
    'M2RAG-LLM': { file_name: 'llm/llama_factory.json', formatting: 'sharegpt', columns: { messages: 'messages' }, tags },
    'M2RAG-MLLM': { file_name: 'mllm/llama_factory.json', formatting: 'sharegpt', columns: { messages: 'messages', images: 'images' }, tags },
  });
  const answer = { role: 'assistant', content: `\`\`\`markdown\n${single.output}\n\`\`\`` };
  const m2rag = { generation_id: single.id, query_id: fixture.queryId, strategy: 'single' };
  const llm = JSON.parse(await readFile(path.join(out, info['M2RAG-LLM'].file_name), 'utf8'));
  assert.deepEqual(llm, [{ id: '0', messages: [{ role: 'user', content: sentPrompt }, answer], m2rag }]);
  assert.doesNotMatch(llm[0].messages[0].content, /<image>/);
  assert.match(llm[0].messages[0].content, /!\[Ray Charles playing a grand piano on stage\]\(images\/0\.jpg\)/);

  const [sample] = JSON.parse(await readFile(path.join(out, info['M2RAG-MLLM'].file_name), 'utf8'));
  assert.deepEqual(Object.keys(sample), ['id', 'messages', 'images', 'm2rag']);
  assert.deepEqual(sample.messages[1], answer);
  const user: string = sample.messages[0].content;
  assert.equal(user.split('<image>').length - 1, sample.images.length);
  assert.deepEqual(sample.images, [`images/${fixture.imageIds.piano}.jpg`, `images/${fixture.imageIds.georgia}.jpg`]);
  assert.match(user, /\n!\[<image>\]\(images\/0\.jpg\)\n[\s\S]*\n!\[<image>\]\(images\/1\.jpg\)\n/);
  assert.doesNotMatch(user, /grand piano on stage/, 'the vision variant carries the image, not its caption');
  for (const file of sample.images as string[]) await access(path.join(out, file));
});

test("the filter follows the reference: nothing cited passes the precision metrics, recall and missing records decide", () => {
  const prompt = { llm: 'p', mllm: 'q ![<image>](images/0.jpg)', imageIds: ['a'], sent: true };
  const generation = { id: 'g', queryId: 'q', strategy: 'single', method: 'llm-single-stage', status: 'ok', inputs: { chunkIds: [], imageIds: ['a'] }, output: 'x', citedImageIds: [], latencyMs: 0, provenance: PROVENANCE, singleStagePrompt: prompt } satisfies Generation;
  assert.equal(leftOutReason(generation, [judged('g', { image_recall: 1 })], 0.7), undefined, 'no image judged: a mean of nothing is never below 0.7');
  assert.equal(leftOutReason(generation, [judged('g', { image_recall: 0 })], 0.7), 'below-minimum:image_recall');
  assert.equal(leftOutReason(generation, [judged('g', { ...GOOD, image_reference: 0.69 })], 0.7), 'below-minimum:image_reference');
  assert.equal(leftOutReason(generation, [], 0.7), 'not-evaluated');
  assert.equal(leftOutReason(generation, [{ ...judged('g', GOOD), images: undefined }], 0.7), 'images-not-judged');
  assert.equal(leftOutReason({ ...generation, singleStagePrompt: undefined }, [judged('g', GOOD)], 0.7), 'no-single-stage-prompt');
  assert.equal(leftOutReason({ ...generation, singleStagePrompt: { ...prompt, imageIds: [] } }, [judged('g', GOOD)], 0.7), 'image-token-count-mismatch');
  assert.equal(leftOutReason({ ...generation, status: 'failed' }, [judged('g', GOOD)], 0.7), 'generation-failed');
});

test("the samples are shuffled as Python's random.seed(3407); random.shuffle does it", () => {
  // python3 -c "import random; x=list(range(13)); random.seed(3407); random.shuffle(x); print(x)"
  assert.deepEqual(pythonShuffle([...Array(13).keys()], 3407), [12, 9, 8, 1, 7, 4, 10, 11, 3, 5, 2, 6, 0]);
});
