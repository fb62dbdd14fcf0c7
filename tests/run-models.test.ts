// The model-judged paths against a local stand-in for a remote OpenAI-compatible API
// (tests/helpers/openai-server.ts): M2RAG rubric scoring, RagVL Yes/No reranking, the run stage
// (ragvl; single, multi and mllm are in run-generation.test.ts), the eval stage with an LLM judge
// (every metric checked against its value worked out by hand) and the ShareGPT export, on a real LevelDB store holding
// real images from the Wikipedia mirror. Bad replies (no integer, no Yes/No token, a citation of an
// image that does not exist) must be counted, never crash, never score 0.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModels } from '../src/models/registry.js';
import { rerank } from '../src/runner/rerank.js';
import { RunStage } from '../src/runner/run.js';
import { runStage } from '../src/core/stage.js';
import { createScoreStage } from '../scorers/score-stage.js';
import { chatReply, startOpenAiServer, userContent, type ScriptedReply } from './helpers/openai-server.js';
import { buildRunFixture, CAPTIONS, PAGE_ID, scoreRunFixture, standInConfig, subjectOf, type ImageName } from './helpers/run-fixture.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { chunkIdOf, generationIdOf, scoreIdOf } from '../storage/index.js';

test('score stage with a remote LLM and vision model: rubric scores, failed judgments counted and never kept', async (t) => {
  const fixture = await buildRunFixture(await tempDir(t));
  t.after(() => fixture.store.close());
  const server = await startOpenAiServer({
    chat: (request): ScriptedReply => {
      const subject = subjectOf(request);
      const { text } = userContent(request);
      if (subject === 'piano') return chatReply('The image shows him at the piano. Score: 9');
      if (subject === 'georgia') return chatReply('Somewhat related: 4');
      if (subject === 'logo') return chatReply('I cannot rate this image.');
      if (text.includes('weather')) return chatReply('Unrelated. 1');
      if (text.includes('signature song')) return chatReply('Hard to say without more context.');
      return chatReply('On a scale of 0 to 10, this is a 12');
    },
  });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  const report = await runStage(createScoreStage(), fixture.store, { services: servicesFor(t, config, fixture.store), config });
  assert.equal(report.failed, 1, 'a query with failed judgments is incomplete');
  assert.equal(await fixture.store.isStageDone('score', fixture.queryId), false, 'and stays unmarked for a retry');
  assert.equal(report.counts['failed:chunk-judgment'], 1);
  assert.equal(report.counts['failed:image-judgment'], 1);
  assert.equal(report.counts['chunks-kept'], 1);
  assert.equal(report.counts['images-kept'], 2);

  const score = (kind: 'chunk' | 'image', id: string) => fixture.store.get('scores', scoreIdOf(fixture.queryId, kind, id));
  const first = (await score('chunk', chunkIdOf('p-ray', 0)))!;
  assert.deepEqual([first.status, first.finalScore, first.kept, first.method], ['ok', 10, true, 'llm-rubric']);
  const noInteger = (await score('chunk', chunkIdOf('p-ray', 1)))!;
  assert.equal(noInteger.status, 'failed');
  assert.equal(noInteger.finalScore, undefined);
  assert.equal(noInteger.kept, false);
  assert.match(noInteger.reason!, /no integer/);
  const weather = (await score('chunk', chunkIdOf('p-ray', 2)))!;
  assert.deepEqual([weather.finalScore, weather.kept, weather.reason], [1, false, 'below-threshold']);
  const logo = (await score('image', fixture.imageIds.logo))!;
  assert.deepEqual([logo.status, logo.kept], ['failed', false]);
  assert.equal((await score('image', fixture.imageIds.piano))!.finalScore, 9);
  // Image requests carried the image; text requests did not.
  const visionRequests = server.requestsTo('chat').filter((r) => userContent(r).images.length === 1);
  assert.equal(visionRequests.length, 3);
  assert.ok(visionRequests.every((r) => r.body.model === 'stand-in-vl'));

  // The next run retries the incomplete query: the same replies fail the same way, and are counted again.
  const before = server.requestsTo('chat').length;
  const again = await runStage(createScoreStage(), fixture.store, { services: servicesFor(t, config, fixture.store), config });
  assert.deepEqual([again.skipped, again.failed], [0, 1]);
  assert.ok(server.requestsTo('chat').length > before);
  assert.equal(again.counts['failed:chunk-judgment'], 1);
});

