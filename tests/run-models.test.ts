// The model-judged paths against a local stand-in for a remote OpenAI-compatible API
// (tests/helpers/openai-server.ts): M2RAG rubric scoring, RagVL Yes/No reranking, the run stage
// (single- and multi-stage generation), the eval stage with an LLM judge (every metric checked
// against its value worked out by hand) and the ShareGPT export, on a real LevelDB store holding
// real images from the Wikipedia mirror. Bad replies (no integer, no Yes/No token, a citation of an
// image that does not exist) must be counted, never crash, never score 0.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { loadModels } from '../src/models/registry.js';
import { formatEvalReport } from '../src/cli/commands/eval.js';
import { EvalStage, judgeNameOf, summarizeEvaluation } from '../src/runner/evaluate.js';
import { rerank } from '../src/runner/rerank.js';
import { RunStage } from '../src/runner/run.js';
import { runStage } from '../src/core/stage.js';
import { createScoreStage } from '../scorers/score-stage.js';
import { exportDataset } from '../storage/export/index.js';
import { chatReply, startOpenAiServer, userContent, type ScriptedReply } from './helpers/openai-server.js';
import { buildRunFixture, CAPTIONS, PAGE_ID, standInConfig, subjectOf, type ImageName } from './helpers/run-fixture.js';
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
  if (subject !== 'text') return chatReply(`Score: ${{ piano: 9, georgia: 8, logo: 2 }[subject]}`);
  if (text.startsWith('Scale:')) return chatReply('7');
  if (text.startsWith('Answer the question using the web page passages and the images')) return chatReply(SINGLE_ANSWER);
  if (text.startsWith('Answer the question using the web page passages below')) return chatReply('Ray Charles was a pianist.\n\nHe learned the piano at three.');
  if (text.includes('Before which paragraph')) return chatReply(text.includes('Image: Ray Charles playing') ? 'Paragraph 2' : '0');
  if (text.startsWith('Rewrite this paragraph')) return chatReply('As the image shows, he learned the piano at three.');
  if (text.includes('Rate the fluency')) return chatReply('Fluent. 8');
  if (text.includes('Rate how relevant')) return chatReply('9');
  if (text.includes('how coherent')) return chatReply('8');
  if (text.includes('help a reader')) return chatReply('Helpful: 7');
  if (text.includes('refers to and makes use')) return chatReply('I would rather not say.');
  if (text.includes('Was this passage useful')) return chatReply(text.includes('signature song') ? 'No' : 'Yes');
  if (text.includes('Can the statement be inferred')) return chatReply(text.includes('Statement: He recorded Georgia') ? 'No' : 'Yes');
  return chatReply('unexpected prompt');
}

