// The stage contract of `run` and `eval` on a real store, with models at the local OpenAI-format
// stand-in: a failed generation is recorded with its reason, retried by the next run and never
// replaces an answer; a done query is skipped (nothing sent, nothing rewritten) until `force`;
// shards split the queries; an eval whose judge failed part-way resumes with the queries it did not
// finish, leaving the judged ones as they are.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runStage } from '../src/core/stage.js';
import { EvalStage, judgeNameOf, summarizeEvaluation } from '../src/runner/evaluate.js';
import { RunStage } from '../src/runner/run.js';
import { chatReply, errorReply, startOpenAiServer, userContent, type RecordedRequest, type ScriptedReply } from './helpers/openai-server.js';
import { buildRunFixture, QUERIES, standInConfig, subjectOf } from './helpers/run-fixture.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { evalResultIdOf, generationIdOf, inShard } from '../storage/index.js';

const ANSWERS: Record<string, string> = {
  [QUERIES.piano.query]: 'Ray Charles played the piano from childhood.',
  [QUERIES.georgia.query]: 'Georgia on My Mind was his signature song from 1960.',
};

/** Rerank: only the piano image is relevant. Generation: the question's answer. Judge: 8 and Yes throughout. */
function reply(request: RecordedRequest): ScriptedReply {
  const { text } = userContent(request);
  if (request.body.max_tokens === 1) return chatReply('Yes', { logprobs: subjectOf(request) === 'piano' ? { Yes: -0.05, No: -3 } : { Yes: -3, No: -0.05 } });
  if (text.startsWith('Answer the question')) return chatReply(ANSWERS[text.match(/^Question: (.*)$/m)![1]!]!);
  if (text.includes('Reply "Yes" or "No"')) return chatReply('Yes');
  return chatReply('Score: 8');
}

const textAnswerOf = (queryId: string) => generationIdOf(queryId, 'text', 'llm-text-only');

test('a failed generation is recorded with its reason and retried; a done query is skipped; a failed redo never replaces an answer', async (t) => {
  const fixture = await buildRunFixture(await tempDir(t));
  t.after(() => fixture.store.close());
  let modelDown = true;
  const server = await startOpenAiServer({
    chat: (request) => (modelDown && userContent(request).text.startsWith('Answer the question') ? errorReply(500, 'model overloaded') : reply(request)),
  });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  const services = servicesFor(t, config, fixture.store);
  const run = (force = false) => runStage(new RunStage({ strategy: 'text' }), fixture.store, { services, config, force });
  const stored = () => fixture.store.get('generations', textAnswerOf(fixture.queryId));

  let report = await run();
  assert.deepEqual([report.queries, report.failed, report.counts['failed:generation']], [1, 1, 1]);
  const failed = (await stored())!;
  assert.deepEqual([failed.status, failed.output], ['failed', '']);
  assert.match(failed.reason!, /^http: .*500/);
  assert.deepEqual(failed.inputs.imageIds, [fixture.imageIds.piano], 'the retrieval behind the failure is kept');
  assert.equal(await fixture.store.isStageDone('run', fixture.queryId), false);

  modelDown = false;
  report = await run();
  assert.deepEqual([report.skipped, report.queries, report.failed], [0, 1, 0], 'the failed query is retried');
  const answer = (await stored())!;
  assert.deepEqual([answer.status, answer.reason, answer.output], ['ok', undefined, ANSWERS[QUERIES.piano.query]]);
  assert.equal(await fixture.store.isStageDone('run', fixture.queryId), true);

  const sent = server.requests.length;
  report = await run();
  assert.deepEqual([report.skipped, report.queries], [1, 0], 'a second run does nothing');
  assert.equal(server.requests.length, sent, 'and sends nothing');
  assert.deepEqual(await stored(), answer, 'and rewrites nothing');

  modelDown = true;
  report = await run(true);
  assert.deepEqual([report.queries, report.failed, report.counts['earlier-generation-kept']], [1, 1, 1]);
  assert.deepEqual(await stored(), answer, 'a failed redo keeps the answer');

  modelDown = false;
  await new Promise((resolve) => setTimeout(resolve, 5));
  report = await run(true);
  assert.equal(report.failed, 0);
  const redone = (await stored())!;
  assert.equal(redone.output, answer.output);
  assert.ok(redone.provenance.at > answer.provenance.at, 'a forced run redoes the answer');
  const stats = (await fixture.store.stageStats()).find((s) => s.stage === 'run')!;
  assert.deepEqual([stats.runs, stats.counts['failed:generation'], stats.counts.generations, stats.counts['queries-already-done']], [5, 2, 2, 1]);
});

