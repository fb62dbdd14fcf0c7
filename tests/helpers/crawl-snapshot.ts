// What a crawl wrote, as comparable sets, for the tests that check a resumed crawl equals an uninterrupted one.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CorpusStore, type IndexName, type RecordKind } from '../../storage/index.js';

/** Everything the crawl wrote, as comparable sets (fetch times and attempt counts aside); every query must be marked done. */
export async function crawlSnapshot(dir: string): Promise<Record<string, string[]>> {
  const db = await CorpusStore.open(dir);
  try {
    const out: Record<string, string[]> = {};
    for (const kind of ['queries', 'hits', 'pages', 'images', 'occurrences'] as RecordKind[]) {
      const rows: string[] = [];
      for await (const record of db.iterate(kind)) {
        const { fetchedAt: _f, createdAt: _c, ...rest } = record as Record<string, unknown>;
        rows.push(JSON.stringify(rest));
      }
      out[kind] = rows;
    }
    const fetches: string[] = [];
    for await (const f of db.iterate('fetches')) fetches.push(`${f.url} ${f.outcome} ${f.pageId ?? f.sha256 ?? f.reason}`);
    out.fetches = fetches.sort();
    for (const index of ['query-pages', 'page-occurrences', 'image-occurrences'] as IndexName[]) {
      const links: string[] = [];
      for await (const [from, to] of db.links(index)) links.push(`${from} -> ${to}`);
      out[index] = links;
    }
    for await (const q of db.iterate('queries')) assert.equal(await db.isStageDone('crawl', q.id), true, `${q.query} is marked done`);
    return out;
  } finally {
    await db.close();
  }
}

/** How many queries the crawl stage marked done. */
export async function crawledQueries(dir: string): Promise<number> {
  const db = await CorpusStore.open(dir);
  try {
    let done = 0;
    for await (const q of db.iterate('queries')) if (await db.isStageDone('crawl', q.id)) done++;
    return done;
  } finally {
    await db.close();
  }
}

/**
 * A seeds crawl of mirror articles served by a real local server, slowed by a per-host delay so a
 * signal can land mid-crawl: the queries file and config are written in `dir`, and `argsFor(store)`
 * is the command line of the crawl into that store.
 */
export async function slowSeedsCrawl(dir: string, serverUrl: string, articles: ReadonlyArray<readonly [string, readonly string[]]>, delayMs: number): Promise<{ argsFor: (store: string) => string[] }> {
  const queries = path.join(dir, 'q.jsonl');
  await writeFile(queries, articles.map(([query, names]) => JSON.stringify({ query, urls: names.map((n) => `${serverUrl}/A/${n}.html`) })).join('\n') + '\n');
  const config = path.join(dir, 'config.yaml');
  await writeFile(config, `crawl:\n  perDomainDelayMs: ${delayMs}\n`);
  return { argsFor: (store) => ['--store', store, '--config', config, 'crawl', '--queries', queries, '--search', 'seeds', '--site', serverUrl + '/'] };
}
