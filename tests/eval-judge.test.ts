// The eval stage against the local OpenAI-format stand-in server (tests/helpers/openai-server.ts),
// on a real store: the requests the judges get are counted and read — one per cited image and image
// metric, carrying that image's stored bytes and the answer's text around it; fluency and relevancy
// once each; context precision once per retrieved context; faithfulness as a decomposition then one
// verdict request. The stored results give the hand-computed metrics, a failed judgment keeps the
// query for the next run, a done query is skipped; and offline, `m2rag eval` prints "—" for overall.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigSchema } from '../src/core/config.js';
import { runStage } from '../src/core/stage.js';
import { formatEvalReport } from '../src/cli/commands/eval.js';
import { EvalStage, judgeNameOf, summarizeEvaluation } from '../src/runner/evaluate.js';
import { imageDataUrl } from '../src/models/image-input.js';
import { runCli } from './helpers/cli.js';
import { chatReply, startOpenAiServer, userContent, type RecordedRequest, type ScriptedReply } from './helpers/openai-server.js';
import { buildRunFixture, CAPTIONS, PAGE_ID, standInConfig, type RunFixture } from './helpers/run-fixture.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { chunkIdOf, evalResultIdOf, generationIdOf, scoreIdOf } from '../storage/index.js';

const AT = '2026-01-01T00:00:00.000Z';
const ANSWER =
  'Ray Charles played the piano from the age of three.\n\n![Ray at the piano](images/1.jpg)\n*Figure 1: Ray at the piano*\n\n' +
  'Georgia on My Mind became his signature song in 1960.\n\n![Betty Carter](images/3.jpg)\n*Figure 2: Betty Carter*\n\nHe toured widely.';
const GENERATION_ID = generationIdOf('q-piano', 'single', 'llm-single-stage');

/** A stored single-stage answer over the fixture's page: inputs piano, georgia, logo (scored 9, 8, 2); it cites piano and logo. */
async function storeAnswer(fixture: RunFixture): Promise<void> {
  const { piano, georgia, logo } = fixture.imageIds;
  const batch = fixture.store.batch();
  for (const [imageId, finalScore] of [[piano, 9], [georgia, 8], [logo, 2]] as const) {
    batch.put('scores', { id: scoreIdOf(fixture.queryId, 'image', imageId), queryId: fixture.queryId, elementKind: 'image', elementId: imageId, status: 'ok', components: { vlm: finalScore }, finalScore, kept: true, method: 'vision-model', provenance: { provider: 'p', model: 'm', inputHash: 'h', at: AT } });
  }
  // The earlier stages are done for the query, as `build` and `run` leave it.
  for (const stage of ['crawl', 'process-text', 'process-images', 'describe', 'score']) batch.markStageDone(stage, fixture.queryId, {});
  batch.put('generations', {
    id: GENERATION_ID,
    queryId: fixture.queryId,
    strategy: 'single',
    method: 'llm-single-stage',
    status: 'ok',
    inputs: { chunkIds: [0, 1, 2].map((i) => chunkIdOf(PAGE_ID, i)), imageIds: [piano, georgia, logo] },
    output: ANSWER,
    citedImageIds: [piano, logo],
    latencyMs: 1,
    provenance: { provider: 'openai-compatible', model: 'stand-in', inputHash: 'h', at: AT },
  });
  await batch.write();
}

const METRIC_OF: Array<[RegExp, string]> = [
  [/how coherent the image is/, 'image_coherence'],
  [/how much the image helps/, 'image_helpfulness'],
  [/refers to or explains the image/, 'image_reference'],
  [/Judge how fluent/, 'fluency'],
  [/how relevant the document below is/, 'response_relevancy'],
  [/^Decide whether the context below was useful/, 'context_precision'],
  [/^Break the answer below into statements/, 'statements'],
  [/^For each numbered statement/, 'verdicts'],
];

const kindOf = (request: RecordedRequest): string => METRIC_OF.find(([pattern]) => pattern.test(userContent(request).text))?.[1] ?? 'unknown';