test('run shards: each rank answers only its queries, and together they answer all', async (t) => {
  const fixture = await buildRunFixture(await tempDir(t), { bothQueries: true });
  t.after(() => fixture.store.close());
  const server = await startOpenAiServer({ chat: reply });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  const services = servicesFor(t, config, fixture.store);
  const answered = async () => {
    const ids: string[] = [];
    for await (const g of fixture.store.iterate('generations')) ids.push(g.queryId);
    return ids.sort();
  };
  // q-piano hashes into shard 0 of 2, q-georgia into shard 1.
  assert.ok(inShard(QUERIES.piano.id, { rank: 0, worldSize: 2 }) && inShard(QUERIES.georgia.id, { rank: 1, worldSize: 2 }));
  const first = await runStage(new RunStage({ strategy: 'text' }), fixture.store, { services, config, shard: { rank: 0, worldSize: 2 } });
  assert.equal(first.queries, 1);
  assert.deepEqual(await answered(), [QUERIES.piano.id]);
  await runStage(new RunStage({ strategy: 'text' }), fixture.store, { services, config, shard: { rank: 1, worldSize: 2 } });
  assert.deepEqual(await answered(), [QUERIES.georgia.id, QUERIES.piano.id]);
});

test('an eval whose judge failed part-way resumes with the unfinished query only; the table covers both', async (t) => {
  const fixture = await buildRunFixture(await tempDir(t), { bothQueries: true });
  t.after(() => fixture.store.close());
  let judgeDownForGeorgia = false;
  const aboutGeorgia = (text: string) => text.includes(QUERIES.georgia.query) || text.includes(ANSWERS[QUERIES.georgia.query]!);
  const server = await startOpenAiServer({
    chat: (request) => {
      const { text } = userContent(request);
      const judging = !text.startsWith('Answer the question') && request.body.max_tokens !== 1;
      return judgeDownForGeorgia && judging && aboutGeorgia(text) ? errorReply(500, 'judge unavailable') : reply(request);
    },
  });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  const services = servicesFor(t, config, fixture.store);
  await runStage(new RunStage({ strategy: 'text' }), fixture.store, { services, config });
  const judge = judgeNameOf(await services.models());
  const resultOf = (queryId: string) => fixture.store.get('evalResults', evalResultIdOf(textAnswerOf(queryId), judge));

  judgeDownForGeorgia = true;
  const first = await runStage(new EvalStage(), fixture.store, { services, config });
  assert.deepEqual([first.queries, first.failed], [2, 1]);
  assert.equal(await fixture.store.isStageDone('eval', QUERIES.piano.id), true);
  assert.equal(await fixture.store.isStageDone('eval', QUERIES.georgia.id), false);
  assert.deepEqual((await resultOf(QUERIES.georgia.id))!.failed, { fluency: 1, relevance: 1, contextPrecision: 1, faithfulness: 1 });
  const judged = await resultOf(QUERIES.piano.id);

  judgeDownForGeorgia = false;
  const before = server.requests.length;
  const resumed = await runStage(new EvalStage(), fixture.store, { services, config });
  assert.deepEqual([resumed.skipped, resumed.queries, resumed.failed], [1, 1, 0]);
  const resent = server.requests.slice(before).map((r) => userContent(r).text);
  assert.ok(resent.length > 0 && resent.every(aboutGeorgia), 'only the unfinished query was judged again');
  assert.deepEqual(await resultOf(QUERIES.piano.id), judged, 'the judged query is left as it was');

  const report = await summarizeEvaluation(fixture.store, { judge });
  assert.deepEqual([report.generations, report.notEvaluated], [2, 0]);
  assert.deepEqual(report.m2rag.fluency, { mean: 0.8, n: 2, failed: 0 });
  assert.deepEqual(report.m2rag.faithfulness, { mean: 1, n: 2, failed: 0 });
  assert.deepEqual(report.failedReasons, {});
});
