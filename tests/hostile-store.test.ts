// A damaged store, made so by the test: corrupt LevelDB tables, garbled values, a lost blob, a
// garbled model-cache entry. The store is never replaced, damage is one line naming the store, the
// record kind and `m2rag doctor`; the cache is optional; export refuses to name an absent file.
// Also: the store marker, counts only for what was written, and errors classified by kind.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Level } from 'level';
import { failureOf } from '../crawlers/fetch/failure.js';
import { putImageOutcome, type ImageUse } from '../crawlers/fetch/image-crawler.js';
import { ConfigSchema } from '../src/core/config.js';
import { runStage, StageCounts } from '../src/core/stage.js';
import { processImagesStage } from '../processors/images/stage.js';
import { ModelCache } from '../src/models/cache.js';
import { OpenAiChat } from '../src/models/openai.js';
import { UsageMeter } from '../src/models/usage.js';
import { exportDataset, MissingBlobError } from '../storage/export/index.js';
import { CorpusStore, doctorStore, queryIdOf, sha256Hex, StoreDamagedError, STORE_MARKER } from '../storage/index.js';
import { runCli } from './helpers/cli.js';
import { addMirrorPage } from './helpers/mirror-store.js';
import { chatReply, startOpenAiServer } from './helpers/openai-server.js';
import { tempDir } from './helpers/temp.js';

async function storeWithQueries(dir: string, n: number): Promise<void> {
  const store = await CorpusStore.open(dir);
  const batch = store.batch();
  for (let i = 0; i < n; i++) batch.put('queries', { id: `q${String(i).padStart(4, '0')}`, query: `query ${i} ${'x'.repeat(100)}`, createdAt: new Date().toISOString() });
  await batch.write();
  await store.close();
}

async function rawDb(dir: string): Promise<Level<string, string>> {
  const db = new Level<string, string>(path.join(dir, 'db'), { valueEncoding: 'utf8', createIfMissing: false });
  await db.open();
  return db;
}

test('the marker: written at creation and on the first open of an older store; no store is made in a folder holding other files', async (t) => {
  const root = await tempDir(t);
  const dir = path.join(root, 'store');
  await storeWithQueries(dir, 1);
  const marker = JSON.parse(await readFile(path.join(dir, STORE_MARKER), 'utf8'));
  assert.equal(marker.format, 'm2rag-store');
  assert.equal(marker.formatVersion, 1);

  await rm(path.join(dir, STORE_MARKER));
  const older = await CorpusStore.open(dir, { mustExist: true });
  assert.equal(await older.count('queries'), 1, 'a store made before the marker still opens');
  await older.close();
  assert.ok(existsSync(path.join(dir, STORE_MARKER)), 'and gets its marker');

  const papers = path.join(root, 'papers');
  await mkdir(papers);
  await writeFile(path.join(papers, 'thesis.pdf'), 'not a store');
  await assert.rejects(CorpusStore.open(papers), /--store .*papers holds other files \(thesis\.pdf\) and no m2rag store/);
  assert.deepEqual(await readdir(papers), ['thesis.pdf'], 'nothing was created beside the user file');

  await rm(path.join(dir, 'db'), { recursive: true });
  await assert.rejects(CorpusStore.open(dir), /store .* is damaged: it has m2rag-store\.json but its database .* is missing or empty; .*m2rag --store .* doctor/);
  assert.equal(existsSync(path.join(dir, 'db')), false, 'no fresh database replaces the lost one');
});

test('corrupt LevelDB tables: a read is one line naming the store, the record kind and doctor; doctor --repair makes it readable', async (t) => {
  const dir = path.join(await tempDir(t), 'store');
  await storeWithQueries(dir, 300);
  // Reopening moves the write-ahead log into a table file; then garble the middle of that table.
  await (await rawDb(dir)).close();
  const table = (await readdir(path.join(dir, 'db'))).find((f) => f.endsWith('.ldb'))!;
  const bytes = await readFile(path.join(dir, 'db', table));
  bytes.fill(0xff, 2000, 2400);
  await writeFile(path.join(dir, 'db', table), bytes);

  const stats = await runCli(['--store', dir, 'stats']);
  assert.equal(stats.code, 2);
  assert.equal(stats.stderr.trim().split('\n').length, 1, stats.stderr);
  assert.match(stats.stderr, /^m2rag: store .* is damaged: queries cannot be read \(Corruption: [^)]*\); run `m2rag --store .* doctor`/);
  assert.doesNotMatch(stats.stderr, /\bat \w|unexpected error/);

  const repair = await doctorStore(dir, { repair: true });
  assert.match(repair.parts[0]!.repaired.join(), /rebuilt by LevelDB's repair/);
  const store = await CorpusStore.open(dir, { mustExist: true });
  t.after(() => store.close());
  const left = await store.count('queries');
  assert.ok(left > 0 && left < 300, `the readable queries are kept (${left}), the garbled block is gone`);
});