/** The stand-in judge: piano scores 9/8/7, the portrait 3/2 and, until `referenceFixed`, a reply without a score. */
function judgeScript(fixture: RunFixture, state: { referenceFixed: boolean; pianoUrl: string }) {
  return (request: RecordedRequest): ScriptedReply => {
    const { text, images } = userContent(request);
    const kind = kindOf(request);
    const piano = images[0] === state.pianoUrl;
    switch (kind) {
      case 'image_coherence':
        return chatReply(`The image fits.\n${piano ? 9 : 3}`);
      case 'image_helpfulness':
        return chatReply(`Helps a reader.\n${piano ? 8 : 2}`);
      case 'image_reference':
        return chatReply(piano ? 'Named in the text.\n7' : state.referenceFixed ? 'Never mentioned.\n0' : 'I cannot tell.');
      case 'fluency':
        return chatReply('Reads well on a 0-10 scale.\n8');
      case 'response_relevancy':
        return chatReply('On topic.\n9');
      case 'context_precision':
        // The page and the portrait's description were useful, the piano's not: verdicts 1, 0, 1 in context order.
        return chatReply(JSON.stringify({ reason: 'r', verdict: text.includes(CAPTIONS.piano) && !text.includes('weather') ? 0 : 1 }));
      case 'statements':
        return chatReply(JSON.stringify({ statements: ['Ray Charles played the piano from age three.', 'Georgia on My Mind became the signature song of Ray Charles in 1960.', 'Ray Charles toured widely.'] }));
      case 'verdicts':
        return chatReply('```json\n' + JSON.stringify({ statements: [1, 1, 0].map((verdict, i) => ({ statement: `s${i}`, reason: 'r', verdict })) }) + '\n```');
      default:
        throw new Error(`unexpected request: ${text.slice(0, 80)}`);
    }
  };
}

