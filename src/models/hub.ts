// `m2rag models pull`: downloads a known ONNX export (vision + text graphs, tokenizer and
// preprocessor config) from a server laid out like the Hugging Face hub into ~/.cache/m2rag/models.
// Every file is checked against the hub's listing (sha256 for LFS files, the git blob sha1 for the
// others), downloads resume from a `.part` file with an HTTP Range request, and a file only takes
// its final name once verified.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { UserError } from '../core/errors.js';

/** The files of a CLIP-family export in the layout of Xenova's / Optimum's ONNX conversions. */
export const CLIP_EXPORT_FILES = ['onnx/vision_model.onnx', 'onnx/text_model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json', 'config.json'];

/** Short names for known exports; any other `owner/name` hub id works too. */
export const KNOWN_MODELS: Record<string, { repo: string; description: string }> = {
  'clip-vit-b32': { repo: 'Xenova/clip-vit-base-patch32', description: 'OpenAI CLIP ViT-B/32, 512-d (the RagVL retriever)' },
  'siglip-base': { repo: 'Xenova/siglip-base-patch16-224', description: 'SigLIP base patch16 224, 768-d' },
  'mobileclip-s0': { repo: 'Xenova/mobileclip_s0', description: 'MobileCLIP S0, 512-d, fast on CPU' },
};

export function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'm2rag');
}

export function modelDirOf(cacheDir: string, name: string): string {
  return path.join(cacheDir, 'models', name.replace(/\//g, '--'));
}

const Listing = z.object({
  siblings: z.array(
    z.object({
      rfilename: z.string(),
      size: z.number().optional(),
      blobId: z.string().optional(),
      lfs: z.object({ sha256: z.string(), size: z.number() }).optional(),
    }),
  ),
});

interface Expected {
  file: string;
  size?: number;
  algorithm: 'sha256' | 'git-sha1';
  digest: string;
}

async function fileDigest(file: string, algorithm: Expected['algorithm']): Promise<string> {
  const hash = createHash(algorithm === 'sha256' ? 'sha256' : 'sha1');
  if (algorithm === 'git-sha1') hash.update(`blob ${(await stat(file)).size}\0`);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

export interface PullReport {
  name: string;
  repo: string;
  dir: string;
  files: Array<{ file: string; bytes: number; status: 'downloaded' | 'resumed' | 'present' }>;
}

export async function pullModel(name: string, options: { hubUrl: string; cacheDir: string; revision?: string; onFile?: (file: string) => void }): Promise<PullReport> {
  const known = KNOWN_MODELS[name];
  const repo = known?.repo ?? name;
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) {
    throw new UserError(`models pull: unknown model "${name}" (known: ${Object.keys(KNOWN_MODELS).join(', ')}; or give a hub id such as Xenova/clip-vit-base-patch32)`);
  }
  const revision = options.revision ?? 'main';
  const hub = options.hubUrl.replace(/\/+$/, '');
  const listingUrl = `${hub}/api/models/${repo}/revision/${revision}?blobs=true`;
  let response: Response;
  try {
    response = await fetch(listingUrl);
  } catch (error) {
    throw new UserError(`models pull: cannot reach ${hub} (${(error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message}); set models.hubUrl or --hub-url to a reachable mirror`);
  }
  if (!response.ok) throw new UserError(`models pull: ${listingUrl} answered ${response.status}; is "${repo}" a model on that hub?`);
  const listing = Listing.safeParse(await response.json().catch(() => undefined));
  if (!listing.success) throw new UserError(`models pull: ${listingUrl} did not return a model listing`);
  const expected: Expected[] = [];
  for (const file of CLIP_EXPORT_FILES) {
    const entry = listing.data.siblings.find((s) => s.rfilename === file);
    if (!entry) {
      if (file === 'config.json' || file === 'tokenizer_config.json') continue;
      throw new UserError(`models pull: ${repo} has no ${file}; only CLIP-family ONNX exports (${CLIP_EXPORT_FILES.slice(0, 3).join(', ')}, …) can be pulled`);
    }
    if (entry.lfs) expected.push({ file, size: entry.lfs.size, algorithm: 'sha256', digest: entry.lfs.sha256 });
    else if (entry.blobId) expected.push({ file, size: entry.size, algorithm: 'git-sha1', digest: entry.blobId });
    else throw new UserError(`models pull: the listing gives no checksum for ${file}; refusing an unverifiable download`);
  }

  const dir = modelDirOf(options.cacheDir, name);
  const report: PullReport = { name, repo, dir, files: [] };
  for (const want of expected) {
    options.onFile?.(want.file);
    const target = path.join(dir, want.file);
    await mkdir(path.dirname(target), { recursive: true });
    if ((await sizeOf(target)) > 0 && (await fileDigest(target, want.algorithm)) === want.digest) {
      report.files.push({ file: want.file, bytes: await sizeOf(target), status: 'present' });
      continue;
    }
    const part = target + '.part';
    const have = await sizeOf(part);
    const url = `${hub}/${repo}/resolve/${revision}/${want.file.split('/').map(encodeURIComponent).join('/')}`;
    const download = await fetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {} });
    const resumed = have > 0 && download.status === 206;
    if (!download.ok || !download.body) throw new UserError(`models pull: ${url} answered ${download.status}`);
    await pipeline(Readable.fromWeb(download.body as never), createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
    const digest = await fileDigest(part, want.algorithm);
    if (digest !== want.digest) {
      await rm(part, { force: true });
      throw new UserError(`models pull: ${want.file} failed verification (${want.algorithm} ${digest}, the hub lists ${want.digest}); the partial file was removed, run the pull again`);
    }
    await rename(part, target);
    report.files.push({ file: want.file, bytes: await sizeOf(target), status: resumed ? 'resumed' : 'downloaded' });
  }
  return report;
}

export interface LocalModel {
  name: string;
  dir: string;
  bytes: number;
  complete: boolean;
}

/** Model directories in the cache; complete = the vision and text graphs and tokenizer.json are there. */
export async function listModels(cacheDir: string): Promise<LocalModel[]> {
  const root = path.join(cacheDir, 'models');
  let entries: string[];
  try {
    entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
  const models: LocalModel[] = [];
  for (const entry of entries.sort()) {
    const dir = path.join(root, entry);
    let bytes = 0;
    for (const file of await readdir(dir, { recursive: true })) bytes += (await stat(path.join(dir, file))).isFile() ? await sizeOf(path.join(dir, file)) : 0;
    const present = await Promise.all(['onnx/vision_model.onnx', 'onnx/text_model.onnx', 'tokenizer.json'].map(async (f) => (await sizeOf(path.join(dir, f))) > 0));
    models.push({ name: entry.replace(/--/g, '/'), dir, bytes, complete: present.every(Boolean) });
  }
  return models;
}
