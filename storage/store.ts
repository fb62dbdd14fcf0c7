// The corpus store: any abstract-level database (LevelDB through `level` in `<dir>/db` by default),
// one sublevel per record kind, plus secondary indexes, per-query stage markers and
// content-addressed blobs in `<dir>/blobs`. The API is deliberately small (get, put, batch,
// iterate, related, blobs) and the database stays private, so another backend can replace LevelDB.
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Level } from 'level';
import type { AbstractLevel, AbstractSublevel } from 'abstract-level';
import { BlobStore } from './blobs.js';
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

/** The database a store runs over: any abstract-level backend with string keys. */
export type StoreDatabase = AbstractLevel<string | Buffer | Uint8Array, string, unknown>;

type JsonSublevel = AbstractSublevel<StoreDatabase, string | Buffer | Uint8Array, string, unknown>;
type TextSublevel = AbstractSublevel<StoreDatabase, string | Buffer | Uint8Array, string, string>;

const SEP = '\x00';
const SEP_END = '\x01';

/** A store that cannot be opened for a reason the user can fix (printed as one line, exit 2). */
export class StoreOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreOpenError';
  }
}

export interface OpenOptions {
  /** Refuse a folder that holds no store yet (every command but those that create one). */
  mustExist?: boolean;
}

const LEVELDB_DATA_FILE = /^(MANIFEST-\d+|\d+\.(ldb|sst|log))$/;

/**
 * Refuses what must never be opened as a store: a file; a database folder whose CURRENT is gone
 * (LevelDB would start a new database there and delete the old tables as obsolete); and, when the
 * store must exist, a folder that holds none.
 */
async function refuseUnusableFolder(dir: string, options: OpenOptions): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new StoreOpenError(`--store ${dir} is a file, not a store folder; name a folder`);
  const dbDir = path.join(dir, 'db');
  const files = await readdir(dbDir).catch(() => undefined);
  const hasCurrent = files?.includes('CURRENT') ?? false;
  if (files && !hasCurrent && files.some((f) => LEVELDB_DATA_FILE.test(f))) {
    const manifests = files.filter((f) => f.startsWith('MANIFEST-')).sort();
    throw new StoreOpenError(
      `store ${dir} is damaged: ${dbDir}/CURRENT is missing, and opening it would discard its data; ` +
        (manifests.length > 0 ? `restore it with: printf '${manifests.at(-1)}\\n' > ${path.join(dbDir, 'CURRENT')}` : 'restore CURRENT from a backup'),
    );
  }
  if (options.mustExist && !hasCurrent) {
    throw new StoreOpenError(`${dir} is not an m2rag store (no ${path.join(dbDir, 'CURRENT')}); check --store, or make one with \`m2rag build\` or \`m2rag crawl\``);
  }
}

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
  | { type: 'put'; sublevel: JsonSublevel | TextSublevel; key: string; value: unknown }
  | { type: 'del'; sublevel: JsonSublevel | TextSublevel; key: string };

/** What a batch writes to: the store's private parts, which only this module can reach. */
interface BatchTarget {
  db: StoreDatabase;
  blobs: BlobStore;
  html: TextSublevel;
  sublevelOf(kind: RecordKind): JsonSublevel;
  indexSublevel(index: IndexName): TextSublevel;
}

const batchTargets = new WeakMap<CorpusStore, BatchTarget>();

/** Collects writes and commits them in one atomic batch: all land or none do. */
export class StoreBatch {
  private readonly ops: BatchOp[] = [];
  private readonly blobWrites: Array<Promise<string>> = [];
  private readonly target: BatchTarget;

  constructor(store: CorpusStore) {
    this.target = batchTargets.get(store)!;
  }

