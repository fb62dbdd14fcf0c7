// Near-duplicate finding over a folder of image files, outside any store: the same decoding,
// fingerprints and clustering the `process-images` stage uses, for `m2rag dedup-images`.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { decodeImage } from './decode.js';
import { fingerprintOf, type Fingerprint } from './fingerprint.js';
import { clusterFingerprints, type NearDuplicateOptions } from './near-dup.js';

export interface DirectoryDedupOptions extends NearDuplicateOptions {
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
      limit(async (): Promise<{ file: string; fingerprint?: Fingerprint; reason?: string }> => {
        try {
          const bytes = await readFile(path.join(dir, file));
          const decoded = await decodeImage(bytes, decodeOptions);
          if (!decoded.ok) return { file, reason: decoded.reason };
          return { file, fingerprint: await fingerprintOf(bytes, options.pixelLimit) };
        } catch (error) {
          return { file, reason: `unreadable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
        }
      }),
    ),
  );
  const hashed = results.filter((r): r is { file: string; fingerprint: Fingerprint } => r.fingerprint !== undefined);
  const errors: DirectoryDedupResult['errors'] = results.flatMap((r) => (r.fingerprint ? [] : [{ file: r.file, reason: r.reason! }]));
  const clusters = clusterFingerprints(
    hashed.map((r) => r.fingerprint),
    options,
  )
    .clusters.filter((group) => group.length > 1)
    .map((group) => group.map((i) => hashed[i]!.file).sort())
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
  return { clusters, errors, files: files.length };
}
