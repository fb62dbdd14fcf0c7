// Merging shard stores into one: every record kind is walked in key order across all shards at
// once, so the result depends only on the shards' contents, never on their order or on who wrote
// first. Copies of one record that differ only in when they were written (`at` and `…At` fields)
// are one record; a copy that only adds fields to the others (a later stage's work on it) wins; any
// other difference is a conflict, reported and left out of the merged store, never overwritten.
import { cp, readdir } from 'node:fs/promises';
import path from 'node:path';
import { indexNames, recordSchemas, type RecordKind, type StageMarker } from './schemas.js';
import type { CorpusStore } from './store.js';

export interface MergeConflict {
  kind: RecordKind | 'pageHtml';
  id: string;
  /** The shard folders whose copies disagree. */
  shards: string[];
}

export interface MergeReport {
  records: Record<string, number>;
  links: number;
  conflicts: MergeConflict[];
}

const WRITE_BATCH = 500;

function keyOf(kind: RecordKind, record: Record<string, unknown>): string {
  if (kind === 'stageMarkers') return `${(record as StageMarker).stage}\x00${(record as StageMarker).queryId}`;
  if (kind === 'modelCache') return record.inputHash as string;
  return record.id as string;
}

const isTime = (key: string): boolean => key === 'at' || key.endsWith('At');

/** A value with every write time (`at`, `…At`, at any depth) left out. */
function timeless(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(timeless);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !isTime(key)).map(([key, inner]) => [key, timeless(inner)]));
}

/** The record without its write times, as canonical JSON per field. */
function fieldsOf(record: Record<string, unknown>): Map<string, string> {
  const fields = new Map<string, string>();
  for (const [key, value] of Object.entries(record)) if (value !== undefined && !isTime(key)) fields.set(key, JSON.stringify(timeless(value)));
  return fields;
}

function extends_(wider: Map<string, string>, narrower: Map<string, string>): boolean {
  for (const [key, value] of narrower) if (wider.get(key) !== value) return false;
  return true;
}

/**
 * Fields that say which shard saw a record first (an image's first URL: the same bytes are found on
 * many pages): not a conflict, and the merge keeps the smallest value, whatever the crawl order was.
 */
const FIRST_SEEN: Partial<Record<RecordKind, string>> = { images: 'firstUrl' };

/** The one copy to keep: the one every other copy is a part of (the smallest JSON among equals), else none. */
function chooseCopy(kind: RecordKind, copies: Array<Record<string, unknown>>): Record<string, unknown> | undefined {
  const firstSeen = FIRST_SEEN[kind];
  const values = firstSeen ? copies.map((copy) => copy[firstSeen] as string).sort() : [];
  const comparable = firstSeen ? copies.map((copy) => ({ ...copy, [firstSeen]: values[0] })) : copies;
  const fields = comparable.map(fieldsOf);
  const candidates = comparable.filter((_, i) => fields.every((other) => extends_(fields[i]!, other)));
  return candidates.map((copy) => [JSON.stringify(copy), copy] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))[0]?.[1];
}

interface Head {
  shard: number;
  key: string;
  record: Record<string, unknown>;
}

/** Every key of one kind across the shards, in key order, with each shard's copy. */
async function* mergedKeys(kind: RecordKind, shards: readonly CorpusStore[]): AsyncGenerator<Head[]> {
  const iterators = shards.map((shard) => shard.iterate(kind)[Symbol.asyncIterator]());
  const heads: Array<Head | undefined> = [];
  const advance = async (i: number): Promise<void> => {
    const next = await iterators[i]!.next();
    heads[i] = next.done ? undefined : { shard: i, key: keyOf(kind, next.value as Record<string, unknown>), record: next.value as Record<string, unknown> };
  };
  await Promise.all(shards.map((_, i) => advance(i)));
  for (;;) {
    const live = heads.filter((head): head is Head => head !== undefined);
    if (live.length === 0) return;
    const key = live.map((head) => head.key).reduce((a, b) => (b < a ? b : a));
    const group = live.filter((head) => head.key === key);
    yield group;
    await Promise.all(group.map((head) => advance(head.shard)));
  }
}

export async function mergeStores(out: CorpusStore, shards: readonly CorpusStore[]): Promise<MergeReport> {
  const report: MergeReport = { records: {}, links: 0, conflicts: [] };
  for (const kind of Object.keys(recordSchemas) as RecordKind[]) {
    let batch = out.batch();
    let n = 0;
    for await (const group of mergedKeys(kind, shards)) {
      const chosen = chooseCopy(kind, group.map((head) => head.record));
      if (!chosen) {
        report.conflicts.push({ kind, id: group[0]!.key, shards: group.map((head) => shards[head.shard]!.dir) });
        continue;
      }
      batch.put(kind, chosen as never);
      if (kind === 'pages') await mergeHtml(batch, group[0]!.key, group.map((head) => shards[head.shard]!), report);
      n++;
      if (batch.size >= WRITE_BATCH) {
        await batch.write();
        batch = out.batch();
      }
    }
    await batch.write();
    report.records[kind] = n;
  }
  for (const index of indexNames) {
    let batch = out.batch();
    for (const shard of shards) {
      for await (const [from, to] of shard.links(index)) {
        batch.link(index, from, to);
        report.links++;
        if (batch.size >= WRITE_BATCH) {
          await batch.write();
          batch = out.batch();
        }
      }
    }
    await batch.write();
  }
  await mergeStageStats(out, shards);
  for (const shard of shards) await copyBlobs(shard.dir, out.dir);
  return report;
}

async function mergeHtml(batch: ReturnType<CorpusStore['batch']>, pageId: string, holders: readonly CorpusStore[], report: MergeReport): Promise<void> {
  const copies = (await Promise.all(holders.map((shard) => shard.getHtml(pageId)))).filter((html): html is string => html !== undefined);
  if (copies.length === 0) return;
  if (copies.some((html) => html !== copies[0])) report.conflicts.push({ kind: 'pageHtml', id: pageId, shards: holders.map((shard) => shard.dir) });
  else batch.putHtml(pageId, copies[0]!);
}

/** Each stage's counts summed over the shards, as one run. */
async function mergeStageStats(out: CorpusStore, shards: readonly CorpusStore[]): Promise<void> {
  const byStage = new Map<string, { counts: Record<string, number>; settings?: Record<string, unknown> }>();
  for (const shard of shards) {
    for (const stats of await shard.stageStats()) {
      const entry = byStage.get(stats.stage) ?? { counts: {}, settings: stats.settings };
      for (const [key, n] of Object.entries(stats.counts)) entry.counts[key] = (entry.counts[key] ?? 0) + n;
      byStage.set(stats.stage, entry);
    }
  }
  for (const [stage, { counts, settings }] of [...byStage].sort(([a], [b]) => a.localeCompare(b))) await out.addStageStats(stage, counts, settings);
}

/** Blobs are content-addressed, so copying never overwrites a different file; half-written temp files stay behind. */
async function copyBlobs(shardDir: string, outDir: string): Promise<void> {
  const from = path.join(shardDir, 'blobs');
  if (!(await readdir(from).catch(() => undefined))) return;
  await cp(from, path.join(outDir, 'blobs'), { recursive: true, force: false, filter: (source) => !source.endsWith('.tmp') });
}