test('run stage (single and multi stage), eval stage with an LLM judge: every metric its hand-computed value; the ShareGPT export', async (t) => {
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

  const single = await runStage(new RunStage({ strategy: 'single' }), fixture.store, { services, config });
  assert.deepEqual([single.queries, single.failed, single.counts.generations], [1, 0, 1]);
  assert.equal(single.counts['citations-repeated'], 1);
  assert.equal(single.counts['citations-out-of-range'], 1);
  const generation = (await fixture.store.get('generations', generationIdOf(fixture.queryId, 'single', 'llm-single-stage')))!;
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

  // The query is done for `run`; another strategy over it is a forced redo.
  const multi = await runStage(new RunStage({ strategy: 'multi' }), fixture.store, { services, config, force: true });
  assert.deepEqual([multi.counts['images-placed'], multi.counts['images-not-placed']], [1, 1]);
  const multiGeneration = (await fixture.store.get('generations', generationIdOf(fixture.queryId, 'multi', 'llm-multi-stage')))!;
  assert.equal(
    multiGeneration.output,
    'Ray Charles was a pianist.\n\n![Ray Charles playing a grand piano on stage](images/1.jpg)\n*Figure 1: Ray Charles playing a grand piano on stage*\n\nAs the image shows, he learned the piano at three.',
  );

  const labels = new Map([[fixture.queryId, { relevantImageIds: [piano, logo], answer: 'pianist', keywords: ['piano', 'childhood', 'Georgia', 'organ'] }]]);
  const evaluated = await runStage(new EvalStage({ strategy: 'single', labels }), fixture.store, { services, config });
  assert.equal(evaluated.counts['generations-evaluated'], 1);
  assert.equal(evaluated.counts['failed:judgment-reference'], 1, 'a judge reply without an integer is a failed judgment');
  assert.equal(await fixture.store.isStageDone('eval', fixture.queryId), false, 'so the query is judged again by the next run');

  const report = await summarizeEvaluation(fixture.store, { judge: judgeNameOf(await services.models()), strategy: 'single' });
  assert.deepEqual([report.generations, report.notEvaluated, report.judge], [1, 0, 'openai-compatible:stand-in']);
  const mean = (metric: string) => report.m2rag[metric]!.mean;
  assert.equal(mean('fluency'), 0.8);
  assert.equal(mean('relevance'), 0.9);
  assert.equal(mean('imageCoherence'), 0.8);
  assert.equal(mean('helpfulness'), 0.7);
  assert.deepEqual(report.m2rag.reference, { mean: undefined, n: 0, failed: 1 });
  // Passages in retrieval order: useful, not useful (the signature song), useful: (1/1 + 2/3) / 2.
  assert.ok(Math.abs(mean('contextPrecision')! - 5 / 6) < 1e-12);
  // Two statements ("He was a pianist." is too short), the Georgia one unsupported.
  assert.equal(mean('faithfulness'), 0.5);
  // Both inputs scored ≥ 8 (9 and 8), one cited.
  assert.equal(mean('imageRecall'), 0.5);
  assert.ok(Math.abs(mean('overall')! - (0.8 + 0.9 + 5 / 6 + 0.5 + 0.8 + 0.7 + 0.5) / 7) < 1e-12);
  // Relevant = piano and the portrait: one of the two inputs, both among the three candidates.
  assert.deepEqual(report.retrieval, { labels: 'labels-file', n: 2, k: 3, precision: 0.5, recall: 0.5, f1: 0.5, recallAtK: 1, queries: 1 });
  // "pianist" is not the whole answer; piano, childhood and Georgia are in it, organ is not.
  assert.deepEqual(report.qa, { exactMatch: 0, keywordAccuracy: 0.75, queries: 1 });
  assert.deepEqual(report.failedReasons, { 'reference: no integer in reply': 1 });
  const table = formatEvalReport(report);
  assert.match(table, /^reference\s+—\s+0\s+1$/m);
  assert.match(table, /^fluency\s+0\.800\s+1\s+0$/m);
  assert.match(table, /^contextPrecision\s+0\.833\s+1\s+0$/m);
  assert.match(table, /^overall\s+0\.719\s+1\s+0$/m);

  // ShareGPT takes only generations whose image metrics are all ≥ 0.7: the single-stage one lacks `reference`.
  const out = path.join(dir, 'sharegpt');
  const summary = await exportDataset(fixture.store, { format: 'sharegpt', outDir: out, sharegptMinMetric: 0.7, settings: {} });
  assert.equal(summary.counts.taken, 0);
  assert.equal(summary.counts['left out: metric-missing:reference'], 1);
  assert.equal(summary.counts['left out: not-evaluated'], 1);
  assert.deepEqual(JSON.parse(await readFile(path.join(out, 'sharegpt.json'), 'utf8')), []);
});

test('an adaptive threshold needs a dev set with both correct and incorrect candidates: otherwise one clear error', async (t) => {
  const fixture = await buildRunFixture(await tempDir(t));
  t.after(() => fixture.store.close());
  const server = await startOpenAiServer({
    chat: (request): ScriptedReply => chatReply('Yes', { logprobs: subjectOf(request) === 'piano' ? { Yes: -0.1, No: -2.5 } : { Yes: -2.5, No: -0.1 } }),
  });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  const stage = new RunStage({ strategy: 'text', devLabels: new Map([[fixture.queryId, { relevantImageIds: [fixture.imageIds.piano] }]]) });
  await assert.rejects(
    runStage(stage, fixture.store, { services: servicesFor(t, config, fixture.store), config }),
    /dev set: cannot compute a threshold: need at least 2 correct and 2 incorrect labelled scores \(got 1 and 2\)/,
  );
});
