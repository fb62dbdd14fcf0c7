// Image-processing benchmarks (figures go to BENCHMARKS.md, section "Image processing").
//   node --import tsx bench/images.ts [--sources 80] [--distinct 300] [--skip-cli] [--keep]
// (a) decode + normalize + filter + hash throughput, one worker (sharp/libvips limited to one
//     thread), on ../shared/corpora/flickr8k-1k and on the mirror's images; files are read into
//     memory first, so the figure is processing only.
// (b) near-duplicate quality of the window-hash + verification method (processors/images/near-dup.ts):
//     real photos each with every copy of bench/images-transforms.ts (10 families, several strengths)
//     planted among untouched distinct photos; recall per transform, per family and overall,
//     pairwise precision, and images/s on one core for fingerprinting + indexing and, apart, for
//     verifying the candidates; then other index radii, and the same folder through `m2rag dedup-images`.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { scoreClusters, TRANSFORMS, writePlantedSet, type PlantedSet } from './images-transforms.js';
import { fingerprintOf, type Fingerprint } from '../processors/images/fingerprint.js';
import { clusterFingerprints, nearDuplicateOptionsFrom } from '../processors/images/near-dup.js';
import { decodeImage, type DecodeOptions } from '../processors/images/decode.js';
import { filterImage } from '../processors/images/filters.js';
import { ConfigSchema } from '../src/core/config.js';
import { filterSettingsFrom } from '../processors/images/stage.js';
import { sha256Hex } from '../storage/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CORPORA = path.resolve(ROOT, '../shared/corpora');
const { values: args } = parseArgs({
  options: {
    sources: { type: 'string', default: '80' },
    distinct: { type: 'string', default: '300' },
    'skip-cli': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const config = ConfigSchema.parse({});
const settings = filterSettingsFrom(config.images);

async function loadFiles(dir: string, accept: RegExp): Promise<Array<{ name: string; bytes: Buffer }>> {
  const names = (await readdir(dir)).filter((name) => accept.test(name)).sort();
  return Promise.all(names.map(async (name) => ({ name, bytes: await readFile(path.join(dir, name)) })));
}

async function throughput(label: string, files: Array<{ name: string; bytes: Buffer }>, options: DecodeOptions): Promise<void> {
  const startCpu = process.cpuUsage();
  const start = performance.now();
  let failed = 0;
  let kept = 0;
  for (const file of files) {
    const result = await decodeImage(file.bytes, options);
    const image = {
      id: sha256Hex(file.bytes),
      bytes: file.bytes.length,
      mime: 'image/*',
      firstUrl: file.name,
      fetchedAt: new Date(0).toISOString(),
      ...(result.ok ? { width: result.width, height: result.height } : { decodeError: result.reason }),
    };
    if (!result.ok) failed++;
    if (filterImage(image, [], settings).kept) kept++;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(startCpu);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    `${label}: ${files.length} images in ${seconds.toFixed(2)} s wall = ${(files.length / seconds).toFixed(0)} images/s; ` +
      `CPU ${cpuSeconds.toFixed(2)} s = ${(files.length / cpuSeconds).toFixed(0)} images per CPU-second; failed ${failed}, kept ${kept}`,
  );
}

interface FingerprintedSet {
  files: string[];
  fingerprints: Array<Fingerprint | undefined>;
  /** CPU seconds spent in fingerprintOf (decode, border trim, 48×48 + 12×12 pictures), one at a time. */
  cpuSeconds: number;
}

async function fingerprintAll(dir: string): Promise<FingerprintedSet> {
  const files = (await readdir(dir)).sort();
  const fingerprints: Array<Fingerprint | undefined> = [];
  let cpuMicros = 0;
  for (const file of files) {
    const bytes = await readFile(path.join(dir, file));
    const start = process.cpuUsage();
    fingerprints.push(await fingerprintOf(bytes, config.images.decodePixelLimit).catch(() => undefined));
    const used = process.cpuUsage(start);
    cpuMicros += used.user + used.system;
  }
  return { files, fingerprints, cpuSeconds: cpuMicros / 1e6 };
}

const ratio = (hit: number, all: number): string => `${(hit / all).toFixed(3)} (${hit}/${all})`;

/** Share of copies that landed in their original's cluster, per transform and pooled per family. */
function recallByTransform(clusters: number[][], files: string[], planted: PlantedSet): void {
  const clusterOf = new Map<string, number>();
  clusters.forEach((cluster, k) => cluster.forEach((i) => clusterOf.set(files[i]!, k)));
  const perTransform = new Map<string, [number, number]>();
  for (const [file, transform] of planted.transformOf) {
    const tally = perTransform.get(transform) ?? [0, 0];
    if (clusterOf.get(file) === clusterOf.get(planted.originalOf.get(file)!)) tally[0]++;
    tally[1]++;
    perTransform.set(transform, tally);
  }
  const perFamily = new Map<string, [number, number]>();
  console.log('  recall per transform and strength (copy clustered with its original):');
  for (const transform of TRANSFORMS) {
    const [hit, all] = perTransform.get(transform.name)!;
    console.log(`    ${transform.name.padEnd(40)} ${ratio(hit, all)}`);
    const family = perFamily.get(transform.family) ?? [0, 0];
    perFamily.set(transform.family, [family[0] + hit, family[1] + all]);
  }
  console.log('  recall per family:');
  for (const [family, [hit, all]] of perFamily) console.log(`    ${family.padEnd(40)} ${ratio(hit, all)}`);
  const copies = [...perTransform.values()].reduce((sum, [hit, all]) => [sum[0] + hit, sum[1] + all], [0, 0]);
  console.log(`  copies clustered with their original: ${ratio(copies[0]!, copies[1]!)}`);
}

function pairScores(clusters: number[][], files: string[], planted: PlantedSet): string {
  const named = clusters.filter((c) => c.length > 1).map((c) => c.map((i) => files[i]!));
  const s = scoreClusters(named, planted.sourceOf);
  const mixed = named.filter((c) => new Set(c.map((f) => planted.sourceOf.get(f))).size > 1).length;
  return (
    `pairwise precision ${s.precision.toFixed(4)} recall ${s.recall.toFixed(4)} ` +
    `(${s.correctPairs}/${s.predictedPairs} predicted pairs right, ${s.truePairs} true pairs; ${mixed} clusters mixing photos)`
  );
}

async function main(): Promise<void> {
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`);
  sharp.concurrency(1);
  const flickr = await loadFiles(path.join(CORPORA, 'flickr8k-1k'), /\.jpe?g$/i);
  const mirror = await loadFiles(path.join(CORPORA, 'wiki-ray-charles/I/m'), /\.(jpe?g|png|gif|svg|webp)$/i);
  const normalize: DecodeOptions = { pixelLimit: config.images.decodePixelLimit, thumbnailSide: 512, thumbnailFormat: 'jpeg', thumbnailQuality: 85 };
  console.log('(a) decode + normalize + filter + hash, one worker, libvips concurrency 1');
  await throughput('flickr8k-1k, thumbnails as stored (small sRGB JPEGs serve as their own)', flickr, normalize);
  await throughput('flickr8k-1k, JPEG thumbnail always made (side 128 forces a resize)', flickr, { ...normalize, thumbnailSide: 128 });
  await throughput('flickr8k-1k, WebP thumbnail always made', flickr, { ...normalize, thumbnailFormat: 'webp' });
  await throughput('wiki-ray-charles I/m', mirror, normalize);
  await throughput('flickr8k-1k, decode + whole-image hashes only (no thumbnail)', flickr, { ...normalize, thumbnailSide: 0 });

  const sources = Number(args.sources);
  const distinct = Number(args.distinct);
  const dir = await mkdtemp(path.join(tmpdir(), 'm2rag-bench-dedup-'));
  try {
    let start = performance.now();
    const planted = await writePlantedSet(dir, flickr.slice(0, sources), flickr.slice(sources, sources + distinct));
    console.log(
      `(b) near-duplicates: ${sources} photos × (original + ${TRANSFORMS.length} transforms) + ${distinct} distinct photos = ` +
        `${planted.files} files in ${dir} (${((performance.now() - start) / 1000).toFixed(1)} s to generate)`,
    );
    const set = await fingerprintAll(dir);
    const options = nearDuplicateOptionsFrom(config.images);
    const { clusters, stats } = clusterFingerprints(set.fingerprints, options);
    console.log(`  radius ${options.radius}, min correlation ${options.minCorrelation}, max colour disagreement ${options.maxColourDisagreement} (the defaults):`);
    console.log(`  ${pairScores(clusters, set.files, planted)}`);
    recallByTransform(clusters, set.files, planted);
    const n = set.files.length;
    const hashSeconds = set.cpuSeconds + stats.indexMs / 1000;
    console.log(
      `  fingerprint + window hashes + index, one core: ${(n / hashSeconds).toFixed(0)} images/s ` +
        `(fingerprint ${((set.cpuSeconds * 1000) / n).toFixed(2)} ms CPU/image, window hashes + index ${(stats.indexMs / n).toFixed(2)} ms/image)`,
    );
    console.log(
      `  verification of candidates only, one core: ${stats.verified} pairs in ${(stats.verifyMs / 1000).toFixed(2)} s = ` +
        `${(stats.verified / (stats.verifyMs / 1000)).toFixed(0)} pairs/s, ${(n / (stats.verifyMs / 1000)).toFixed(0)} corpus images/s ` +
        `(${(stats.verified / n).toFixed(2)} verified pairs per image)`,
    );
    for (const radius of [6, 8, 12]) {
      const other = clusterFingerprints(set.fingerprints, { ...options, radius });
      console.log(`  radius ${radius}: ${pairScores(other.clusters, set.files, planted)}; ${other.stats.verified} pairs verified`);
    }
    if (!args['skip-cli']) {
      // The same folder through the command users run, to show the CLI wiring gives the same clusters.
      start = performance.now();
      const cli = spawnSync(process.execPath, [path.join(ROOT, 'bin/m2rag.js'), 'dedup-images', dir, '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (cli.status !== 0) throw new Error(`dedup-images failed: ${cli.stderr}`);
      const seconds = (performance.now() - start) / 1000;
      const s = scoreClusters((JSON.parse(cli.stdout) as { clusters: string[][] }).clusters, planted.sourceOf);
      console.log(
        `  m2rag dedup-images ${dir} --json: pairwise precision ${s.precision.toFixed(4)} recall ${s.recall.toFixed(4)}, ` +
          `${seconds.toFixed(1)} s wall for ${planted.files} files (decode check + fingerprint, concurrency ${config.images.decodeConcurrency})`,
      );
    }
  } finally {
    if (args.keep) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
