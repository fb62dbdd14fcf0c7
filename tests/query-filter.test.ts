// Query intake (`filter-queries`): the reference's parse rules, the three-question flow against a
// local stand-in for an OpenAI-compatible server (named as such: it is not a real model), the
// stored verdicts with provenance, later stages skipping rejected queries, the labelled embedded
// fallback, and a dead endpoint failing fast.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigSchema, type Config } from '../src/core/config.js';
import { StageFailedError } from '../src/core/errors.js';
import type { Stage } from '../src/core/stage.js';
import { runStages } from '../src/cli/pipeline.js';
import { ModelRequestError } from '../src/models/errors.js';
import type { ModelServices } from '../src/models/services.js';
import { filterWithHeuristic, INTAKE_TOPICS, readCategories, readFlag, topicOf } from '../scorers/query-filter.js';
import { FilterQueriesStage } from '../scorers/query-filter-stage.js';
import { CorpusStore, type Query } from '../storage/index.js';
import { runCli } from './helpers/cli.js';
import { chatReply, errorReply, startOpenAiServer, userContent, type Script } from './helpers/openai-server.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';

const QUERIES: Record<string, string> = {
  q1: 'How did Ray Charles blend gospel and rhythm and blues into soul music?',
  q2: 'hello there',
  q3: 'What year was Ray Charles born?',
  q4: 'Why does the electoral college exist in the United States?',
  q5: 'How do photosynthesis and respiration differ in plants?',
};

/** The stand-in's scripted model: answers chosen per query and per question, as a real LLM would reply in two lines. */
const SCRIPT: Script = (request) => {
  const { text } = userContent(request);
  const asks = text.includes('# Categories') ? 'topic' : text.includes('pictures would make') ? 'images' : 'question';
  const query = Object.values(QUERIES).find((q) => text.includes(q)) ?? '';
  const replies: Record<string, Record<string, string>> = {
    [QUERIES.q1!]: { question: 'A real question about musical history.\n1', images: 'Album covers and photos would help.\n1', topic: 'Music history.\n8' },
    [QUERIES.q2!]: { question: 'A greeting, not a question.\n0' },
    [QUERIES.q3!]: { question: 'Asks for a birth date.\n1', images: 'A date needs no picture.\n0' },
    [QUERIES.q4!]: { question: 'Asks how an institution works.\n1', images: 'Maps help.\n1', topic: 'Government, also history and society.\n10 1' },
    // A reply with no integer in it: malformed, so recorded as a failure and retried.
    [QUERIES.q5!]: { question: 'I would rather not say.' },
  };
  return chatReply(replies[query]?.[asks] ?? 'no script for this');
};

function configWith(sections: Record<string, unknown> = {}): Config {
  return ConfigSchema.parse({ models: { retryDelayMs: 5, timeoutSecs: 5, cache: false }, ...sections });
}

async function storeWith(t: import('node:test').TestContext, ids: string[]): Promise<CorpusStore> {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  for (const id of ids) await store.put('queries', { id, query: QUERIES[id]!, createdAt: new Date().toISOString() });
  return store;
}

/** A stand-in for the crawl stage: records which queries it was given. */
function recordingCrawl(): Stage<ModelServices> & { seen: string[] } {
  const seen: string[] = [];
  return { name: 'crawl', seen, async runQuery(query: Query) { seen.push(query.id); } };
}

test('the reference parse rules: the first integer for 0/1 (anything else reads 0), every integer for categories with 0 and 11 overriding', () => {
  assert.equal(readFlag('Looks like a real question.\n1'), 1);
  assert.equal(readFlag('Not a question.\n0'), 0);
  assert.equal(readFlag('Unsure.\n2'), 0);
  // The rule reads the first integer anywhere in the reply, as the reference does (hence the prompt's "no digits in line 1").
  assert.equal(readFlag('About the 1960s.\n1'), 0);
  assert.throws(() => readFlag('I cannot tell.'), (e: unknown) => e instanceof ModelRequestError && e.kind === 'malformed');
  assert.deepEqual(readCategories('Music and culture.\n8 1'), [8, 1]);
  assert.deepEqual(readCategories('Mixed.\n3 0 5'), [0]);
  assert.deepEqual(readCategories('Nothing fits.\n4 11'), [11]);
  assert.throws(() => readCategories('no numbers'), (e: unknown) => e instanceof ModelRequestError && e.kind === 'malformed');
  assert.equal(topicOf([8, 1]), 'Entertainment & Music');
  assert.equal(topicOf([11]), 'Others');
  assert.equal(topicOf([0]), 'Others');
  assert.equal(INTAKE_TOPICS.length, 10);
});

