// The crawl run's request queues (crawlers/fetch/crawl-queue-storage.ts): their order, dedup, locks
// and counts, that a handled request leaves memory, and that a Crawlee crawler over one handles
// every request once and finishes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { getRequestId, log, LogLevel } from '@crawlee/core';
import { BasicCrawler } from '@crawlee/cheerio';
import type { RequestQueueClient, RequestSchema } from '@crawlee/types';
import { crawleeConfigFor } from '../crawlers/fetch/crawlee-configuration.js';
import { CrawlQueueStorage, CrawlRequestQueue, WorkQueueClient } from '../crawlers/fetch/crawl-queue-storage.js';
import { tempDir } from './helpers/temp.js';

log.setLevel(LogLevel.OFF);

async function openQueue(): Promise<RequestQueueClient> {
  const storage = new CrawlQueueStorage({ persistStorage: false });
  const { id } = await storage.requestQueues().getOrCreate('test');
  return storage.requestQueue(id);
}

const requestFor = (name: string): RequestSchema => ({ url: `https://example.com/${name}`, uniqueKey: `q1 https://example.com/${name}` });

const namesOf = (items: Array<{ url: string }>) => items.map((item) => item.url.slice('https://example.com/'.length));

/** Takes everything waiting, locked for a minute. */
async function takeAll(queue: RequestQueueClient): Promise<string[]> {
  return namesOf((await queue.listAndLockHead({ limit: 25, lockSecs: 60 })).items);
}

async function handle(queue: RequestQueueClient, id: string): Promise<void> {
  const request = (await queue.getRequest(id)) as unknown as RequestSchema & { id: string };
  await queue.updateRequest({ ...request, handledAt: new Date().toISOString() });
}

test('requests come out first in, first out; forefront ones first, the latest first', async () => {
  const queue = await openQueue();
  for (const name of ['a', 'b', 'c']) await queue.addRequest(requestFor(name));
  await queue.addRequest(requestFor('d'), { forefront: true });
  await queue.batchAddRequests([requestFor('e'), requestFor('f')], { forefront: true });
  await queue.batchAddRequests([requestFor('g')]);
  assert.deepEqual(namesOf((await queue.listHead()).items), ['f', 'e', 'd', 'a', 'b', 'c', 'g']);
  assert.deepEqual(namesOf((await queue.listHead({ limit: 2 })).items), ['f', 'e'], 'listing the head locks nothing');
  assert.deepEqual(namesOf((await queue.listAndLockHead({ limit: 3, lockSecs: 60 })).items), ['f', 'e', 'd']);
  assert.deepEqual(await takeAll(queue), ['a', 'b', 'c', 'g']);
});

test('a unique key is held once while it waits or is in progress; once handled it may come again', async () => {
  const queue = await openQueue();
  const first = await queue.addRequest(requestFor('a'));
  assert.deepEqual(first, { requestId: getRequestId(requestFor('a').uniqueKey), wasAlreadyPresent: false, wasAlreadyHandled: false }, "the id is Crawlee's cache key");
  assert.deepEqual(await queue.addRequest(requestFor('a')), { ...first, wasAlreadyPresent: true });
  const batch = await queue.batchAddRequests([requestFor('a'), requestFor('b')]);
  assert.deepEqual(
    batch.processedRequests.map((processed) => [processed.uniqueKey, processed.wasAlreadyPresent, processed.wasAlreadyHandled]),
    [
      [requestFor('a').uniqueKey, true, false],
      [requestFor('b').uniqueKey, false, false],
    ],
  );
  assert.deepEqual(await takeAll(queue), ['a', 'b']);
  assert.equal((await queue.addRequest(requestFor('a'))).wasAlreadyPresent, true, 'in progress, it is still held');
  assert.deepEqual(await takeAll(queue), []);
  await handle(queue, first.requestId);
  assert.equal((await queue.addRequest(requestFor('a'))).wasAlreadyPresent, false, 'the store, not the queue, knows what was handled');
  assert.deepEqual(await takeAll(queue), ['a']);
});

test('a locked request waits again once its lock expires or is deleted, not while it is prolonged', async () => {
  const queue = await openQueue();
  const ids = [];
  for (const name of ['a', 'b', 'c']) ids.push((await queue.addRequest(requestFor(name))).requestId);
  const locked = await queue.listAndLockHead({ limit: 2, lockSecs: 60 });
  assert.deepEqual([namesOf(locked.items), locked.queueHasLockedRequests], [['a', 'b'], true]);
  assert.deepEqual(await takeAll(queue), ['c']);
  const none = await queue.listAndLockHead({ limit: 25, lockSecs: 60 });
  assert.deepEqual([none.items, none.queueHasLockedRequests], [[], true], 'nothing waits, but the queue is not done');

  await queue.deleteRequestLock(ids[1]!);
  await queue.deleteRequestLock(ids[2]!, { forefront: true });
  assert.deepEqual(await takeAll(queue), ['c', 'b'], 'an unlocked request goes last, or first with `forefront`');
  await assert.rejects(queue.deleteRequestLock('no-such-id'));

  const brief = await queue.addRequest(requestFor('brief'));
  const prolonged = await queue.addRequest(requestFor('prolonged'));
  assert.deepEqual(namesOf((await queue.listAndLockHead({ limit: 25, lockSecs: 0.05 })).items), ['brief', 'prolonged']);
  const { lockExpiresAt } = await queue.prolongRequestLock(prolonged.requestId, { lockSecs: 60 });
  assert.ok(lockExpiresAt.getTime() > Date.now() + 50_000);
  await sleep(100);
  assert.deepEqual(await takeAll(queue), ['brief'], 'the expired lock, not the prolonged one');

  await handle(queue, brief.requestId);
  await assert.rejects(queue.prolongRequestLock(brief.requestId, { lockSecs: 60 }), /handled or deleted/);
  const emptied = await queue.listAndLockHead({ limit: 25, lockSecs: 60 });
  assert.equal(emptied.queueHasLockedRequests, true, 'a, b, c and prolonged are still locked');
});