test('RagVL rerank: P(Yes)/(P(Yes)+P(No)) per candidate, one token each, concurrently; a reply without Yes/No is a counted failure', async (t) => {
  const fixture = await buildRunFixture(await tempDir(t));
  t.after(() => fixture.store.close());
  let inFlight = 0;
  let maxInFlight = 0;
  const server = await startOpenAiServer({
    chat: async (request): Promise<ScriptedReply> => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
      const subject = subjectOf(request);
      if (subject === 'piano') return chatReply('Yes', { logprobs: { Yes: Math.log(0.9), No: Math.log(0.1) } });
      if (subject === 'georgia') return chatReply('no', { logprobs: { ' no': Math.log(0.7), ' yes': Math.log(0.3) } });
      return chatReply('Maybe', { logprobs: { Maybe: -0.1, Perhaps: -3 } });
    },
  });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  const models = await loadModels(config, fixture.store);
  t.after(() => models.dispose());
  const images = new Map(
    Object.entries(fixture.imageIds).map(([name, id]) => [
      id,
      { imageId: id, ext: 'jpg', description: CAPTIONS[name as ImageName], context: '', descriptionMethod: 'vision-model' },
    ]),
  );
  const hits = Object.values(fixture.imageIds).map((id, i) => ({ id, score: 0.5 - i * 0.1 }));
  const result = await rerank(models, fixture.store, 'Ray Charles piano', hits, images, { topN: 2, threshold: 0.5, fallbackThreshold: 0.25, imageMethod: 'description-embedding' });
  assert.equal(result.method, 'ragvl-yes-no');
  assert.equal(result.requests, 3);
  assert.equal(result.failed, 1);
  assert.deepEqual(result.kept, [fixture.imageIds.piano], 'georgia (0.3) is under the 0.5 threshold');
  const byId = new Map(result.candidates.map((c) => [c.imageId, c]));
  assert.ok(Math.abs(byId.get(fixture.imageIds.piano)!.relevance! - 0.9) < 1e-9);
  assert.ok(Math.abs(byId.get(fixture.imageIds.georgia)!.relevance! - 0.3) < 1e-9);
  assert.match(byId.get(fixture.imageIds.logo)!.reason!, /no Yes\/No token/);
  for (const request of server.requestsTo('chat')) {
    assert.equal(request.body.max_tokens, 1, 'stops at the first token');
    assert.equal(request.body.logprobs, true);
    assert.ok(request.body.top_logprobs >= 2);
  }
  assert.ok(maxInFlight > 1, `candidates were sent concurrently (max in flight ${maxInFlight})`);
});

const SINGLE_ANSWER =
  'Ray Charles played the piano from childhood. He recorded Georgia on My Mind in 1960.\n\n![Ray at the piano](images/1.jpg)\n\nHe was a pianist. ![again](images/1.jpg) ![ghost](images/7.png)';

/** Replies for scoring, reranking, generation and judging; the rerank relevances are P(Yes) = 1 / (1 + e^(No − Yes)). */
function fullScript(request: Parameters<typeof subjectOf>[0]): ScriptedReply {
  const subject = subjectOf(request);
  const { text } = userContent(request);
  if (request.body.max_tokens === 1) {
    // Piano 0.950 and sheet music 0.731 pass the 0.5 threshold; the portrait (0.050) does not.
    const logprobs: Record<string, Record<string, number>> = { piano: { Yes: -0.05, No: -3 }, georgia: { Yes: -0.5, No: -1.5 }, logo: { Yes: -3, No: -0.05 } };
    return chatReply('Yes', { logprobs: logprobs[subject] });
  }
  if (subject !== 'text') return chatReply(`Score: ${{ piano: 9, georgia: 8, logo: 2, poster: 0 }[subject]}`);
  if (text.startsWith('Scale:')) return chatReply('7');
  if (text.startsWith('Answer the question using the web page passages and the images')) return chatReply(SINGLE_ANSWER);
  if (text.includes('Rate the fluency')) return chatReply('Fluent. 8');
  if (text.includes('Rate how relevant')) return chatReply('9');
  if (text.includes('how coherent')) return chatReply('8');
  if (text.includes('help a reader')) return chatReply('Helpful: 7');
  if (text.includes('refers to and makes use')) return chatReply('I would rather not say.');
  if (text.includes('Was this passage useful')) return chatReply(text.includes('signature song') ? 'No' : 'Yes');
  if (text.includes('Can the statement be inferred')) return chatReply(text.includes('Statement: He recorded Georgia') ? 'No' : 'Yes');
  return chatReply('unexpected prompt');
}

