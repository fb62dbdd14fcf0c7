// The corpus store: any abstract-level database (LevelDB through `level` in `<dir>/db` by default),
// one sublevel per record kind, plus secondary indexes, per-query stage markers and
// content-addressed blobs in `<dir>/blobs` (images, thumbnails and pages' HTML). The API is
// deliberately small (get, put, batch, iterate, related, blobs) and the database stays private, so
// another backend can replace LevelDB.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Level } from 'level';
import type { AbstractLevel, AbstractSublevel } from 'abstract-level';
import { BlobStore, sha256Hex } from './blobs.js';
import { openOrJoin, shareDatabase } from './shared-store.js';
import { asDamage, StoreDamagedError, damageDetail } from './damage.js';
import { redactReasons } from './redact.js';
import { inspectStoreFolder, StoreOpenError, writeStoreMarker, type OpenOptions } from './store-folder.js';
import {
  SCHEMA_VERSION,
  indexNames,
  recordSchemas,
  type Image,
  type IndexName,
  type RecordKind,
  type RecordOf,
  type StageMarker,
} from './schemas.js';
import { inShard, type Shard } from './shard.js';

export { StoreOpenError, type OpenOptions } from './store-folder.js';

/** The database a store runs over: any abstract-level backend with string keys. */
export type StoreDatabase = AbstractLevel<string | Buffer | Uint8Array, string, unknown>;

type JsonSublevel = AbstractSublevel<StoreDatabase, string | Buffer | Uint8Array, string, unknown>;
type TextSublevel = AbstractSublevel<StoreDatabase, string | Buffer | Uint8Array, string, string>;

/**
 * The database's parts besides one sublevel per record kind (storage/doctor.ts reads them raw).
 * `htmlBlobs` maps a page id to the sha256 of its HTML blob. `html` held the HTML itself in stores
 * written before the HTML became a blob: it is still read, and a page written again leaves it.
 */
export const STORE_PARTS = { html: 'pageHtml', htmlBlobs: 'pageHtmlBlob', meta: 'meta', stageStats: 'stageStats', indexPrefix: 'idx-' } as const;
export const INDEX_SEPARATOR = '\x00';

const SEP = INDEX_SEPARATOR;
const SEP_END = '\x01';

export class StoreVersionError extends Error {
  constructor(dir: string, found: unknown) {
    super(
      `store ${dir} has schema version ${String(found)}, but this m2rag reads schema version ${SCHEMA_VERSION}; ` +
        `use a new --store directory or the m2rag release that wrote it`,
    );
    this.name = 'StoreVersionError';
  }
}

/** Counts of one stage: what it did and why it dropped what it dropped. */
export interface StageStats {
  stage: string;
  runs: number;
  lastRunAt: string;
  /** Totals over every run (a --force run adds to them again). */
  counts: Record<string, number>;
  /** The counts of the latest run alone (absent in stores written before it was kept). */
  lastRun?: Record<string, number>;
  /** The effective settings the stage last ran with, so a dataset card can say what built the data. */
  settings?: Record<string, unknown>;
}

type BatchOp =
  | { type: 'put'; sublevel: JsonSublevel | TextSublevel; key: string; value: unknown; valueEncoding?: 'view' }
  | { type: 'del'; sublevel: JsonSublevel | TextSublevel; key: string };

/** What a batch writes to: the store's private parts, which only this module can reach. */
interface BatchTarget {
  db: StoreDatabase;
  blobs: BlobStore;
  html: TextSublevel;
  htmlBlobs: TextSublevel;
  /** Whether the store holds HTML in the old inline part, which a new write must then clear. */
  inlineHtml(): boolean;
  sublevelOf(kind: RecordKind): JsonSublevel;
  indexSublevel(index: IndexName): TextSublevel;
}

const batchTargets = new WeakMap<CorpusStore, BatchTarget>();

/** Collects writes and commits them in one atomic batch: all land or none do. */
export class StoreBatch {
  private readonly ops: BatchOp[] = [];
  private readonly blobBytes: Array<{ bytes: Uint8Array; sha256?: string }> = [];
  private readonly written: Array<() => void> = [];
  private readonly target: BatchTarget;

