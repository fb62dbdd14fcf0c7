// What a crawl wrote, as comparable sets, for the tests that check a resumed crawl equals an uninterrupted one.
import assert from 'node:assert/strict';
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