test('run stage (ragvl) with an LLM: reranked inputs, parsed citations, the stored answer', async (t) => {
  const dir = await tempDir(t);
  const fixture = await buildRunFixture(dir);
  t.after(() => fixture.store.close());
  const server = await startOpenAiServer({ chat: fullScript });
  t.after(() => server.close());
  const config = standInConfig(server.url, { run: { contextChunks: 3 } });
  const services = servicesFor(t, config, fixture.store);
  const { piano, georgia, logo } = fixture.imageIds;
  await runStage(createScoreStage(), fixture.store, { services, config });
  const imageScores = await fixture.store.getMany('scores', [piano, georgia, logo].map((id) => scoreIdOf(fixture.queryId, 'image', id)));
  assert.deepEqual(imageScores.map((score) => score!.finalScore), [9, 8, 2]);

  const single = await runStage(new RunStage({ strategy: 'ragvl' }), fixture.store, { services, config });
  assert.deepEqual([single.queries, single.failed, single.counts.generations], [1, 0, 1]);
  assert.equal(single.counts['citations-repeated'], 1);
  assert.equal(single.counts['citations-out-of-range'], 1);
  const generation = (await fixture.store.get('generations', generationIdOf(fixture.queryId, 'ragvl', 'llm-ragvl')))!;
  assert.equal(generation.status, 'ok');
  assert.deepEqual(generation.inputs.imageIds, [piano, georgia], 'reranked: piano, then the sheet music; the portrait is under the threshold');
  assert.deepEqual(generation.inputs.chunkIds, [0, 1, 2].map((i) => chunkIdOf(PAGE_ID, i)));
  assert.deepEqual(generation.citedImageIds, [piano]);
  assert.equal(
    generation.output,
    'Ray Charles played the piano from childhood. He recorded Georgia on My Mind in 1960.\n\n![Ray at the piano](images/1.jpg)\n*Figure 1: Ray at the piano*\n\nHe was a pianist.',
  );
  assert.ok(generation.usage!.promptTokens > 0);
  assert.equal(generation.retrieval!.rerankMethod, 'ragvl-yes-no');

  // Judging this answer is tests/eval-judge.test.ts's subject (the M2RAG protocol, per cited image).
});

test('an adaptive threshold needs a dev set with both correct and incorrect candidates: otherwise one clear error', async (t) => {
  const fixture = await buildRunFixture(await tempDir(t));
  t.after(() => fixture.store.close());
  await scoreRunFixture(t, fixture);
  const server = await startOpenAiServer({
    chat: (request): ScriptedReply => chatReply('Yes', { logprobs: subjectOf(request) === 'piano' ? { Yes: -0.1, No: -2.5 } : { Yes: -2.5, No: -0.1 } }),
  });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  const stage = new RunStage({ strategy: 'text', devLabels: new Map([[fixture.queryId, { relevantImageIds: [fixture.imageIds.piano] }]]) });
  // Only the two images the score stage kept are candidates (the portrait it dropped is not): one correct, one incorrect.
  await assert.rejects(
    runStage(stage, fixture.store, { services: servicesFor(t, config, fixture.store), config }),
    /dev set: cannot compute a threshold: need at least 2 correct and 2 incorrect labelled scores \(got 1 and 1\)/,
  );
});
