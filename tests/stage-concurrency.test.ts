// Queries at once: the describe stage with a vision model runs models.concurrency queries together
// against the local OpenAI-format stand-in (tests/helpers/openai-server.ts, standing in for a vision
// endpoint; it answers after a delay with a fixed function of the request). Every query of the
// fixture has one image to describe, so two requests in flight at once come from two queries. The
// records must equal a one-query-at-a-time run's, and a run stopped mid-way (an abort, or SIGKILL
// to the CLI) must leave each query wholly done or untouched, and be completed by the next run.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { ConfigSchema } from '../src/core/config.js';
import { InterruptedError, runStage } from '../src/core/stage.js';
import { DescribeStage } from '../processors/describe/stage.js';
import { processImagesStage } from '../processors/images/stage.js';
import { ProcessTextStage } from '../processors/text/stage.js';
import { CorpusStore, occurrencesOfQuery, queryIdOf } from '../storage/index.js';
import { runCli } from './helpers/cli.js';
import { assertSameStore, stopAfter, storeSnapshot } from './helpers/crash-harness.js';
import { addMirrorPage } from './helpers/mirror-store.js';
import { chatReply, startOpenAiServer, userContent, type OpenAiServer } from './helpers/openai-server.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';

const CONCURRENCY = 3;
const REPLY_DELAY_MS = 150;

/** Query → the one mirror page (and the one image kept on it) it found. The last query found the first one's page too. */
const QUERIES: Array<[query: string, file: string, image: string]> = [
  ['Ray Charles statue', 'Ray_Charles.html', 'Greenville_FL_Hays_Park_Ray_Charles_statue02.jpg'],
  ['Georgia on My Mind cover', 'Georgia_on_My_Mind.html', 'Ray_C._Geor.jpg'],
  ['Hit the Road Jack single', 'Hit_the_Road_Jack.html', 'RaCharles_HTRJ.png'],
  ["What'd I Say single", "What'd_I_Say.html", 'Whatdisaycharles.jpg'],
  ['Quincy Jones portrait', 'Quincy_Jones.html', 'Quincy_Jones_May_2014.jpg'],
  ['statue of Ray Charles in Greenville', 'Ray_Charles.html', 'Greenville_FL_Hays_Park_Ray_Charles_statue02.jpg'],
];

const configOf = (concurrency: number) => ConfigSchema.parse({ models: { concurrency, describeMethod: 'vision-model', retryDelayMs: 5, maxRetries: 1 } });

/**
 * The stand-in, one for the file (its URL is part of every model cache key, so the stores compare
 * equal only when they talked to the same one): counts the requests in flight, and answers each
 * after a delay with a function of the request.
 */
let server: OpenAiServer;
const flight = { now: 0, peak: 0, onRequest: (): void => undefined };
function resetStandIn(onRequest: () => void = () => undefined): void {
  Object.assign(flight, { now: 0, peak: 0, onRequest });
  server.requests.length = 0;
}

function visionEnv(): Record<string, string> {
  return { M2RAG_VISION_URL: server.url, M2RAG_VISION_MODEL: 'stand-in-vl' };
}

/** A processed store (closed) holding the queries and their pages, as crawl and process leave it. */
let fixtureDir: string;
before(async () => {
  server = await startOpenAiServer({
    chat: async (request) => {
      flight.onRequest();
      flight.peak = Math.max(flight.peak, ++flight.now);
      await new Promise((resolve) => setTimeout(resolve, REPLY_DELAY_MS));
      flight.now--;
      const { text, images } = userContent(request);
      return chatReply(`An image, described — ${createHash('sha256').update(text).update(images.join()).digest('hex').slice(0, 12)}.`);
    },
  });
  fixtureDir = await mkdtemp(path.join(tmpdir(), 'm2rag-concurrency-'));
  const store = await CorpusStore.open(fixtureDir);
  for (const [query, file, image] of QUERIES) {
    const id = queryIdOf(query);
    await store.batch().put('queries', { id, query, createdAt: new Date().toISOString() }).markStageDone('crawl', id).write();
    await addMirrorPage(store, id, file, { only: [image] });
  }
  // The mirror keeps Wikipedia's thumbnails (a few KB each): the 20 KB floor would drop them all.
  const processConfig = ConfigSchema.parse({ images: { minBytes: 0 } });
  for (const stage of [new ProcessTextStage(), processImagesStage]) assert.equal((await runStage(stage, store, { config: processConfig })).failed, 0);
  await store.close();
});
after(async () => {
  await server.close();
  await rm(fixtureDir, { recursive: true, force: true });
});

async function copyOfFixture(t: TestContext): Promise<string> {
  const dir = path.join(await tempDir(t), 'store');
  await cp(fixtureDir, dir, { recursive: true });
  return dir;
}

