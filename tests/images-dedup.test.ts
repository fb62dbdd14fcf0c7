// Near-duplicate finding: the multi-index finds exactly what brute force finds,
// `m2rag dedup-images` clusters transformed copies of real photos (crops, aspect crops, borders,
// mirrors, turns, resizes, re-encodings, tone changes, overlays) with their originals and nothing
// else, flags or icons that differ only in colour stay apart, and a flag's mirrored, enlarged or
// bordered copy still joins it.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { CORPORA, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { scoreClusters, TRANSFORMS, writePlantedSet } from '../bench/images-transforms.js';
import { chooseRepresentative, UnionFind } from '../processors/images/cluster.js';
import { hammingDistance, hashBits, type HashBits } from '../processors/images/hash.js';
import { MultiIndex } from '../processors/images/multi-index.js';

const FLICKR = path.join(CORPORA, 'flickr8k-1k');
const MIRROR_IMAGES = path.join(CORPORA, 'wiki-ray-charles/I/m');

function randomHash(seed: { value: number }): HashBits {
  // A small xorshift generator, so the test is the same on every run.
  const next = (): number => {
    seed.value ^= seed.value << 13;
    seed.value ^= seed.value >>> 17;
    seed.value ^= seed.value << 5;
    return seed.value >>> 0;
  };
  return { high: next(), low: next() };
}

test('the multi-index radius query returns exactly the hashes brute force finds, with their distances', () => {
  const seed = { value: 88172645 };
  const hashes = Array.from({ length: 3000 }, () => randomHash(seed));
  for (let i = 0; i < 300; i++) {
    const base = hashes[i]!;
    hashes.push({ high: (base.high ^ (7 << (i % 29))) >>> 0, low: (base.low ^ (1 << (i % 32))) >>> 0 });
  }
  const index = new MultiIndex();
  hashes.forEach((h, i) => index.add(i, h));
  for (const radius of [0, 4, 7, 11]) {
    for (let q = 0; q < 300; q += 11) {
      const expected = hashes.flatMap((h, i) => (hammingDistance(h, hashes[q]!) <= radius ? [`${i}:${hammingDistance(h, hashes[q]!)}`] : []));
      const found = index.within(hashes[q]!, radius).map((hit) => `${hit.id}:${hit.distance}`);
      assert.deepEqual(found.sort(), expected.sort());
    }
  }
});

test('union-find joins links transitively; the representative is kept, then largest', () => {
  const union = new UnionFind(5);
  union.union(2, 1);
  union.union(1, 0);
  union.union(4, 3);
  assert.equal(union.find(2), union.find(0));
  assert.equal(union.find(4), 3);
  assert.notEqual(union.find(0), union.find(3));
  const representative = chooseRepresentative([
    { id: 'a', width: 800, height: 600, bytes: 10, kept: false },
    { id: 'b', width: 400, height: 300, bytes: 50, kept: true },
    { id: 'c', width: 400, height: 300, bytes: 90, kept: true },
  ]);
  assert.equal(representative.id, 'c');
  assert.equal(hashBits('00000000000000ff').low, 255);
});