test('a garbled record: reading its kind fails with StoreDamagedError naming the kind, not a raw decode error', async (t) => {
  const dir = path.join(await tempDir(t), 'store');
  await storeWithQueries(dir, 2);
  const db = await rawDb(dir);
  await db.sublevel<string, string>('queries', { valueEncoding: 'utf8' }).put('q0001', '{"id":"q0001","query":"a\u0001');
  await db.close();
  const store = await CorpusStore.open(dir, { mustExist: true });
  t.after(() => store.close());
  const reading = async (): Promise<void> => {
    for await (const _ of store.iterate('queries'));
  };
  await assert.rejects(reading(), (error: unknown) => {
    assert.ok(error instanceof StoreDamagedError);
    assert.equal(error.part, 'queries');
    assert.match(error.message, /queries cannot be read \(Iterator could not decode data: .*\); run `m2rag --store .* doctor`/);
    return true;
  });
  await assert.rejects(store.get('queries', 'q0001'), StoreDamagedError);
});

test('a garbled model-cache entry is dropped with a warning and the request is made again: the cache never stops a stage', async (t) => {
  const server = await startOpenAiServer({ chat: () => chatReply('A fresh answer.') });
  t.after(() => server.close());
  const dir = path.join(await tempDir(t), 'store');
  const request = { messages: [{ role: 'user' as const, content: 'describe it' }] };
  const policy = { concurrency: 1, timeoutMs: 5000, maxRetries: 0, retryDelayMs: 5 };
  let store = await CorpusStore.open(dir);
  await new OpenAiChat({ url: server.url, model: 'stand-in' }, policy, new ModelCache(store), new UsageMeter()).chat(request);
  await store.close();
  const db = await rawDb(dir);
  const cache = db.sublevel<string, string>('modelCache', { valueEncoding: 'utf8' });
  const keys = await cache.keys().all();
  assert.equal(keys.length, 1);
  await cache.put(keys[0]!, '{"inputHash": "garbled');
  await db.close();

  store = await CorpusStore.open(dir, { mustExist: true });
  t.after(() => store.close());
  const reply = await new OpenAiChat({ url: server.url, model: 'stand-in' }, policy, new ModelCache(store), new UsageMeter()).chat(request);
  assert.equal(reply.text, 'A fresh answer.');
  assert.equal(reply.cached, false);
  assert.equal(server.requestsTo('chat').length, 2, 'asked again instead of failing');
  assert.equal((await store.get('modelCache', keys[0]!))?.response !== undefined, true, 'the fresh reply is cached in its place');
});

test('export refuses (exit 1, one line) to name an image whose blob is gone, unless --allow-missing', async (t) => {
  const dir = path.join(await tempDir(t), 'store');
  const store = await CorpusStore.open(dir);
  const queryId = queryIdOf('ray charles');
  await store.put('queries', { id: queryId, query: 'ray charles', createdAt: new Date().toISOString() });
  await addMirrorPage(store, queryId, 'Ray_Charles.html', { only: ['Ray_Charles_1968.jpg'] });
  await store.batch().markStageDone('crawl', queryId).write();
  const processing = ConfigSchema.parse({ images: { minBytes: 0 } });
  await runStage(processImagesStage, store, { config: processing });
  const [image] = await store.iterate('images').next().then((r) => [r.value]);
  await rm(store.blobPath(image!.id));
  const reprocessed = await runStage(processImagesStage, store, { config: processing, force: true });
  assert.equal(reprocessed.counts['images-blob-missing'], 1, 'process --force notices the lost blob');
  const allowed = await exportDataset(store, { format: 'm2rag', outDir: path.join(await tempDir(t), 'allowed'), sharegptMinMetric: 0.7, allowMissing: true });
  assert.equal(allowed.counts.imageFilesMissing, 1);
  await assert.rejects(exportDataset(store, { format: 'm2rag', outDir: path.join(await tempDir(t), 'refused'), sharegptMinMetric: 0.7 }), MissingBlobError);
  await store.close();

  const out = path.join(await tempDir(t), 'out');
  const cli = await runCli(['--store', dir, 'export', '--format', 'm2rag', '--out', out]);
  assert.equal(cli.code, 1);
  assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
  assert.match(cli.stderr, new RegExp(`^m2rag: export: image ${image!.id} has no blob file .*--allow-missing`));
  assert.equal(existsSync(out), false, 'no dataset naming an absent file was written');
});

