// The stage runner: resumable, idempotent and shardable, with counts stored per stage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir } from './helpers/temp.js';
import { loadConfig } from '../src/core/config.js';
import { ingestQueries, parseQueries } from '../src/core/queries.js';
import { InterruptedError, runStage, type Stage } from '../src/core/stage.js';
import { CorpusStore } from '../storage/index.js';

/** A real stage in miniature: one page record per query, under a stable id. */
function pageStage(calls: string[], failOn?: string): Stage {
  return {
    name: 'demo',
    async runQuery(query, ctx, counts) {
      calls.push(query.id);
      if (query.query === failOn) throw new Error('boom');
      await ctx.store.put('pages', {
        id: `page-${query.id}`,
        url: `http://x/${query.id}`,
        finalUrl: `http://x/${query.id}`,
        fetchedAt: new Date().toISOString(),
        htmlBytes: 0,
        rendered: false,
      });
      counts.add('pages');
    },
  };
}

test('running a stage twice adds nothing and skips done queries; a failed query is retried', async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const config = await loadConfig(undefined);
  const { queries } = parseQueries('q.txt', 'alpha\nbeta\ngamma\n');
  await ingestQueries(store, queries);
  assert.deepEqual(await ingestQueries(store, queries), { added: 0, existing: 3 });

  const first: string[] = [];
  const report1 = await runStage(pageStage(first, 'gamma'), store, { config });
  assert.equal(first.length, 3);
  assert.equal(report1.failed, 1);
  assert.equal(await store.count('pages'), 2);

  const second: string[] = [];
  const report2 = await runStage(pageStage(second), store, { config });
  assert.equal(second.length, 1, 'only the failed query runs again');
  assert.equal(report2.skipped, 2);
  assert.equal(await store.count('pages'), 3);
  assert.equal(await store.count('queries'), 3);

  const third: string[] = [];
  await runStage(pageStage(third), store, { config, force: true });
  assert.equal(third.length, 3);
  assert.equal(await store.count('pages'), 3, 'forced re-run writes the same records');
  const stats = await store.stageStats();
  assert.equal(stats[0]!.runs, 3);
  assert.equal(stats[0]!.counts.pages, 6);
  assert.equal(stats[0]!.counts['queries-failed'], 1);
});

test('shards of a stage together cover every query exactly once', async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const config = await loadConfig(undefined);
  const { queries } = parseQueries('q.txt', Array.from({ length: 20 }, (_, i) => `query ${i}`).join('\n'));
  await ingestQueries(store, queries);
  const calls: string[] = [];
  for (let rank = 0; rank < 4; rank++) await runStage(pageStage(calls), store, { config, shard: { rank, worldSize: 4 } });
  assert.equal(calls.length, 20);
  assert.equal(new Set(calls).size, 20);
});

test('a stage waits for the stages it requires, and redoing a query clears the later stages for it', async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const config = await loadConfig(undefined);
  const { queries } = parseQueries('q.txt', 'alpha\nbeta\n');
  await ingestQueries(store, queries);
  const [alpha, beta] = queries.map((q) => q.id) as [string, string];
  await store.batch().markStageDone('upstream', alpha).write();

  const calls: string[] = [];
  const report = await runStage(pageStage(calls), store, { config, requires: ['upstream'] });
  assert.deepEqual(calls, [alpha]);
  assert.equal(report.counts['queries-waiting-for:upstream'], 1);
  assert.equal(await store.isStageDone('demo', beta), false, 'a waiting query is not marked done');

  await store.batch().markStageDone('downstream', alpha).write();
  await runStage(pageStage([]), store, { config, force: true, invalidates: ['downstream'] });
  assert.equal(await store.isStageDone('downstream', alpha), false);
});

test("a query's records and its done marker land in one batch: a query whose work throws leaves nothing, a done one leaves both", async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const config = await loadConfig(undefined);
  await ingestQueries(store, parseQueries('q.txt', 'alpha\nbeta\n').queries);
  const ids: Record<string, string> = {};
  for await (const q of store.iterate('queries')) ids[q.query] = q.id;
  const page = (id: string) => ({ id, url: `http://x/${id}`, finalUrl: `http://x/${id}`, fetchedAt: new Date().toISOString(), htmlBytes: 0, rendered: false });
  const seenWorking: string[][] = [];
  const batched: Stage = {
    name: 'batched',
    async setup(ctx) {
      seenWorking.push([...(ctx.working ?? [])].sort());
    },
    async runQuery(query, _ctx, _counts, batch) {
      batch.put('pages', page(`page-${query.id}`));
      if (query.query === 'beta') throw new Error('killed mid-query');
    },
  };
  await runStage(batched, store, { config });
  assert.equal(await store.has('pages', `page-${ids.alpha}`), true);
  assert.equal(await store.isStageDone('batched', ids.alpha!), true);
  assert.equal(await store.has('pages', `page-${ids.beta}`), false, 'the thrown query wrote nothing');
  assert.equal(await store.isStageDone('batched', ids.beta!), false);
  await runStage(batched, store, { config });
  // The second run works on beta alone: alpha is settled.
  assert.deepEqual(seenWorking, [[ids.alpha, ids.beta].sort(), [ids.beta]]);
});

test('a query the interrupt stops part-way is left unmarked and uncounted; one that finished is done', async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const config = await loadConfig(undefined);
  await ingestQueries(store, parseQueries('q.txt', 'alpha\nbeta\n').queries);
  const controller = new AbortController();
  const seen: string[] = [];
  const stage: Stage = {
    name: 'demo',
    async runQuery(query, ctx, counts) {
      seen.push(query.query);
      if (seen.length === 2) {
        controller.abort();
        // What a stage does when the interrupt comes in the middle of a query's work.
        if (ctx.signal.aborted) throw new InterruptedError('demo');
      }
      counts.add('pages');
    },
  };
  await assert.rejects(runStage(stage, store, { config, signal: controller.signal }), InterruptedError);
  assert.equal(seen.length, 2);
  const done: Record<string, boolean> = {};
  for await (const query of store.iterate('queries')) done[query.query] = await store.isStageDone('demo', query.id);
  assert.deepEqual(done, { [seen[0]!]: true, [seen[1]!]: false });
  const [stats] = await store.stageStats();
  assert.deepEqual(stats?.lastRun, { pages: 1, queries: 1 }, 'the interrupted query counts neither as failed nor its partial work');
});