  constructor(store: CorpusStore) {
    this.target = batchTargets.get(store)!;
  }

  put<K extends RecordKind>(kind: K, record: RecordOf<K>): this {
    const valid = redactReasons(recordSchemas[kind].parse(record)) as RecordOf<K>;
    this.ops.push({ type: 'put', sublevel: this.target.sublevelOf(kind), key: (valid as { id?: string }).id ?? keyOf(kind, valid), value: valid });
    return this;
  }

  del(kind: RecordKind, id: string): this {
    this.ops.push({ type: 'del', sublevel: this.target.sublevelOf(kind), key: id });
    return this;
  }

  link(index: IndexName, from: string, to: string): this {
    this.ops.push({ type: 'put', sublevel: this.target.indexSublevel(index), key: from + SEP + to, value: '' });
    return this;
  }

  /** Removes one link of a secondary index (for a related record that no longer exists). */
  unlink(index: IndexName, from: string, to: string): this {
    this.ops.push({ type: 'del', sublevel: this.target.indexSublevel(index), key: from + SEP + to });
    return this;
  }

  /**
   * A page's HTML, as text or as its UTF-8 bytes, stored as a blob the page id points to: kept out of
   * LevelDB, whose compactions would rewrite it again and again (README, "The store"). `sha256` is the
   * bytes' hash when the caller has it (a parsing thread computes it, off the main thread).
   */
  putHtml(pageId: string, html: string | Uint8Array, sha256?: string): this {
    const bytes = typeof html === 'string' ? Buffer.from(html) : html;
    const sha = sha256 ?? sha256Hex(bytes);
    this.blobBytes.push({ bytes, sha256: sha });
    this.ops.push({ type: 'put', sublevel: this.target.htmlBlobs, key: pageId, value: sha });
    if (this.target.inlineHtml()) this.ops.push({ type: 'del', sublevel: this.target.html, key: pageId });
    return this;
  }

  markStageDone(stage: string, queryId: string, counts: Record<string, number> = {}): this {
    return this.put('stageMarkers', { stage, queryId, doneAt: new Date().toISOString(), counts });
  }

  clearStageDone(stage: string, queryId: string): this {
    return this.del('stageMarkers', stage + SEP + queryId);
  }

  /**
   * Blob bytes are written to their files at write(), before the records that point to them are
   * committed: a batch abandoned before write() leaves no orphan blob.
   */
  putBlob(bytes: Uint8Array, sha256?: string): this {
    this.blobBytes.push({ bytes, sha256 });
    return this;
  }

  /** Runs `then` once the batch is committed (counts of what was written are added only then). */
  afterWrite(then: () => void): this {
    this.written.push(then);
    return this;
  }

  get size(): number {
    return this.ops.length;
  }

  async write(): Promise<void> {
    await Promise.all(this.blobBytes.map(({ bytes, sha256 }) => this.target.blobs.put(bytes, sha256)));
    if (this.ops.length > 0) await this.target.db.batch(this.ops as never);
    for (const then of this.written) then();
  }
}

function keyOf(kind: RecordKind, record: unknown): string {
  if (kind === 'stageMarkers') {
    const marker = record as StageMarker;
    return marker.stage + SEP + marker.queryId;
  }
  if (kind === 'modelCache') return (record as { inputHash: string }).inputHash;
  throw new Error(`record of kind ${kind} has no id`);
}

export interface StoreLocation {
  /** The store's directory: where blobs and per-store working files live. */
  dir: string;
  /** Where the blob files go; `<dir>/blobs` unless given. */
  blobsDir?: string;
}

/**
 * LevelDB's table file size: 1 MiB, not its default 2 MiB. LevelDB reads a compaction's input tables
 * through memory maps, so they are resident while it runs, and a compaction takes up to 25 tables'
 * worth of bytes; a store of pages' HTML grows levels whose compactions reach that size. Halving the
 * tables halves those spikes: the 20× latency benchmark's peak RSS 367–371 → 350–358 MB (BENCHMARKS.md).
 */
