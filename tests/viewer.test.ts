// `m2rag serve` in Debian's Chromium (playwright-core, no downloaded browser), over a small store as
// the stages leave it (tests/helpers/viewer-fixture.ts): the query list and its search, a query page
// with its answer's images drawn, a rating that survives a reload, crawled markup that never runs,
// and paths that never reach the file system.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from './helpers/cli.js';
import { HOSTILE_MARKUP, buildViewerFixture, type ViewerFixture } from './helpers/viewer-fixture.js';
import { CorpusStore } from '../storage/index.js';

const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

let server: ChildProcess;
let base: string;
let browser: Browser;
let fixture: ViewerFixture;
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'm2rag-viewer-'));
  fixture = await buildViewerFixture(dir);
  await fixture.store.close();
  server = spawn(process.execPath, [path.join(ROOT, 'bin/m2rag.js'), '--store', path.join(dir, 'store'), 'serve', '--port', '0'], { cwd: ROOT, env: { ...process.env, M2RAG_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (d) => (stderr += d));
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d) => {
      out += d;
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (match) resolve(match[0]);
    });
    server.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) await new Promise((resolve) => server.once('exit', resolve).kill('SIGTERM'));
  await rm(dir, { recursive: true, force: true });
});

/** A raw GET whose path goes out exactly as written (no URL normalization on the way). */
function rawGet(requestPath: string): Promise<{ status: number; type: string; body: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: url.port, path: requestPath }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(parts) }));
      })
      .on('error', reject);
  });
}

test('the query list loads with each query’s level, and typing in search filters it', async () => {
  const page = await browser.newPage();
  await page.goto(base + '/');
  assert.equal(await page.locator('tr.query-row').count(), 2);
  const levels = await page.locator('tr.query-row td:nth-child(3)').allTextContents();
  assert.deepEqual(levels.map((level) => level.trim()).sort(), ['', '2']);
  await page.fill('#query-search', 'georgia');
  const visible = page.locator('tr.query-row:visible');
  assert.equal(await visible.count(), 1);
  assert.equal((await visible.locator('a').textContent())?.trim(), 'Georgia on My Mind song');
  assert.equal(await page.textContent('#query-count'), '1 of 2');
  await page.close();
});

test('the dataset page draws its charts with Chart.js from the store', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(base + '/dataset');
  await page.waitForSelector('body[data-charts-drawn="true"]');
  assert.match((await page.textContent('#dataset-status')) ?? '', /2 queries, 1 pages, 3 images, 1 answers/);
  assert.ok(await page.$eval('#chart-scores', (canvas) => (window as unknown as { Chart: { getChart(c: unknown): unknown } }).Chart.getChart(canvas) !== undefined));
  assert.deepEqual(errors, []);
  await page.close();
});

test('a query page shows its answer with the cited image drawn, and a screenshot of it is written', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${base}/query/${fixture.queryId}`, { waitUntil: 'load' });
  const answer = page.locator(`#answer-${fixture.generationId} .answer-text`);
  assert.match((await answer.textContent()) ?? '', /played the piano from the age of three/);
  const images = answer.locator('img');
  assert.equal(await images.count(), 1);
  assert.equal(await images.first().getAttribute('src'), `/blob/${fixture.imageIds.piano}`);
  await images.first().evaluate((img: HTMLImageElement) => img.decode());
  assert.ok((await images.first().evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0, 'the cited image is drawn');
  // The image cards load lazily: bring each into view, then every image on the page must be drawn.
  for (const img of await page.locator('img').all()) await img.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete), undefined, { timeout: 10_000 });
  const widths = await page.$$eval('img', (all) => all.map((img) => (img as HTMLImageElement).naturalWidth));
  assert.ok(widths.length >= 4 && widths.every((w) => w > 0), `every image on the page is drawn: ${widths}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  const shotDir = await mkdtemp(path.join(tmpdir(), 'm2rag-viewer-shot-'));
  const shot = path.join(shotDir, 'query-page.png');
  await page.screenshot({ path: shot, fullPage: false });
  assert.ok((await stat(shot)).size > 10_000);
  if (process.env.M2RAG_VIEWER_SCREENSHOT) await copyFile(shot, process.env.M2RAG_VIEWER_SCREENSHOT);
  t.diagnostic(`screenshot of the query page: ${shot}`);
  await page.close();
});

test('a rating survives a reload, and a write without the session token is refused', async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/query/${fixture.queryId}`);
  const form = page.locator(`#answer-${fixture.generationId} form.rate`);
  await form.locator('input[name=rater]').fill('Ada');
  await form.locator('input[name=metric_fluency]').fill('7');
  // The form posts, then is redirected back to the query page: wait for that navigation to finish
  // (the URL matches before the post as well, so waiting for the URL alone races the reload).
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), form.locator('button[type=submit]').click()]);
  await page.reload();
  const reloaded = page.locator(`#answer-${fixture.generationId}`);
  assert.equal(await reloaded.locator('input[name=metric_fluency]').inputValue(), '7');
  assert.equal(await reloaded.locator('input[name=rater]').inputValue(), 'Ada');
  assert.match((await reloaded.locator('li.rating').allTextContents()).join('\n'), /Ada: fluency = 7/);
  const exported = await page.request.get(base + '/ratings.jsonl');
  const lines = (await exported.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((r) => [r.rater, r.target.metric, r.value]), [['Ada', 'fluency', 7]]);

  const forged = await page.request.post(base + '/rate', {
    form: { kind: 'generation', queryId: fixture.queryId, generationId: fixture.generationId, rater: 'Mallory', metric_fluency: '0', token: 'f'.repeat(64) },
  });
  assert.equal(forged.status(), 403);
  await page.close();
});