test('filter-queries asks the stand-in in the reference order, stores verdicts with provenance, topic and level; later stages skip rejected queries', async (t) => {
  const server = await startOpenAiServer({ chat: SCRIPT });
  t.after(() => server.close());
  const store = await storeWith(t, ['q1', 'q2', 'q3', 'q4', 'q5']);
  const config = configWith({ filter: { enabled: true } });
  const services = servicesFor(t, config, store, { M2RAG_LLM_URL: server.url, M2RAG_LLM_MODEL: 'stand-in-llm' });
  const crawl = recordingCrawl();
  const options = { shard: { rank: 0, worldSize: 1 }, force: false, services };
  const [filter, crawled] = await runStages(store, config, [new FilterQueriesStage(), crawl], options);

  const accepted = (await store.get('queries', 'q1'))!;
  assert.equal(accepted.intake?.verdict, 'accepted');
  assert.equal(accepted.topic, 'Entertainment & Music');
  assert.equal(accepted.level, 1);
  assert.deepEqual(accepted.intake?.answers.map((a) => [a.question, a.indices]), [['is-question', [1]], ['needs-images', [1]], ['topic', [8]]]);
  const provenance = accepted.intake!.answers[2]!.provenance;
  assert.equal(provenance.model, 'stand-in-llm');
  assert.equal(provenance.promptVersion, 'v1');
  assert.match(provenance.inputHash, /^[0-9a-f]{64}$/);
  assert.equal((await store.get('queries', 'q4'))!.topic, 'Politics & Government');

  const notQuestion = (await store.get('queries', 'q2'))!;
  assert.deepEqual([notQuestion.intake?.verdict, notQuestion.intake?.reason, notQuestion.intake?.answers.length], ['rejected', 'not-a-question', 1]);
  assert.equal((await store.get('queries', 'q3'))!.intake?.reason, 'images-not-helpful');
  // Asked: q1 3, q2 1, q3 2, q4 3, q5 1.
  assert.equal(server.requestsTo('chat').length, 10);

  assert.equal((await store.get('queries', 'q5'))!.intake, undefined);
  assert.equal(await store.isStageDone('filter-queries', 'q5'), false);
  assert.equal(await store.isStageDone('filter-queries', 'q2'), true);
  assert.equal(filter!.counts['failed:malformed'], 1);
  assert.equal(filter!.counts['dropped:not-a-question'], 1);
  assert.equal(filter!.counts['dropped:images-not-helpful'], 1);
  assert.equal(filter!.counts.accepted, 2);

  // With the filter on, crawl takes the accepted queries, skips the rejected with their reason, and waits for q5.
  assert.deepEqual(crawl.seen.sort(), ['q1', 'q4']);
  assert.equal(crawled!.counts['queries-skipped:rejected-at-intake:not-a-question'], 1);
  assert.equal(crawled!.counts['queries-skipped:rejected-at-intake:images-not-helpful'], 1);
  assert.equal(crawled!.counts['queries-waiting-for:filter-queries'], 1);

  // With the filter off, crawl does not wait on it: the unfiltered query is crawled, the rejected ones stay skipped.
  const unfiltered = recordingCrawl();
  await runStages(store, configWith(), [unfiltered], options);
  assert.deepEqual(unfiltered.seen, ['q5']);
});

