// Image-processing benchmarks (figures go to BENCHMARKS.md, section "Image processing").
//   node --import tsx bench/images.ts [--sources 200] [--distinct 800] [--keep]
// (a) decode + normalize + filter + hash throughput, one worker (sharp/libvips limited to one
//     thread), on ../shared/corpora/flickr8k-1k and on the mirror's images; files are read into
//     memory first, so the figure is processing only.
// (b) dedup quality: real photos with transformed copies (50% resize, JPEG q40, 5% border crop,
//     text overlay, PNG) planted among untouched distinct photos, clustered by `m2rag dedup-images`;
//     pairwise precision and recall, plus the same clustering without the centre hashes and at other
//     thresholds, and copies cropped by other amounts than the centre hash's 5%.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { scoreClusters, writePlantedSet } from './images-transforms.js';
import { clusterByHash, type HashedItem } from '../processors/images/cluster.js';
import { decodeImage, type DecodeOptions } from '../processors/images/decode.js';
import { filterImage } from '../processors/images/filters.js';
import { ConfigSchema } from '../src/core/config.js';
import { filterSettingsFrom } from '../processors/images/stage.js';
import { sha256Hex } from '../storage/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CORPORA = path.resolve(ROOT, '../shared/corpora');
const { values: args } = parseArgs({
  options: { sources: { type: 'string', default: '200' }, distinct: { type: 'string', default: '800' }, keep: { type: 'boolean', default: false } },
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

async function hashAll(dir: string): Promise<Array<HashedItem & { file: string }>> {
  const options = { pixelLimit: config.images.decodePixelLimit, thumbnailSide: 0, thumbnailFormat: 'jpeg' as const, thumbnailQuality: 85 };
  const items: Array<HashedItem & { file: string }> = [];
  for (const file of (await readdir(dir)).sort()) {
    const result = await decodeImage(await readFile(path.join(dir, file)), options);
    if (result.ok) items.push({ file, ...result });
  }
  return items;
}

function scoreOf(items: Array<HashedItem & { file: string }>, sourceOf: Map<string, string>, phashThreshold: number, withCentre: boolean): string {
  const used = withCentre ? items : items.map(({ file, phash, dhash }) => ({ file, phash, dhash }));
  const clusters = clusterByHash(used, { phashThreshold, dhashThreshold: config.images.dhashThreshold })
    .filter((c) => c.length > 1)
    .map((c) => c.map((i) => used[i]!.file));
  const s = scoreClusters(clusters, sourceOf);
  return `precision ${s.precision.toFixed(4)} recall ${s.recall.toFixed(4)} (${s.correctPairs}/${s.predictedPairs} predicted pairs right, ${s.truePairs} true pairs)`;
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
  await throughput('flickr8k-1k, hashing only (dedup-images)', flickr, { ...normalize, thumbnailSide: 0 });

  const sources = Number(args.sources);
  const distinct = Number(args.distinct);
  const dir = await mkdtemp(path.join(tmpdir(), 'm2rag-bench-dedup-'));
  try {
    let start = performance.now();
    const planted = await writePlantedSet(dir, flickr.slice(0, sources), flickr.slice(sources, sources + distinct));
    console.log(`(b) planted set: ${sources} photos × 6 (original + 5 transforms) + ${distinct} distinct = ${planted.files} files in ${dir} (${((performance.now() - start) / 1000).toFixed(1)} s to generate)`);
    start = performance.now();
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'bin/m2rag.js'), 'dedup-images', dir, '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (cli.status !== 0) throw new Error(`dedup-images failed: ${cli.stderr}`);
    const seconds = (performance.now() - start) / 1000;
    const { clusters } = JSON.parse(cli.stdout) as { clusters: string[][] };
    const s = scoreClusters(clusters, planted.sourceOf);
    console.log(
      `m2rag dedup-images ${dir} --json (threshold 10): precision ${s.precision.toFixed(4)} recall ${s.recall.toFixed(4)} ` +
        `(${s.correctPairs}/${s.predictedPairs} predicted pairs right, ${s.truePairs} true pairs), ${seconds.toFixed(1)} s wall for ${planted.files} files`,
    );
    const items = await hashAll(dir);
    for (const threshold of [6, 8, 10, 12, 14]) {
      console.log(`  threshold ${threshold}, with centre hashes:    ${scoreOf(items, planted.sourceOf, threshold, true)}`);
      console.log(`  threshold ${threshold}, without centre hashes: ${scoreOf(items, planted.sourceOf, threshold, false)}`);
    }
    // Crops other than the centre hash's 5%: how far the tolerance reaches.
    for (const fraction of [0.02, 0.08, 0.1]) {
      const subset = flickr.slice(0, 100);
      const originals = await Promise.all(subset.map((photo) => decodeImage(photo.bytes, { ...normalize, thumbnailSide: 0 })));
      let matched = 0;
      for (const [i, photo] of subset.entries()) {
        const { width, height } = await sharp(photo.bytes).metadata();
        const dx = Math.round(width! * fraction);
        const dy = Math.round(height! * fraction);
        const cropped = await sharp(photo.bytes).extract({ left: dx, top: dy, width: width! - 2 * dx, height: height! - 2 * dy }).jpeg({ quality: 90 }).toBuffer();
        const copy = await decodeImage(cropped, { ...normalize, thumbnailSide: 0 });
        const original = originals[i]!;
        if (!copy.ok || !original.ok) continue;
        if (clusterByHash([original, copy], { phashThreshold: config.images.phashThreshold, dhashThreshold: config.images.dhashThreshold }).length === 1) matched++;
      }
      console.log(`  border crop of ${fraction * 100}% each side: ${matched}/${subset.length} copies matched their original`);
    }
  } finally {
    if (args.keep) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