test('a handled request leaves the queue at once; only the counts remain', async () => {
  const queue = await openQueue();
  const ids = [];
  for (let i = 0; i < 1_000; i++) ids.push((await queue.addRequest(requestFor(`page-${i}`))).requestId);
  for (let taken = 0; taken < 1_000; taken += 25) {
    const { items } = await queue.listAndLockHead({ limit: 25, lockSecs: 60 });
    for (const item of items) await handle(queue, item.id);
  }
  const info = await queue.get();
  assert.deepEqual([info?.totalRequestCount, info?.handledRequestCount, info?.pendingRequestCount], [1_000, 1_000, 0]);
  assert.equal(await queue.getRequest(ids[0]!), undefined);
  const last = await queue.listAndLockHead({ limit: 25, lockSecs: 60 });
  assert.deepEqual([last.items, last.queueHasLockedRequests], [[], false], 'a crawler on it would be finished');

  const retried = await queue.addRequest(requestFor('retried'));
  const dropped = await queue.addRequest(requestFor('dropped'));
  await queue.addRequest({ ...requestFor('known'), handledAt: new Date().toISOString() });
  await takeAll(queue);
  const request = (await queue.getRequest(retried.requestId)) as unknown as RequestSchema & { id: string };
  assert.equal((await queue.updateRequest({ ...request, retryCount: 1, userData: { tried: true } })).wasAlreadyHandled, false);
  assert.deepEqual(await queue.getRequest(retried.requestId), { ...request, retryCount: 1, userData: { tried: true } });
  assert.deepEqual(await queue.updateRequest({ ...request, handledAt: new Date().toISOString() }), { requestId: retried.requestId, wasAlreadyPresent: true, wasAlreadyHandled: false });
  assert.equal((await queue.updateRequest({ ...request, handledAt: new Date().toISOString() })).wasAlreadyHandled, true, 'a second time, it was handled already');
  await queue.deleteRequest(dropped.requestId);
  const after = await queue.get();
  assert.deepEqual([after?.totalRequestCount, after?.handledRequestCount, after?.pendingRequestCount], [1_002, 1_002, 0]);
});

test('a Crawlee crawler over the queue handles every request once and finishes', { timeout: 60_000 }, async (t) => {
  const config = crawleeConfigFor(await tempDir(t), 512);
  const queue = await CrawlRequestQueue.open(`pages-${process.pid}-${Date.now()}`, { config });
  assert.ok(queue.client instanceof WorkQueueClient);
  const names = Array.from({ length: 500 }, (_, i) => `page-${i}`);
  await queue.addRequests(names.map((name) => ({ url: `https://example.com/${name}` })));
  const handled: string[] = [];
  const attempts = new Map<string, number>();
  const crawler = new BasicCrawler(
    {
      requestQueue: queue,
      maxConcurrency: 20,
      maxRequestRetries: 2,
      // A bound, should the queue hand out requests again and again.
      maxRequestsPerCrawl: 1_000,
      useSessionPool: false,
      requestHandler: async ({ request, addRequests }) => {
        const name = namesOf([request])[0]!;
        attempts.set(name, (attempts.get(name) ?? 0) + 1);
        await sleep(1);
        // Every 7th page fails once (Crawlee reclaims it), every 50th brings a follow-up.
        const page = /^page-(\d+)$/.exec(name);
        if (page && Number(page[1]) % 7 === 0 && attempts.get(name) === 1) throw new Error('try again');
        if (page && Number(page[1]) % 50 === 0) await addRequests([{ url: `${request.url}-next` }]);
        handled.push(name);
      },
    },
    config,
  );
  const stats = await crawler.run();

  const followUps = names.filter((_, i) => i % 50 === 0).map((name) => `${name}-next`);
  assert.deepEqual([...handled].sort(), [...names, ...followUps].sort(), 'each request handled once');
  assert.equal(attempts.get('page-7'), 2);
  assert.equal(stats.requestsFinished, names.length + followUps.length);
  const info = await queue.getInfo();
  assert.deepEqual([info?.handledRequestCount, info?.pendingRequestCount], [names.length + followUps.length, 0]);
  const requestCache = (queue as unknown as { requestCache: { length(): number } }).requestCache;
  assert.equal(requestCache.length(), 0, "Crawlee's cache of requests let the handled ones go");
  await queue.drop();
  assert.equal(await config.getStorageClient().requestQueue(queue.id).get(), undefined, 'a dropped queue is gone');
});
