// Near-duplicate finding over a folder of image files, outside any store: the same decoding,
// hashing and clustering the `process-images` stage uses, for `m2rag dedup-images`.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { clusterByHash, type ClusterOptions, type HashedItem } from './cluster.js';
import { decodeImage } from './decode.js';

export interface DirectoryDedupOptions extends ClusterOptions {
  pixelLimit: number;
  concurrency: number;
}

export interface DirectoryDedupResult {
  /** Clusters of two or more files (names relative to the folder), each sorted, sorted by first name. */
  clusters: string[][];
  /** Files that could not be decoded, with the reason. */
  errors: Array<{ file: string; reason: string }>;
  files: number;
}

/** Every regular file under `dir`, relative to it, in a stable order. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

export async function dedupDirectory(dir: string, options: DirectoryDedupOptions): Promise<DirectoryDedupResult> {
  const files = await listFiles(dir);
  const limit = pLimit(options.concurrency);
  const decodeOptions = { pixelLimit: options.pixelLimit, thumbnailSide: 0, thumbnailFormat: 'jpeg' as const, thumbnailQuality: 85 };
  const results = await Promise.all(
    files.map((file) =>
      limit(async () => {
        try {
          return { file, result: await decodeImage(await readFile(path.join(dir, file)), decodeOptions) };
        } catch (error) {
          return { file, result: { ok: false as const, reason: `unreadable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` } };
        }
      }),
    ),
  );
  const hashed: Array<HashedItem & { file: string }> = [];
  const errors: DirectoryDedupResult['errors'] = [];
  for (const { file, result } of results) {
    if (result.ok) hashed.push({ file, phash: result.phash, dhash: result.dhash, centerPhash: result.centerPhash, centerDhash: result.centerDhash });
    else errors.push({ file, reason: result.reason });
  }
  const clusters = clusterByHash(hashed, options)
    .filter((group) => group.length > 1)
    .map((group) => group.map((i) => hashed[i]!.file).sort())
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
  return { clusters, errors, files: files.length };
}