const TABLE_FILE_BYTES = 1024 * 1024;

/**
 * LevelDB's write buffer (its in-memory table before a flush to level 0): 8 MiB, not its default
 * 4 MiB. Page ids are hashes, so every flushed table overlaps the whole of level 1 and each flush
 * rewrites it: crawling the CPU-bound mirror benchmark's 1,020 pages wrote 80 MB of compaction output
 * for a 22 MB database with 4 MiB, 36.5 MB with 8 MiB and 12.5 MB with 16 MiB, and LevelDB's
 * compaction thread took CPU the crawl's own threads need (0.8 s at 4 MiB, 0.2 s at 16 MiB). The
 * table lives in memory (twice over while one is flushed): at 20× the latency benchmark 16 MiB
 * raised peak RSS to 434 MB, 8 MiB kept it at 413 MB (BENCHMARKS.md).
 */
const WRITE_BUFFER_BYTES = 8 * 1024 * 1024;

export class CorpusStore {
  readonly dir: string;
  private readonly db: StoreDatabase;
  private readonly blobs: BlobStore;
  private readonly htmlSublevel: TextSublevel;
  private readonly htmlBlobSublevel: TextSublevel;
  /** Set at open: whether any page's HTML is still in the inline part (a store from before HTML blobs). */
  private hasInlineHtml = false;
  private readonly sublevels = new Map<RecordKind, JsonSublevel>();
  private readonly indexes = new Map<IndexName, TextSublevel>();
  private readonly meta: JsonSublevel;
  private readonly stageStatsSublevel: JsonSublevel;

  private constructor(db: StoreDatabase, location: StoreLocation) {
    this.dir = location.dir;
    this.db = db;
    this.blobs = new BlobStore(location.blobsDir ?? path.join(location.dir, 'blobs'));
    for (const kind of Object.keys(recordSchemas) as RecordKind[]) {
      this.sublevels.set(kind, db.sublevel<string, unknown>(kind, { valueEncoding: 'json' }));
    }
    for (const name of indexNames) {
      this.indexes.set(name, db.sublevel<string, string>(STORE_PARTS.indexPrefix + name, { valueEncoding: 'utf8' }));
    }
    this.htmlSublevel = db.sublevel<string, string>(STORE_PARTS.html, { valueEncoding: 'utf8' });
    this.htmlBlobSublevel = db.sublevel<string, string>(STORE_PARTS.htmlBlobs, { valueEncoding: 'utf8' });
    this.meta = db.sublevel<string, unknown>(STORE_PARTS.meta, { valueEncoding: 'json' });
    this.stageStatsSublevel = db.sublevel<string, unknown>(STORE_PARTS.stageStats, { valueEncoding: 'json' });
    batchTargets.set(this, {
      db,
      blobs: this.blobs,
      html: this.htmlSublevel,
      htmlBlobs: this.htmlBlobSublevel,
      inlineHtml: () => this.hasInlineHtml,
      sublevelOf: (kind) => this.sublevelOf(kind),
      indexSublevel: (index) => this.indexSublevel(index),
    });
  }

  /**
   * Opens the LevelDB store in `dir`, creating it only where nothing is (and never with `mustExist`);
   * an existing store is opened without LevelDB's create-if-missing, so damage is refused, never
   * replaced. Refuses a store written with another schema version.
   */
  static async open(dir: string, options: OpenOptions = {}): Promise<CorpusStore> {
    const folder = await inspectStoreFolder(dir, options);
    if (folder.create) await mkdir(dir, { recursive: true });
    let store: CorpusStore;
    try {
      // Held by another process: go through it (storage/shared-store.ts).
      store = await openOrJoin(dir, {
        here: async () => {
          const db = new Level<string, unknown>(path.join(dir, 'db'), { valueEncoding: 'json', createIfMissing: folder.create, maxFileSize: TABLE_FILE_BYTES, writeBufferSize: WRITE_BUFFER_BYTES });
          return CorpusStore.over(db, { dir }).then(async (opened) => (await shareDatabase(db, dir), opened));
        },
        join: (db) => CorpusStore.over(db, { dir }),
        fail: (message) => new StoreOpenError(message),
      });
    } catch (error) {
      const failed = error as { code?: string; message: string; cause?: Error };
      const detail = damageDetail(error) ?? (failed.code === 'LEVEL_DATABASE_NOT_OPEN' ? (failed.cause?.message ?? failed.message) : undefined);
      if (detail !== undefined) throw new StoreDamagedError(dir, 'the database', detail.split('\n')[0]!);
      throw error;
    }
    if (!folder.marked) await writeStoreMarker(dir);
    return store;
  }

