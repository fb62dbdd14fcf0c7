// One page brought by several requests at once (here four queries naming the same URL, as when
// many queries share a top result) is stored once, and the counts say so whatever the timing: the
// first request stores it, and the others find it stored.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA, runCli } from './helpers/cli.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore } from '../storage/index.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');

function countsOf(output: string): Record<string, number> {
  const line = output.split('\n').find((l) => l.startsWith('crawl: '));
  assert.ok(line, `a crawl summary line in: ${output}`);
  return Object.fromEntries(line.slice('crawl: '.length).split(' ').map((pair) => pair.split('=')).map(([k, v]) => [k!, Number(v)]));
}

test('a page four queries fetch at once is stored once, counted once as stored and three times as a duplicate', async (t) => {
  const server = await startStaticServer(MIRROR);
  t.after(() => server.close());
  const dir = await tempDir(t);
  const url = `${server.url}/A/Ray_Charles.html`;
  const queries = path.join(dir, 'q.jsonl');
  await writeFile(queries, ['ray charles', 'ray charles piano', 'ray charles songs', 'ray charles life'].map((query) => JSON.stringify({ query, urls: [url] })).join('\n') + '\n');
  const store = path.join(dir, 'store');
  const result = await runCli(['--store', store, 'crawl', '--queries', queries, '--search', 'seeds', '--site', server.url + '/', '--aux-images', '0']);
  assert.equal(result.code, 0, result.stderr);
  const counts = countsOf(result.stdout + '\n' + result.stderr);

  const db = await CorpusStore.open(store);
  t.after(() => db.close());
  assert.equal(await db.count('pages'), 1);
  let pageId = '';
  for await (const page of db.iterate('pages')) pageId = page.id;
  const occurrences = await db.related('page-occurrences', pageId);
  assert.ok(occurrences.length > 5, 'the page has images');
  assert.equal(counts['pages-stored'], 1);
  assert.equal(counts['pages-duplicate-canonical'], 3);
  assert.equal(counts['occurrences'], occurrences.length, 'the occurrences were written with the page once');
});