async function describeIn(t: TestContext, dir: string, concurrency: number, signal?: AbortSignal) {
  const store = await CorpusStore.open(dir);
  try {
    const config = configOf(concurrency);
    return await runStage(new DescribeStage(), store, { config, services: servicesFor(t, config, store, visionEnv()), signal });
  } finally {
    await store.close();
  }
}

/** The store after a one-query-at-a-time run: what every other run must equal. */
let reference: Record<string, string[]>;
test('one query at a time: one request in flight, every query described, the shared page described once', async (t) => {
  const dir = await copyOfFixture(t);
  resetStandIn();
  const report = await describeIn(t, dir, 1);
  assert.equal(report.failed, 0);
  assert.equal(report.counts.queries, QUERIES.length);
  assert.equal(report.counts['described:vision-model'], QUERIES.length - 1);
  assert.equal(report.counts['already-described'], 1, 'the query that found the first page again reuses its description');
  assert.equal(flight.peak, 1);
  reference = await storeSnapshot(dir);
  assert.equal(reference.descriptions!.length, QUERIES.length - 1);
});

test(`${CONCURRENCY} queries at once: requests of several queries are in flight together, never more than models.concurrency, and the records equal the one-at-a-time run's`, async (t) => {
  const dir = await copyOfFixture(t);
  resetStandIn();
  const report = await describeIn(t, dir, CONCURRENCY);
  assert.equal(report.failed, 0);
  assert.equal(report.counts.queries, QUERIES.length);
  // Each query has one image to describe: more than one request in flight means more than one query.
  assert.ok(flight.peak > 1, `requests in flight at once: ${flight.peak}`);
  assert.ok(flight.peak <= CONCURRENCY, `requests in flight at once: ${flight.peak}, above models.concurrency`);
  assert.equal(server.requestsTo('chat').length, QUERIES.length - 1, 'the shared page is described once');
  assertSameStore(await storeSnapshot(dir), reference, 'concurrent run');
});

/** Asserts that the stored descriptions are exactly those of the queries marked done (whole or untouched). */
async function assertQueriesWholeOrUntouched(dir: string, label: string): Promise<number> {
  const store = await CorpusStore.open(dir);
  try {
    const stored = new Set<string>();
    for await (const description of store.iterate('descriptions')) stored.add(description.occurrenceId!);
    const expected = new Set<string>();
    let done = 0;
    for (const [query] of QUERIES) {
      const id = queryIdOf(query);
      if (!(await store.isStageDone('describe', id))) continue;
      done++;
      for (const occurrence of await occurrencesOfQuery(store, id)) expected.add(occurrence.id);
    }
    assert.deepEqual([...stored].sort(), [...expected].sort(), `${label}: the descriptions stored are those of the done queries`);
    return done;
  } finally {
    await store.close();
  }
}

test('an abort mid-run: the queries in flight commit, none starts, each is wholly done or untouched, and a rerun completes the store', async (t) => {
  const dir = await copyOfFixture(t);
  const abort = new AbortController();
  // Aborted as the second request arrives: the first queries are in flight, the rest not started.
  resetStandIn(() => server.requests.length === 2 && abort.abort());
  await assert.rejects(describeIn(t, dir, CONCURRENCY, abort.signal), InterruptedError);
  const done = await assertQueriesWholeOrUntouched(dir, 'after the abort');
  assert.ok(done >= 1 && done < QUERIES.length, `queries done after the abort: ${done}`);
  const rerun = await describeIn(t, dir, CONCURRENCY);
  assert.equal(rerun.counts.queries, QUERIES.length - done);
  assertSameStore(await storeSnapshot(dir), reference, 'abort, then rerun');
});

test('SIGKILL to the describe command after its first query lands: each query wholly done or untouched, and the same command completes the store', async (t) => {
  const dir = await copyOfFixture(t);
  resetStandIn();
  const configFile = path.join(path.dirname(dir), 'concurrency.yaml');
  await writeFile(configFile, `models:\n  concurrency: ${CONCURRENCY}\n  describeMethod: vision-model\n  retryDelayMs: 5\n  maxRetries: 1\n`);
  const args = ['--store', dir, '--config', configFile, 'describe'];
  const stopped = await stopAfter(args, 'describe', 1, 'SIGKILL', visionEnv());
  assert.equal(stopped.signal, 'SIGKILL');
  const done = await assertQueriesWholeOrUntouched(dir, 'after SIGKILL');
  assert.ok(done >= 1 && done < QUERIES.length, `queries done after SIGKILL: ${done}`);
  const again = await runCli(args, { env: visionEnv() });
  assert.equal(again.code, 0, again.stderr);
  assertSameStore(await storeSnapshot(dir), reference, 'SIGKILL, then the same command');
});