test('counts only what was written: a page batch abandoned before its commit leaves no blob and no images-stored', async (t) => {
  const store = await CorpusStore.open(path.join(await tempDir(t), 'store'));
  t.after(() => store.close());
  const bytes = Buffer.from('GIF89a hostile page image');
  const sha = sha256Hex(bytes);
  const at = new Date().toISOString();
  const outcome = {
    fetch: { id: 'f1', url: 'http://site.test/a.gif', kind: 'image' as const, outcome: 'ok' as const, sha256: sha, at },
    imageId: sha,
    image: { id: sha, bytes: bytes.length, mime: 'image/gif', firstUrl: 'http://site.test/a.gif', fetchedAt: at },
    bytes,
  };
  const uses: ImageUse[] = [{ queryId: 'q1', occurrence: { id: 'o1', kind: 'page', pageId: 'p1', index: 0, url: 'http://site.test/a.gif', attributes: {} }, label: 'page-image' }];
  const abandoned = new StageCounts();
  putImageOutcome(store.batch(), 'http://site.test/a.gif', outcome, uses, () => abandoned);
  // The page's batch is dropped (say its DOM overflowed the stack) before write().
  assert.equal(abandoned.counts['images-stored'], undefined);
  assert.equal(await store.hasBlob(sha), false, 'no orphan blob');

  const committed = new StageCounts();
  const batch = store.batch();
  putImageOutcome(batch, 'http://site.test/a.gif', outcome, uses, () => committed);
  await batch.write();
  assert.equal(committed.counts['images-stored'], 1);
  assert.equal(await store.hasBlob(sha), true);
});

test('fetch failures are classified by kind: stack overflow and bad charset are final, a reset connection is retried; no reason keeps a secret', async (t) => {
  const overflow = ((): unknown => {
    const deep = (n: number): number => deep(n + 1) + 1;
    try {
      return deep(0);
    } catch (error) {
      return error;
    }
  })();
  assert.deepEqual(failureOf(overflow), { outcome: 'failed', reason: 'error: Maximum call stack size exceeded', retryable: false });
  const charset = ((): unknown => {
    try {
      return new TextDecoder('x-hostile-charset');
    } catch (error) {
      return error;
    }
  })();
  assert.equal(failureOf(charset).retryable, false);

  const server = http.createServer((req) => req.socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const reset = await new Promise<unknown>((resolve) => {
    http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, () => resolve(undefined)).on('error', resolve);
  });
  assert.deepEqual(failureOf(reset), { outcome: 'failed', reason: 'network: ECONNRESET', retryable: true });

  const leaky = new Error('request to https://user:hunter2@api.test/search?q=ray&key=AIza-secret failed');
  const { reason } = failureOf(leaky);
  assert.equal(reason, 'error: request to https://api.test/search?q=ray&key=REDACTED failed');

  // The store redacts any reason a writer did not: the last line of defence.
  const store = await CorpusStore.open(path.join(await tempDir(t), 'store'));
  t.after(() => store.close());
  await store.put('fetches', { id: 'f1', url: 'http://site.test/', kind: 'page', outcome: 'failed', reason: 'meta-refresh to http://u:pw@site.test/x?token=t0k3n: timeout', at: new Date().toISOString() });
  assert.equal((await store.get('fetches', 'f1'))!.reason, 'meta-refresh to http://site.test/x?token=REDACTED: timeout');
});