  /**
   * A store over any abstract-level database, which it then owns (close() closes it); refuses a
   * database written with another schema version, and stamps an empty one with this version.
   */
  static async over(db: StoreDatabase, location: StoreLocation): Promise<CorpusStore> {
    await db.open();
    const store = new CorpusStore(db, location);
    const found = await store.meta.get('schemaVersion');
    if (found === undefined) {
      await store.meta.put('schemaVersion', SCHEMA_VERSION);
    } else if (found !== SCHEMA_VERSION) {
      await db.close();
      throw new StoreVersionError(location.dir, found);
    }
    try {
      for await (const _key of store.htmlSublevel.keys({ limit: 1 })) store.hasInlineHtml = true;
    } catch (error) {
      await db.close();
      store.damaged('pageHtml')(error);
    }
    return store;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Turns a read failure that is damage into one line naming the store and `part` (see storage/damage.ts). */
  private damaged(part: string): (error: unknown) => never {
    return (error) => asDamage(error, this.dir, part);
  }

  private sublevelOf(kind: RecordKind): JsonSublevel {
    return this.sublevels.get(kind)!;
  }

  private indexSublevel(index: IndexName): TextSublevel {
    return this.indexes.get(index)!;
  }

  batch(): StoreBatch {
    return new StoreBatch(this);
  }

  async put<K extends RecordKind>(kind: K, record: RecordOf<K>): Promise<void> {
    await this.batch().put(kind, record).write();
  }

  async get<K extends RecordKind>(kind: K, id: string): Promise<RecordOf<K> | undefined> {
    return (await this.sublevelOf(kind).get(id).catch(this.damaged(kind))) as RecordOf<K> | undefined;
  }

  async getMany<K extends RecordKind>(kind: K, ids: string[]): Promise<Array<RecordOf<K> | undefined>> {
    if (ids.length === 0) return [];
    return (await this.sublevelOf(kind).getMany(ids).catch(this.damaged(kind))) as Array<RecordOf<K> | undefined>;
  }

  async has(kind: RecordKind, id: string): Promise<boolean> {
    return (await this.sublevelOf(kind).get(id).catch(this.damaged(kind))) !== undefined;
  }

  /** Records of a kind in key order; with `shard`, only those whose id falls in that shard. */
  async *iterate<K extends RecordKind>(kind: K, options: { shard?: Shard; prefix?: string } = {}): AsyncGenerator<RecordOf<K>> {
    const range = options.prefix === undefined ? {} : { gte: options.prefix, lt: options.prefix + '\uffff' };
    try {
      for await (const [key, value] of this.sublevelOf(kind).iterator(range)) {
        if (options.shard && !inShard(key, options.shard)) continue;
        yield value as RecordOf<K>;
      }
    } catch (error) {
      this.damaged(kind)(error);
    }
  }

  async count(kind: RecordKind): Promise<number> {
    let n = 0;
    try {
      for await (const _ of this.sublevelOf(kind).keys()) n++;
    } catch (error) {
      this.damaged(kind)(error);
    }
    return n;
  }

  /** Ids linked from `from` in a secondary index, in key order. */
  async related(index: IndexName, from: string): Promise<string[]> {
    const ids: string[] = [];
    const prefix = from + SEP;
    try {
      for await (const key of this.indexSublevel(index).keys({ gte: prefix, lt: from + SEP_END })) {
        ids.push(key.slice(prefix.length));
      }
    } catch (error) {
      this.damaged(`index ${index}`)(error);
    }
    return ids;
  }

  /** Every link of a secondary index as [from, to], in key order. */
  async *links(index: IndexName): AsyncGenerator<[string, string]> {
    try {
      for await (const key of this.indexSublevel(index).keys()) {
        const at = key.indexOf(SEP);
        yield [key.slice(0, at), key.slice(at + SEP.length)];
      }
    } catch (error) {
      this.damaged(`index ${index}`)(error);
    }
  }

  /** A page's HTML; undefined when none is stored (or its blob file is gone: `m2rag doctor` reports that). */
  async getHtml(pageId: string): Promise<string | undefined> {
    const sha = await this.htmlBlobSublevel.get(pageId).catch(this.damaged('pageHtmlBlob'));
    if (sha !== undefined) return (await this.blobs.get(sha))?.toString('utf8');
    return this.hasInlineHtml ? this.htmlSublevel.get(pageId).catch(this.damaged('pageHtml')) : undefined;
  }

  /** The bytes of a blob by its sha256, or undefined when it is not stored. */
  async getBlob(sha256: string): Promise<Buffer | undefined> {
    return this.blobs.get(sha256);
  }

  async hasBlob(sha256: string): Promise<boolean> {
    return this.blobs.has(sha256);
  }

  /** The file a blob is stored in, for copying it out (it may not exist: check hasBlob or handle ENOENT). */
  blobPath(sha256: string): string {
    return this.blobs.pathOf(sha256);
  }

  /**
   * The bytes to show of an image: with `prefer: 'thumbnail'`, its thumbnail when it has one that
   * is stored, else the original bytes; undefined when neither is stored.
   */
  async imageBytes(image: Image, options: { prefer?: 'thumbnail' | 'original' } = {}): Promise<Buffer | undefined> {
    const thumbnail = options.prefer === 'thumbnail' && image.thumbnailId ? await this.blobs.get(image.thumbnailId) : undefined;
    return thumbnail ?? (await this.blobs.get(image.id));
  }

  async isStageDone(stage: string, queryId: string): Promise<boolean> {
    return this.has('stageMarkers', stage + SEP + queryId);
  }

  async stageMarkerCount(stage: string): Promise<number> {
    let n = 0;
    for await (const _ of this.sublevelOf('stageMarkers').keys({ gte: stage + SEP, lt: stage + SEP_END })) n++;
    return n;
  }

  /**
   * Records one run of a stage: its counts are kept as the last run's, and added to the totals over
   * all runs (which grow with every --force; the per-query markers hold the current state).
   */
  async addStageStats(stage: string, counts: Record<string, number>, settings?: Record<string, unknown>): Promise<StageStats> {
    const previous = (await this.stageStatsSublevel.get(stage)) as StageStats | undefined;
    const totals: Record<string, number> = { ...(previous?.counts ?? {}) };
    for (const [key, n] of Object.entries(counts)) totals[key] = (totals[key] ?? 0) + n;
    const at = new Date().toISOString();
    const stats: StageStats = { stage, runs: (previous?.runs ?? 0) + 1, lastRunAt: at, counts: totals, lastRun: { ...counts }, settings: settings ?? previous?.settings };
    await this.stageStatsSublevel.put(stage, stats);
    return stats;
  }

  /** The counts of the queries a stage has done, each as of its latest run: never doubled by a redo. */
  async doneQueryCounts(stage: string): Promise<Record<string, number>> {
    const sum: Record<string, number> = {};
    for await (const marker of this.sublevelOf('stageMarkers').values({ gte: stage + SEP, lt: stage + SEP_END })) {
      for (const [key, n] of Object.entries((marker as StageMarker).counts)) sum[key] = (sum[key] ?? 0) + n;
    }
    return sum;
  }

  async stageStats(): Promise<StageStats[]> {
    const all: StageStats[] = [];
    for await (const value of this.stageStatsSublevel.values()) all.push(value as StageStats);
    return all;
  }
}
