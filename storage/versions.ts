// Numbered store versions (`m2rag refresh`): reading them, the change records of a version, and
// the dataset frozen with each version. A version's dataset is the M2RAG export as it was made at
// that version, kept file by file in the content-addressed blob store, so `export --version N`
// writes back exactly the bytes of then, whatever changed in the store since.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from './blobs.js';
import type { CorpusStore, StoreBatch } from './store.js';
import type { Change, StoreVersion } from './version-schemas.js';

/** Version ids sort in number order. */
export function versionIdOf(number: number): string {
  return 'v' + String(number).padStart(6, '0');
}

/** One change record per version, kind and URL: a rerun of the same refresh rewrites it. */
export function changeIdOf(version: number, kind: Change['kind'], url: string): string {
  return `${versionIdOf(version)}:${kind}:${url}`;
}

export async function getVersion(store: CorpusStore, number: number): Promise<StoreVersion | undefined> {
  return store.get('versions', versionIdOf(number));
}

/** The newest finished version, if the store has any. */
export async function latestVersion(store: CorpusStore): Promise<StoreVersion | undefined> {
  let latest: StoreVersion | undefined;
  for await (const version of store.iterate('versions')) if (version.status === 'done') latest = version;
  return latest;
}

/** The change records of versions after `since` (all with 0), in version then URL order. */
export async function changesSince(store: CorpusStore, since: number): Promise<Change[]> {
  const found: Change[] = [];
  for await (const change of store.iterate('changes')) if (change.version > since) found.push(change);
  return found;
}

/** The change records of one version. */
export async function changesOf(store: CorpusStore, version: number): Promise<Change[]> {
  const found: Change[] = [];
  for await (const change of store.iterate('changes', { prefix: versionIdOf(version) + ':' })) found.push(change);
  return found;
}

/** Adds every file under `dir` to `batch` as a blob; returns relative path → sha256 (the version's dataset). */
export async function freezeFolder(dir: string, batch: StoreBatch): Promise<Record<string, string>> {
  const manifest: Record<string, string> = {};
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries.sort((a, b) => path.join(a.parentPath, a.name).localeCompare(path.join(b.parentPath, b.name)))) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const bytes = await readFile(full);
    batch.putBlob(bytes);
    manifest[path.relative(dir, full).split(path.sep).join('/')] = sha256Hex(bytes);
  }
  return manifest;
}

/** A version's dataset is missing a blob it names (the store was damaged since). */
export class VersionDatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VersionDatasetError';
  }
}

/** Writes the dataset frozen with `version` into `outDir` (the folders `images/` and the rest, as exported then). */
export async function writeVersionDataset(store: CorpusStore, version: StoreVersion, outDir: string): Promise<number> {
  if (!version.dataset) throw new VersionDatasetError(`version ${version.number} holds no dataset (${version.datasetWarning ?? 'it was not exported'})`);
  await mkdir(path.join(outDir, 'images'), { recursive: true });
  let files = 0;
  for (const [relative, sha] of Object.entries(version.dataset)) {
    const bytes = await store.getBlob(sha);
    if (!bytes) throw new VersionDatasetError(`version ${version.number}: the blob of ${relative} (${sha}) is gone; run \`m2rag doctor\``);
    const target = path.join(outDir, ...relative.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
    files++;
  }
  return files;
}
