// The stage contract of `run` and `eval` on a real store (scored by the real score stage), with
// models at the local OpenAI-format stand-in: a failed generation is recorded with its reason,
// retried by the next run and never replaces an answer; a query done for a strategy
// (`run:<strategy>`) is skipped (nothing sent, nothing rewritten) until `force`; shards split the
// queries; an eval whose judge failed part-way resumes with the queries it did not finish, leaving
// the judged ones as they are.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runStage } from '../src/core/stage.js';
import { EvalStage, judgeNameOf, summarizeEvaluation } from '../src/runner/evaluate.js';
import { RunStage } from '../src/runner/run.js';
import { chatReply, errorReply, startOpenAiServer, userContent, type RecordedRequest, type ScriptedReply } from './helpers/openai-server.js';
import { buildRunFixture, QUERIES, scoredFixtureWithStandIn, scoreRunFixture, standInConfig, subjectOf } from './helpers/run-fixture.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { evalResultIdOf, generationIdOf, inShard } from '../storage/index.js';

const ANSWERS: Record<string, string> = {
  [QUERIES.piano.query]: 'Ray Charles played the piano from childhood.',
  [QUERIES.georgia.query]: 'Georgia on My Mind was his signature song from 1960.',
};

/** The answer a judge prompt is about (its one statement, word for word). */
const answerIn = (text: string) => Object.values(ANSWERS).find((answer) => text.includes(answer)) ?? '';

/**
 * Rerank: only the piano image is relevant. Generation: the question's answer. Judge, by the reply
 * format its prompt asks for: every context useful, the answer one statement and supported, else a score of 8.
 */
function reply(request: RecordedRequest): ScriptedReply {
  const { text } = userContent(request);
  if (request.body.max_tokens === 1) return chatReply('Yes', { logprobs: subjectOf(request) === 'piano' ? { Yes: -0.05, No: -3 } : { Yes: -3, No: -0.05 } });
  if (text.startsWith('Answer the question')) return chatReply(ANSWERS[text.match(/^Question: (.*)$/m)![1]!]!);
  if (text.includes('{"reason": "<one sentence>", "verdict": 1}')) return chatReply(JSON.stringify({ reason: 'It was used.', verdict: 1 }));
  if (text.includes('{"statements": ["<statement>", ...]}')) return chatReply(JSON.stringify({ statements: [answerIn(text)] }));
  if (text.includes('{"statements": [{"statement"')) return chatReply(JSON.stringify({ statements: [{ statement: answerIn(text), reason: 'In the context.', verdict: 1 }] }));
  return chatReply('A fair document.\nScore: 8');
}

/** The text strategy's done marker: each strategy has its own. */
const RUN_TEXT = 'run:text';
const textAnswerOf = (queryId: string) => generationIdOf(queryId, 'text', 'llm-text-only');

test('a failed generation is recorded with its reason and retried; a done query is skipped; a failed redo never replaces an answer', async (t) => {
  const fixture = await buildRunFixture(await tempDir(t));
  t.after(() => fixture.store.close());
  await scoreRunFixture(t, fixture);
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
  assert.equal(await fixture.store.isStageDone(RUN_TEXT, fixture.queryId), false);

  modelDown = false;
  report = await run();
  assert.deepEqual([report.skipped, report.queries, report.failed], [0, 1, 0], 'the failed query is retried');
  const answer = (await stored())!;
  assert.deepEqual([answer.status, answer.reason, answer.output], ['ok', undefined, ANSWERS[QUERIES.piano.query]]);
  assert.equal(await fixture.store.isStageDone(RUN_TEXT, fixture.queryId), true);

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
  const stats = (await fixture.store.stageStats()).find((s) => s.stage === RUN_TEXT)!;
  assert.deepEqual([stats.runs, stats.counts['failed:generation'], stats.counts.generations, stats.counts['queries-already-done']], [5, 2, 2, 1]);
});

test('run shards: each rank answers only its queries, and together they answer all', async (t) => {
  const { fixture, config, services } = await scoredFixtureWithStandIn(t, reply, { bothQueries: true });
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
  await scoreRunFixture(t, fixture);
  // One failed judgment of the Georgia answer: one, so that the endpoint is not taken for down
  // (three failures in a row would stop every request to it, the piano query's too).
  let georgiaFailuresLeft = 0;
  const aboutGeorgia = (text: string) => text.includes(QUERIES.georgia.query) || text.includes(ANSWERS[QUERIES.georgia.query]!);
  const server = await startOpenAiServer({
    chat: (request) => {
      const { text } = userContent(request);
      const judging = !text.startsWith('Answer the question') && request.body.max_tokens !== 1;
      if (georgiaFailuresLeft > 0 && judging && aboutGeorgia(text)) {
        georgiaFailuresLeft--;
        return errorReply(500, 'judge unavailable');
      }
      return reply(request);
    },
  });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  const services = servicesFor(t, config, fixture.store);
  await runStage(new RunStage({ strategy: 'text' }), fixture.store, { services, config });
  const judge = judgeNameOf(await services.models());
  const resultOf = (queryId: string) => fixture.store.get('evalResults', evalResultIdOf(textAnswerOf(queryId), judge));

  georgiaFailuresLeft = 1;
  const first = await runStage(new EvalStage(), fixture.store, { services, config });
  assert.deepEqual([first.queries, first.failed], [2, 1]);
  assert.equal(await fixture.store.isStageDone('eval', QUERIES.piano.id), true);
  assert.equal(await fixture.store.isStageDone('eval', QUERIES.georgia.id), false);
  const unfinished = (await resultOf(QUERIES.georgia.id))!;
  assert.equal(Object.values(unfinished.failed ?? {}).reduce((a, b) => a + b, 0), 1);
  assert.ok(Object.values(unfinished.reasons ?? {}).some((reason) => /judge unavailable/.test(reason)));
  const judged = await resultOf(QUERIES.piano.id);

  const before = server.requests.length;
  const resumed = await runStage(new EvalStage(), fixture.store, { services, config });
  assert.deepEqual([resumed.skipped, resumed.queries, resumed.failed], [1, 1, 0]);
  const resent = server.requests.slice(before).map((r) => userContent(r).text);
  assert.ok(resent.length > 0 && resent.every(aboutGeorgia), 'only the unfinished query was judged again');
  assert.deepEqual(await resultOf(QUERIES.piano.id), judged, 'the judged query is left as it was');

  const report = await summarizeEvaluation(fixture.store, { judge });
  assert.deepEqual([report.generations, report.notEvaluated], [2, 0]);
  const summary = (metric: 'fluency' | 'faithfulness') => [report.m2rag[metric].mean, report.m2rag[metric].n, report.m2rag[metric].failed];
  assert.deepEqual(summary('fluency'), [0.8, 2, 0]);
  assert.deepEqual(summary('faithfulness'), [1, 2, 0]);
  assert.deepEqual(report.failedReasons, {});
});