  put<K extends RecordKind>(kind: K, record: RecordOf<K>): this {
    const valid = recordSchemas[kind].parse(record) as RecordOf<K>;
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

  putHtml(pageId: string, html: string): this {
    this.ops.push({ type: 'put', sublevel: this.target.html, key: pageId, value: html });
    return this;
  }

  markStageDone(stage: string, queryId: string, counts: Record<string, number> = {}): this {
    return this.put('stageMarkers', { stage, queryId, doneAt: new Date().toISOString(), counts });
  }

  clearStageDone(stage: string, queryId: string): this {
    return this.del('stageMarkers', stage + SEP + queryId);
  }

  /** Blob bytes are written to their files before the records that point to them are committed. */
  putBlob(bytes: Uint8Array): this {
    this.blobWrites.push(this.target.blobs.put(bytes));
    return this;
  }

  get size(): number {
    return this.ops.length;
  }

  async write(): Promise<void> {
    await Promise.all(this.blobWrites);
    if (this.ops.length === 0) return;
    await this.target.db.batch(this.ops as never);
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

export class CorpusStore {
  readonly dir: string;
  private readonly db: StoreDatabase;
  private readonly blobs: BlobStore;
  private readonly htmlSublevel: TextSublevel;
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
      this.indexes.set(name, db.sublevel<string, string>('idx-' + name, { valueEncoding: 'utf8' }));
    }
    this.htmlSublevel = db.sublevel<string, string>('pageHtml', { valueEncoding: 'utf8' });
    this.meta = db.sublevel<string, unknown>('meta', { valueEncoding: 'json' });
    this.stageStatsSublevel = db.sublevel<string, unknown>('stageStats', { valueEncoding: 'json' });
    batchTargets.set(this, {
      db,
      blobs: this.blobs,
      html: this.htmlSublevel,
      sublevelOf: (kind) => this.sublevelOf(kind),
      indexSublevel: (index) => this.indexSublevel(index),
    });
  }

  /** Opens (creating if needed) the LevelDB store in `dir`; refuses a store written with another schema version. */
  static async open(dir: string, options: OpenOptions = {}): Promise<CorpusStore> {
    await refuseUnusableFolder(dir, options);
    await mkdir(dir, { recursive: true });
    try {
      return await CorpusStore.over(new Level<string, unknown>(path.join(dir, 'db'), { valueEncoding: 'json' }), { dir });
    } catch (error) {
      if ((error as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
        throw new StoreOpenError(`store ${dir} is in use by another process (a build, worker or serve on the same --store); wait for it to finish or use another --store`);
      }
      throw error;
    }
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
    return store;
  }

  async close(): Promise<void> {
    await this.db.close();
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
    return (await this.sublevelOf(kind).get(id)) as RecordOf<K> | undefined;
  }

  async getMany<K extends RecordKind>(kind: K, ids: string[]): Promise<Array<RecordOf<K> | undefined>> {
    if (ids.length === 0) return [];
    return (await this.sublevelOf(kind).getMany(ids)) as Array<RecordOf<K> | undefined>;
  }

  async has(kind: RecordKind, id: string): Promise<boolean> {
    return (await this.sublevelOf(kind).get(id)) !== undefined;
  }

  /** Records of a kind in key order; with `shard`, only those whose id falls in that shard. */
  async *iterate<K extends RecordKind>(kind: K, options: { shard?: Shard; prefix?: string } = {}): AsyncGenerator<RecordOf<K>> {
    const range = options.prefix === undefined ? {} : { gte: options.prefix, lt: options.prefix + '\uffff' };
    for await (const [key, value] of this.sublevelOf(kind).iterator(range)) {
      if (options.shard && !inShard(key, options.shard)) continue;
      yield value as RecordOf<K>;
    }
  }

  async count(kind: RecordKind): Promise<number> {
    let n = 0;
    for await (const _ of this.sublevelOf(kind).keys()) n++;
    return n;
  }

  /** Ids linked from `from` in a secondary index, in key order. */
  async related(index: IndexName, from: string): Promise<string[]> {
    const ids: string[] = [];
    const prefix = from + SEP;
    for await (const key of this.indexSublevel(index).keys({ gte: prefix, lt: from + SEP_END })) {
      ids.push(key.slice(prefix.length));
    }
    return ids;
  }

  /** Every link of a secondary index as [from, to], in key order. */
  async *links(index: IndexName): AsyncGenerator<[string, string]> {
    for await (const key of this.indexSublevel(index).keys()) {
      const at = key.indexOf(SEP);
      yield [key.slice(0, at), key.slice(at + SEP.length)];
    }
  }

  async getHtml(pageId: string): Promise<string | undefined> {
    return this.htmlSublevel.get(pageId);
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