test('a failure share above models.maxFailureRate ends the stage non-zero, and the counts say what failed', async (t) => {
  // The stand-in refuses q4's first question with a 400 (not retried); q1's three calls succeed: 1 of 4 failed.
  const server = await startOpenAiServer({ chat: (request, n) => (userContent(request).text.includes(QUERIES.q4!) ? errorReply(400, 'model not found') : SCRIPT(request, n)) });
  t.after(() => server.close());
  const store = await storeWith(t, ['q1', 'q4']);
  const options = (config: Config, force = false) => ({ shard: { rank: 0, worldSize: 1 }, force, services: servicesFor(t, config, store, { M2RAG_LLM_URL: server.url, M2RAG_LLM_MODEL: 'stand-in-llm' }) });
  const strict = configWith({ filter: { enabled: true } });
  await assert.rejects(
    runStages(store, strict, [new FilterQueriesStage()], options(strict)),
    (error: unknown) => error instanceof StageFailedError && /filter-queries: 1 of 4 model calls failed \(25%, above the allowed 10%; first: http: .* answered 400/.test(error.message),
  );
  assert.equal(server.requestsTo('chat').length, 4);
  assert.equal((await store.stageStats()).find((stats) => stats.stage === 'filter-queries')?.lastRun?.['failed:http'], 1);
  // A looser share lets the same partial failure pass (forced, so q1 is asked again); q4 stays open for the next run.
  const loose = configWith({ filter: { enabled: true }, models: { retryDelayMs: 5, timeoutSecs: 5, cache: false, maxFailureRate: 0.5 } });
  const [report] = await runStages(store, loose, [new FilterQueriesStage()], options(loose, true));
  assert.equal(report!.counts['failed:http'], 1);
  assert.equal(await store.isStageDone('filter-queries', 'q4'), false);
});

test('the embedded fallback is labelled and conservative: it rejects only what is clearly not a question and names a topic only on clear evidence', () => {
  const empty = filterWithHeuristic(' ?! ');
  assert.deepEqual([empty.verdict, empty.reason, empty.method], ['rejected', 'not-a-question', 'embedded-heuristic']);
  const short = filterWithHeuristic('Georgia on My Mind song');
  assert.deepEqual([short.verdict, short.topic, short.level], ['accepted', 'Others', 3]);
  const music = filterWithHeuristic('Which album and song made Ray Charles a music star?');
  assert.deepEqual([music.verdict, music.topic, music.level], ['accepted', 'Entertainment & Music', 3]);
  assert.equal(music.answers[0]!.provenance.model, 'intake-heuristic');
  // Words of two topics: not confident, so Others.
  assert.equal(filterWithHeuristic('How did the government tax the music album and song sales?').topic, 'Others');
});

test('build --filter-queries against a closed port fails fast: no retries, exit 1, one line naming the endpoint and the error', async (t) => {
  const closed = await startOpenAiServer({});
  const url = closed.url;
  await closed.close();
  const dir = await tempDir(t);
  const queries = path.join(dir, 'queries.txt');
  await writeFile(queries, Object.values(QUERIES).slice(0, 4).join('\n') + '\n');
  const result = await runCli(['--store', path.join(dir, 'store'), 'build', '--filter-queries', '--queries', queries, '--search', 'seeds'], {
    env: { M2RAG_LLM_URL: url, M2RAG_LLM_MODEL: 'stand-in-llm', M2RAG_LOG_LEVEL: 'fatal' },
  });
  assert.equal(result.code, 1, result.stderr);
  const lines = result.stderr.trim().split('\n').filter((line) => line.includes('filter-queries: stopped'));
  assert.equal(lines.length, 1, result.stderr);
  assert.ok(lines[0]!.includes(url) && lines[0]!.includes('ECONNREFUSED') && lines[0]!.includes('3 requests in a row'), lines[0]);
  // Three refused connections, one request each, no retries; the fourth query was never asked.
  assert.match(result.stderr, /stand-in-llm: 3 requests \(0 cached, 3 failed, 0 retries\)/);
  assert.match(result.stderr, /failed:unreachable=3/);
});
