// What a --store folder holds, decided before LevelDB touches it: a store is never created by
// accident (only a command that writes may create one, and only where nothing is), and an existing
// store is never replaced by a fresh database (LevelDB would delete the old tables as obsolete).
// A store carries a marker file written at creation; stores made before the marker get it on their
// first healthy open.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SCHEMA_VERSION } from './schemas.js';

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

export const STORE_MARKER = 'm2rag-store.json';
/** Version of the folder layout the marker describes (db/, blobs/), apart from the record schema version. */
export const STORE_FORMAT_VERSION = 1;

const LEVELDB_DATA_FILE = /^(MANIFEST-\d+|\d+\.(ldb|sst|log))$/;
/** Entries a folder may hold and still count as empty: what an interrupted creation leaves. */
const LEFT_BY_CREATION = new Set(['db', 'blobs']);

const doctorHint = (dir: string): string => `run \`m2rag --store ${dir} doctor\``;

export interface StoreFolder {
  /** Nothing is there yet: the database may be created. */
  create: boolean;
  /** The marker file is there. */
  marked: boolean;
}

/**
 * Refuses what must never be opened as a store: a file; a database folder whose CURRENT is gone;
 * a marked store whose database is gone; a folder that holds other things; and, when the store
 * must exist, a folder that holds none.
 */
export async function inspectStoreFolder(dir: string, options: OpenOptions): Promise<StoreFolder> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new StoreOpenError(`--store ${dir} is a file, not a store folder; name a folder`);
  const marked = info !== undefined && (await stat(path.join(dir, STORE_MARKER)).catch(() => undefined)) !== undefined;
  const dbDir = path.join(dir, 'db');
  const files = await readdir(dbDir).catch(() => undefined);
  const hasCurrent = files?.includes('CURRENT') ?? false;
  if (files && !hasCurrent && files.some((f) => LEVELDB_DATA_FILE.test(f))) {
    const manifests = files.filter((f) => f.startsWith('MANIFEST-')).sort();
    throw new StoreOpenError(
      `store ${dir} is damaged: ${dbDir}/CURRENT is missing, and opening it would discard its data; ` +
        (manifests.length > 0 ? `restore it with: printf '${manifests.at(-1)}\\n' > ${path.join(dbDir, 'CURRENT')}, or ${doctorHint(dir)} --repair` : `${doctorHint(dir)} --repair`),
    );
  }
  if (hasCurrent) return { create: false, marked };
  if (marked) throw new StoreOpenError(`store ${dir} is damaged: it has ${STORE_MARKER} but its database ${dbDir} is missing or empty; restore db/ from a backup, or ${doctorHint(dir)}`);
  if (options.mustExist) {
    throw new StoreOpenError(`${dir} is not an m2rag store (no ${path.join(dbDir, 'CURRENT')}); check --store, or make one with \`m2rag build\` or \`m2rag crawl\``);
  }
  const entries = info ? await readdir(dir) : [];
  const other = entries.filter((entry) => !LEFT_BY_CREATION.has(entry));
  if (other.length > 0) {
    throw new StoreOpenError(`--store ${dir} holds other files (${other.slice(0, 3).join(', ')}${other.length > 3 ? ', …' : ''}) and no m2rag store; a new store is only made in an empty or new folder`);
  }
  return { create: true, marked: false };
}

/** Writes the marker of a healthy store; a store on a read-only disk stays usable without one. */
export async function writeStoreMarker(dir: string): Promise<void> {
  const marker = { format: 'm2rag-store', formatVersion: STORE_FORMAT_VERSION, schemaVersion: SCHEMA_VERSION, markedAt: new Date().toISOString() };
  await writeFile(path.join(dir, STORE_MARKER), JSON.stringify(marker, null, 2) + '\n', { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (!['EEXIST', 'EROFS', 'EACCES', 'EPERM'].includes(error.code ?? '')) throw error;
  });
}

/** The store's marker, or undefined when it has none or it cannot be read as one. */
export async function readStoreMarker(dir: string): Promise<Record<string, unknown> | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path.join(dir, STORE_MARKER), 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
