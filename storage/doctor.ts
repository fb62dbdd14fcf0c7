// `m2rag doctor`: checks a store part by part and, with `repair`, fixes what can be fixed.
//   - the database: opened without create-if-missing; one that will not open (or whose tables
//     cannot be read) is copied to `<store>/db.backup-<time>` and then rebuilt by LevelDB's repair;
//   - every record against its zod schema, per record kind (a garbled model-cache entry is dropped:
//     the cache is only an optimisation; any other garbled record is listed, never guessed at);
//   - every index entry against the records it links (rebuilt from the records' own fields);
//   - every blob against its sha256 (storage/doctor-blobs.ts).
import { cp, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Level } from 'level';
import { checkBlobs } from './doctor-blobs.js';
import { addProblem, newPart, type DoctorOptions, type DoctorReport, type PartReport } from './doctor-report.js';
import { damageDetail } from './damage.js';
import { indexNames, recordSchemas, type IndexName, type RecordKind } from './schemas.js';
import { INDEX_SEPARATOR, STORE_PARTS } from './store.js';
import { readStoreMarker, STORE_MARKER, StoreOpenError, writeStoreMarker } from './store-folder.js';

type RawDb = Level<string, string>;

/** The records an index links, by where each link can be derived from. */
const INDEX_TARGETS: Record<IndexName, RecordKind> = {
  'query-hits': 'hits',
  'query-pages': 'pages',
  'page-chunks': 'chunks',
  'page-occurrences': 'occurrences',
  'image-occurrences': 'occurrences',
  'query-occurrences': 'occurrences',
};

async function openRaw(dbDir: string): Promise<RawDb> {
  const db = new Level<string, string>(dbDir, { createIfMissing: false, valueEncoding: 'utf8' });
  await db.open();
  return db;
}