test('a crawled page’s <script>, onerror handler and javascript: link never run', async () => {
  const page = await browser.newPage();
  const ran: string[] = [];
  await page.exposeFunction('m2ragHook', (what: string) => void ran.push(what));
  const cspViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  // The hook works: the same markup, served without the viewer, runs.
  await page.setContent(`<html><body>${HOSTILE_MARKUP}</body></html>`);
  await page.waitForFunction(() => true);
  await page.waitForTimeout(300);
  assert.ok(ran.includes('script') && ran.includes('onerror'), `the hook records execution: ${ran}`);
  ran.length = 0;

  await page.goto(`${base}/query/${fixture.queryId}`, { waitUntil: 'load' });
  const chunk = page.locator('[id="chunk-p-ray:c2"]');
  assert.match((await chunk.textContent()) ?? '', /Tourism grew in later decades/);
  assert.equal(await chunk.locator('script, [onerror], a[href^="javascript:"]').count(), 0);
  await chunk.locator('a', { hasText: 'more' }).click();
  await page.waitForTimeout(300);
  assert.deepEqual(ran, [], 'nothing the crawled page carried ran');
  const response = await page.request.get(`${base}/query/${fixture.queryId}`);
  assert.match(response.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await page.close();
});

test('only blobs named by a sha256 are served, with their sniffed type; paths never reach the file system', async () => {
  const good = await rawGet(`/blob/${fixture.imageIds.piano}`);
  assert.equal(good.status, 200);
  assert.equal(good.type, 'image/jpeg');
  for (const attempt of [
    '/blob/../../etc/passwd',
    '/blob/..%2F..%2Fetc%2Fpasswd',
    '/blob/%2e%2e/%2e%2e/etc/passwd',
    '/blob/..%5C..%5Cetc%5Cpasswd',
    `/blob/${fixture.imageIds.piano.toUpperCase()}`,
    `/blob/${fixture.imageIds.piano}/../../../../etc/passwd`,
    '/assets/..%2F..%2F..%2Fpackage.json',
    '/assets/../../package.json',
    '/../../../etc/passwd',
  ]) {
    const res = await rawGet(attempt);
    assert.ok(res.status >= 400 && res.status < 500, `${attempt} → ${res.status}`);
    assert.doesNotMatch(res.body.toString('latin1'), /root:|"name": "m2rag"/, attempt);
  }
});

test('an idle viewer does not hold the store: another process can open it, and meanwhile pages are read through that process', async () => {
  assert.equal((await rawGet('/')).status, 200);
  // The viewer closes the store 1.5 s after its last request; a build can then take it.
  let store: CorpusStore | undefined;
  for (let attempt = 0; attempt < 40 && !store; attempt++) {
    store = await CorpusStore.open(path.join(dir, 'store')).catch(async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return undefined;
    });
  }
  assert.ok(store, 'the store could be opened beside the idle viewer');
  try {
    const shared = await rawGet('/');
    assert.equal(shared.status, 200, 'the holder serves the store to the viewer (storage/shared-store.ts)');
    assert.equal((await rawGet(`/blob/${fixture.imageIds.piano}`)).status, 200, 'images are files, read without the store lock');
  } finally {
    await store.close();
  }
  assert.equal((await rawGet('/')).status, 200);
});