test('m2rag dedup-images clusters transformed copies of real photos with precision ≥ 0.99 and recall ≥ 0.95', async (t) => {
  const dir = await tempDir(t);
  const names = (await readdir(FLICKR)).filter((name) => name.endsWith('.jpg')).sort();
  const photos = await Promise.all(names.slice(0, 36).map(async (name) => ({ name, bytes: await readFile(path.join(FLICKR, name)) })));
  const planted = await writePlantedSet(dir, photos.slice(0, 6), photos.slice(6));
  assert.equal(planted.files, 6 * (1 + TRANSFORMS.length) + 30);
  await writeFile(path.join(dir, 'notes.txt'), 'not an image');

  const result = await runCli(['dedup-images', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const output = JSON.parse(result.stdout) as { clusters: string[][]; errors: Array<{ file: string; reason: string }> };
  assert.deepEqual(output.errors.map((e) => e.file), ['notes.txt']);
  assert.match(output.errors[0]!.reason, /^unsupported-format/);
  assert.ok(output.clusters.every((cluster) => cluster.length >= 2));
  const scores = scoreClusters(output.clusters, planted.sourceOf);
  assert.ok(scores.precision >= 0.99, `precision ${scores.precision}`);
  assert.ok(scores.recall >= 0.95, `recall ${scores.recall}`);

  // A radius of 0 still finds exact re-encodings but no longer the crops' and turns' looser matches.
  const strict = await runCli(['dedup-images', dir, '--json', '--threshold', '0']);
  const strictScores = scoreClusters((JSON.parse(strict.stdout) as { clusters: string[][] }).clusters, planted.sourceOf);
  assert.ok(strictScores.recall < scores.recall, `strict recall ${strictScores.recall}`);

  const missing = await runCli(['dedup-images', path.join(dir, 'nope')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope: not a folder/);
});

test('m2rag dedup-images keeps flags and stars that differ only in colour apart', async (t) => {
  const dir = await tempDir(t);
  const names = ['Flag_of_Austria.svg.png', 'Flag_of_Hungary.svg.png', 'Flag_of_the_Netherlands.svg.png', 'Star_empty.svg.png', 'Star_full.svg.png'];
  for (const name of names) await writeFile(path.join(dir, name), await readFile(path.join(MIRROR_IMAGES, name)));
  const result = await runCli(['dedup-images', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const { clusters } = JSON.parse(result.stdout) as { clusters: string[][] };
  assert.deepEqual(clusters, []);
});

test('m2rag dedup-images keeps enlarged stars apart: a grey star beside a coloured one of the same shape', async (t) => {
  // Enlarged, the stars share more smooth background, so a whole-picture luminance gap fell under the
  // grey-copy limit and the grey star joined the yellow one; each enlarged star belongs with its own original only.
  const dir = await tempDir(t);
  const stars = ['Star_empty', 'Star_full', 'Star_half'];
  for (const star of stars) {
    const bytes = await readFile(path.join(MIRROR_IMAGES, `${star}.svg.png`));
    const { width } = await sharp(bytes).metadata();
    await writeFile(path.join(dir, `${star}.png`), bytes);
    await writeFile(path.join(dir, `${star}-x2.png`), await sharp(bytes).resize(width! * 2).png().toBuffer());
  }
  const result = await runCli(['dedup-images', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const { clusters } = JSON.parse(result.stdout) as { clusters: string[][] };
  const found = clusters.map((cluster) => cluster.map((file) => path.basename(file)).sort()).sort((a, b) => a[0]!.localeCompare(b[0]!));
  assert.deepEqual(found, stars.map((star) => [`${star}-x2.png`, `${star}.png`]));
});

test('m2rag dedup-images keeps a hue-rotated flag apart and joins mirrored, enlarged and bordered flags', async (t) => {
  const dir = await tempDir(t);
  const flags = ['Flag_of_Austria', 'Flag_of_Hungary', 'Flag_of_the_Netherlands'];
  const expected: string[][] = [];
  for (const flag of flags) {
    const bytes = await readFile(path.join(MIRROR_IMAGES, `${flag}.svg.png`));
    const { width } = await sharp(bytes).metadata();
    const copies: Record<string, Buffer> = {
      original: bytes,
      mirrored: await sharp(bytes).flop().png().toBuffer(),
      enlarged: await sharp(bytes).resize(width! * 2).png().toBuffer(),
      bordered: await sharp(bytes).extend({ top: 20, bottom: 20, left: 20, right: 20, background: 'white' }).png().toBuffer(),
    };
    for (const [kind, copy] of Object.entries(copies)) await writeFile(path.join(dir, `${flag}-${kind}.png`), copy);
    expected.push(Object.keys(copies).map((kind) => `${flag}-${kind}.png`).sort());
  }
  // Austria's red stripes are all four corners: cutting them as a border left only the white band,
  // which its hue-rotated copy shares.
  const austria = await readFile(path.join(MIRROR_IMAGES, 'Flag_of_Austria.svg.png'));
  await writeFile(path.join(dir, 'Flag_of_Austria-hue.png'), await sharp(austria).modulate({ hue: 90 }).png().toBuffer());

  const result = await runCli(['dedup-images', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const { clusters } = JSON.parse(result.stdout) as { clusters: string[][] };
  const found = clusters.map((cluster) => cluster.map((file) => path.basename(file)).sort()).sort((a, b) => a[0]!.localeCompare(b[0]!));
  assert.deepEqual(found, expected);
});