/** LevelDB's own repair (classic-level's static `repair`; `level` re-exports ClassicLevel under Node), after a copy of db/. */
async function repairDatabase(dir: string, dbDir: string, report: PartReport): Promise<void> {
  const backup = path.join(dir, `db.backup-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await cp(dbDir, backup, { recursive: true });
  await (Level as unknown as { repair(location: string): Promise<void> }).repair(dbDir);
  report.repaired.push(`rebuilt by LevelDB's repair (the damaged copy is kept in ${backup})`);
}

export async function doctorStore(dir: string, options: DoctorOptions): Promise<DoctorReport> {
  const dbDir = path.join(dir, 'db');
  const database = newPart('database');
  database.checked = 1;
  const files = await readdir(dbDir).catch(() => undefined);
  if (!files || files.length === 0) {
    addProblem(database, `${dbDir} is missing or empty: nothing to check; restore it from a backup`);
    return { store: dir, parts: [database], remaining: 1 };
  }

  let db: RawDb | undefined;
  let parts: PartReport[] = [];
  let whyNot = !files.includes('CURRENT') ? 'db/CURRENT is missing' : undefined;
  if (!whyNot) {
    try {
      db = await openRaw(dbDir);
      parts = await checkParts(db, dir, options);
    } catch (error) {
      if ((error as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
        throw new StoreOpenError(`store ${dir} is in use by another process; doctor needs it to itself: stop that process, then run doctor again`);
      }
      whyNot = damageDetail(error) ?? (error as { cause?: Error }).cause?.message ?? (error as Error).message;
    }
  }
  const unreadable = parts.some((p) => p.part.startsWith('unreadable'));
  if ((whyNot || unreadable) && options.repair) {
    await db?.close();
    db = undefined;
    await repairDatabase(dir, dbDir, database);
    whyNot = undefined;
    try {
      db = await openRaw(dbDir);
      parts = await checkParts(db, dir, options);
    } catch (error) {
      whyNot = damageDetail(error) ?? (error as Error).message;
    }
  }
  await db?.close();
  if (whyNot) addProblem(database, `cannot be opened: ${whyNot.split('\n')[0]}`);
  if ((await readStoreMarker(dir)) === undefined) {
    if (options.repair && !whyNot) {
      await writeStoreMarker(dir);
      database.repaired.push(`${STORE_MARKER} written`);
    } else addProblem(database, `${STORE_MARKER} is missing or unreadable (--repair writes it once the database opens)`);
  }
  const all = [database, ...parts];
  return { store: dir, parts: all, remaining: all.reduce((n, p) => n + p.problemCount, 0) };
}

/** Every part of an open database; a part whose entries cannot be iterated is reported as `unreadable <part>`. */
async function checkParts(db: RawDb, dir: string, options: DoctorOptions): Promise<PartReport[]> {
  const reports: PartReport[] = [];
  const ids = new Map<RecordKind, Set<string>>();
  const derived = new Map<IndexName, Set<string>>(indexNames.map((name) => [name, new Set<string>()]));
  const images: Array<{ id: string; thumbnailId?: string; firstUrl: string }> = [];
  const link = (index: IndexName, from: string | undefined, to: string): void => {
    if (from) derived.get(index)!.add(from + INDEX_SEPARATOR + to);
  };

  for (const kind of Object.keys(recordSchemas) as RecordKind[]) {
    const report = newPart(kind);
    // Every stored key, garbled or not: an index link to a garbled record still points at a record.
    const keys = new Set<string>();
    const garbled: string[] = [];
    try {
      for await (const [key, text] of db.sublevel<string, string>(kind, { valueEncoding: 'utf8' }).iterator()) {
        report.checked++;
        keys.add(key);
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          garbled.push(key);
          addProblem(report, `${key}: not JSON`);
          continue;
        }
        const parsed = recordSchemas[kind].safeParse(value);
        if (!parsed.success) {
          garbled.push(key);
          const issue = parsed.error.issues[0]!;
          addProblem(report, `${key}: ${issue.path.join('.') || 'record'}: ${issue.message}`);
          continue;
        }
        deriveLinks(kind, parsed.data as Record<string, unknown>, link, images);
      }
    } catch (error) {
      report.part = `unreadable ${kind}`;
      addProblem(report, `its entries cannot be read (${damageDetail(error) ?? (error as Error).message})`);
    }
    if (kind === 'modelCache' && garbled.length > 0 && options.repair) {
      await db.sublevel<string, string>(kind, { valueEncoding: 'utf8' }).batch(garbled.map((key) => ({ type: 'del' as const, key })));
      report.repaired.push(`dropped ${garbled.length} damaged cache entries (they are asked of the model again when needed)`);
      report.problemCount -= garbled.length;
      report.problems = [];
    }
    ids.set(kind, keys);
    reports.push(report);
  }

  const pageHtml: Array<{ pageId: string; sha256: string }> = [];
  for (const part of [STORE_PARTS.html, STORE_PARTS.meta, STORE_PARTS.stageStats]) reports.push(await checkReadable(db, part, part !== STORE_PARTS.html));
  reports.push(await checkReadable(db, STORE_PARTS.htmlBlobs, false, (pageId, sha256) => pageHtml.push({ pageId, sha256 })));
  for (const name of indexNames) reports.push(await checkIndex(db, name, ids.get(INDEX_TARGETS[name])!, derived.get(name)!, options));
  reports.push(await checkBlobs(dir, images, pageHtml, options));
  return reports;
}

/**
 * A part without a record schema (page HTML and the blobs it is in, the schema version, stage
 * counts): every entry readable, and JSON where it should be; `each` sees every entry.
 */
async function checkReadable(db: RawDb, part: string, json: boolean, each?: (key: string, text: string) => void): Promise<PartReport> {
  const report = newPart(part);
  try {
    for await (const [key, text] of db.sublevel<string, string>(part, { valueEncoding: 'utf8' }).iterator()) {
      report.checked++;
      each?.(key, text);
      if (!json) continue;
      try {
        JSON.parse(text);
      } catch {
        addProblem(report, `${key}: not JSON`);
      }
    }
  } catch (error) {
    report.part = `unreadable ${part}`;
    addProblem(report, `its entries cannot be read (${damageDetail(error) ?? (error as Error).message})`);
  }
  return report;
}

/** Adds the index links a record implies (each writer links exactly these), and notes images for the blob check. */
function deriveLinks(
  kind: RecordKind,
  record: Record<string, unknown>,
  link: (index: IndexName, from: string | undefined, to: string) => void,
  images: Array<{ id: string; thumbnailId?: string; firstUrl: string }>,
): void {
  const id = record.id as string;
  const str = (key: string): string | undefined => (typeof record[key] === 'string' ? (record[key] as string) : undefined);
  if (kind === 'hits') {
    link('query-hits', str('queryId'), id);
  } else if (kind === 'chunks') {
    link('page-chunks', str('pageId'), id);
  } else if (kind === 'occurrences') {
    if (record.kind === 'page') link('page-occurrences', str('pageId'), id);
    else link('query-occurrences', str('queryId'), id);
    link('image-occurrences', str('imageId'), id);
  } else if (kind === 'images') {
    images.push({ id, thumbnailId: str('thumbnailId'), firstUrl: str('firstUrl')! });
  }
}

async function checkIndex(db: RawDb, name: IndexName, targets: Set<string>, derived: Set<string>, options: DoctorOptions): Promise<PartReport> {
  const report = newPart(`index ${name}`);
  const sublevel = db.sublevel<string, string>(STORE_PARTS.indexPrefix + name, { valueEncoding: 'utf8' });
  const dangling: string[] = [];
  const present = new Set<string>();
  try {
    for await (const key of sublevel.keys()) {
      report.checked++;
      present.add(key);
      const to = key.slice(key.indexOf(INDEX_SEPARATOR) + 1);
      if (!targets.has(to)) {
        dangling.push(key);
        addProblem(report, `links ${key.replace(INDEX_SEPARATOR, ' → ')}, which is not a stored ${INDEX_TARGETS[name]} record`);
      }
    }
  } catch (error) {
    report.part = `unreadable index ${name}`;
    addProblem(report, `its entries cannot be read (${damageDetail(error) ?? (error as Error).message})`);
    return report;
  }
  // query-pages links the pages a query's hits led to (redirects, meta-refresh), which no record names: only its dangling links are checked.
  const missing = [...derived].filter((key) => !present.has(key));
  for (const key of missing) addProblem(report, `lacks the link ${key.replace(INDEX_SEPARATOR, ' → ')} its record implies`);
  if (options.repair && dangling.length + missing.length > 0) {
    await sublevel.batch([...dangling.map((key) => ({ type: 'del' as const, key })), ...missing.map((key) => ({ type: 'put' as const, key, value: '' }))]);
    report.repaired.push(`rebuilt: ${dangling.length} dangling links removed, ${missing.length} missing links added`);
    report.problemCount = 0;
    report.problems = [];
  }
  return report;
}