test('the judges get one request per cited image and metric, with its bytes and context; the stored result is the hand-computed one', async (t) => {
  const fixture = await buildRunFixture(await tempDir(t));
  t.after(() => fixture.store.close());
  await storeAnswer(fixture);
  const { piano, logo } = fixture.imageIds;
  const bytesOf = async (id: string) => (await fixture.store.imageBytes((await fixture.store.get('images', id))!, { prefer: 'thumbnail' }))!;
  // The stored bytes as the vision provider sends every image: fit to 512×512, as a JPEG data URL.
  const dataUrl = async (id: string) => imageDataUrl(await bytesOf(id));
  const state = { referenceFixed: false, pianoUrl: await dataUrl(piano) };
  const server = await startOpenAiServer({ chat: judgeScript(fixture, state) });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  const services = servicesFor(t, config, fixture.store);

  const first = await runStage(new EvalStage(), fixture.store, { services, config });
  assert.deepEqual([first.queries, first.failed, first.counts['failed:judgment-image_reference']], [1, 1, 1]);
  assert.equal(await fixture.store.isStageDone('eval', fixture.queryId), false, 'a failed judgment leaves the query for the next run');

  const requests = server.requestsTo('chat');
  const byKind = (kind: string) => requests.filter((r) => kindOf(r) === kind);
  assert.deepEqual(
    Object.fromEntries(['fluency', 'response_relevancy', 'context_precision', 'statements', 'verdicts', 'image_coherence', 'image_helpfulness', 'image_reference'].map((k) => [k, byKind(k).length])),
    { fluency: 1, response_relevancy: 1, context_precision: 3, statements: 1, verdicts: 1, image_coherence: 2, image_helpfulness: 2, image_reference: 2 },
  );
  assert.equal(requests.length, 13, 'nothing else was sent');
  const imageRequests = requests.filter((r) => userContent(r).images.length > 0);
  assert.equal(imageRequests.length, 6, 'only the image metrics carry an image');
  assert.ok(imageRequests.every((r) => r.body.model === 'stand-in-vl'), 'the image metrics go to the vision model');
  const contextAbove = { [piano]: 'Ray Charles played the piano from the age of three.', [logo]: 'Georgia on My Mind became his signature song in 1960.' };
  const contextBelow = { [piano]: 'Georgia on My Mind became his signature song in 1960.\n\nHe toured widely.', [logo]: 'He toured widely.' };
  for (const id of [piano, logo]) {
    const url = await dataUrl(id);
    const mine = imageRequests.filter((r) => userContent(r).images[0] === url);
    assert.equal(mine.length, 3, 'three requests per cited image, one per metric');
    for (const request of mine) {
      const parts = request.body.messages[0].content as Array<{ type: string; text?: string }>;
      assert.deepEqual(parts.map((p) => p.type), ['text', 'image_url', 'text'], 'the image between the text above and below it');
      assert.equal(userContent(request).images.length, 1);
      assert.ok(parts[0]!.text!.includes(contextAbove[id]!), 'the text above the image precedes it');
      assert.ok(parts[2]!.text!.includes(contextBelow[id]!), 'the text below follows it');
    }
  }
  assert.doesNotMatch(userContent(byKind('fluency')[0]!).text, /images\/|Figure/, 'the text metrics judge the answer without its images');

  const judge = judgeNameOf(await services.models());
  assert.equal(judge, 'openai-compatible:stand-in+vision:openai-compatible:stand-in-vl');
  const result = (await fixture.store.get('evalResults', evalResultIdOf(GENERATION_ID, judge)))!;
  const metrics = result.metrics;
  assert.deepEqual([metrics.fluency, metrics.response_relevancy, metrics.faithfulness], [0.8, 0.9, 2 / 3]);
  assert.ok(Math.abs(metrics.context_precision! - 5 / 6) < 1e-12, 'verdicts 1, 0, 1: (1/1 + 2/3) / 2');
  assert.deepEqual(result.images, [
    { imageId: piano, metrics: { image_coherence: 0.9, image_helpfulness: 0.8, image_reference: 0.7 } },
    { imageId: logo, metrics: { image_coherence: 0.3, image_helpfulness: 0.2 }, reasons: { image_reference: 'no integer in reply: "I cannot tell."' } },
  ]);
  // Positives: piano (9) and georgia (8), of which the answer cites piano.
  assert.deepEqual([metrics.image_recall, result.positiveImages], [0.5, 2]);

  const report = await summarizeEvaluation(fixture.store, { judge });
  const reference = (0.8 + 0.9 + 5 / 6 + 2 / 3 + 0.6 + 0.5 + 0.35 + 0.5) / 8;
  assert.ok(Math.abs(report.overall.reference! - reference) < 1e-12, `overall ${report.overall.reference}`);
  assert.equal(report.overall.failedJudgments, 1);
  const judgedOnly = (0.8 + 0.9 + 5 / 6 + 2 / 3 + 0.6 + 0.5 + 0.7 + 0.5) / 8;
  assert.match(formatEvalReport(report), new RegExp(`^overall\\s+${reference.toFixed(3)} {3}judged-only ${judgedOnly.toFixed(3)} {3}failed judgments 1$`, 'm'));

  state.referenceFixed = true;
  const second = await runStage(new EvalStage(), fixture.store, { services, config });
  assert.deepEqual([second.queries, second.failed], [1, 0]);
  assert.equal(await fixture.store.isStageDone('eval', fixture.queryId), true);
  const sent = server.requests.length;
  const third = await runStage(new EvalStage(), fixture.store, { services, config });
  assert.deepEqual([third.skipped, third.queries, server.requests.length], [1, 0, sent], 'a done query is skipped and nothing is sent');
  const stats = (await fixture.store.stageStats()).find((s) => s.stage === 'eval')!;
  assert.equal(stats.counts['judged:image_reference'], 4);
  const fixed = await summarizeEvaluation(fixture.store, { judge });
  assert.deepEqual(fixed.m2rag.image_reference, { mean: 0.35, judgedMean: 0.35, n: 2, failed: 0 });
});

test('offline, `m2rag eval` judges nothing and prints "—" for overall with the reason', async (t) => {
  const dir = await tempDir(t);
  const fixture = await buildRunFixture(dir);
  await storeAnswer(fixture);
  await fixture.store.close();
  const offline = ConfigSchema.parse({});
  assert.equal(offline.models.llmUrl, undefined);
  const result = await runCli(['--store', path.join(dir, 'store'), 'eval']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^generations evaluated: 1 {3}judges: none$/m);
  assert.match(result.stdout, /^overall\s+— {3}nothing judged: no judge model configured/m);
  assert.doesNotMatch(result.stdout, /^overall\s+\d/m);
  assert.match(result.stdout, /^image_recall\s+0\.500\s+1\s+0\s+0\.500$/m);
  assert.match(result.stdout, /^fluency\s+— {3}not judged \(no LLM configured/m);
});
