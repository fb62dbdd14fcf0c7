// Near-duplicate finding: the BK-tree finds exactly what brute force finds, and `m2rag dedup-images`
// clusters transformed copies of real photos (resized, re-encoded, cropped, overlaid, converted)
// with their originals and nothing else.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { scoreClusters, TRANSFORMS, writePlantedSet } from '../bench/images-transforms.js';
import { BkTree, chooseRepresentative, clusterByHash } from '../processors/images/cluster.js';
import { hammingDistance, hashBits, type HashBits } from '../processors/images/hash.js';

const FLICKR = path.join(CORPORA, 'flickr8k-1k');

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

test('the BK-tree radius query returns exactly the hashes brute force finds', () => {
  const seed = { value: 2463534242 };
  const hashes = Array.from({ length: 2000 }, () => randomHash(seed));
  // Plant near neighbours: flip a few bits of some hashes.
  for (let i = 0; i < 200; i++) {
    const base = hashes[i]!;
    hashes.push({ high: (base.high ^ (1 << (i % 32))) >>> 0, low: (base.low ^ (3 << (i % 30))) >>> 0 });
  }
  const tree = new BkTree();
  hashes.forEach((h, i) => tree.add(i, h));
  for (const radius of [0, 3, 10]) {
    for (let q = 0; q < 300; q += 7) {
      const expected = hashes.flatMap((h, i) => (hammingDistance(h, hashes[q]!) <= radius ? [i] : []));
      assert.deepEqual(tree.within(hashes[q]!, radius).sort((a, b) => a - b), expected);
    }
  }
});

test('clusters are connected components of close pairs; the representative is kept, then largest', () => {
  const items = [
    { phash: '0000000000000000', dhash: '0000000000000000' },
    { phash: '000000000000000f', dhash: '0000000000000001' },
    { phash: '00000000000000ff', dhash: '0000000000000003' }, // 8 bits from the first, 4 from the second
    { phash: 'ffffffffffffffff', dhash: 'ffffffffffffffff' },
    { phash: '0000000000000001', dhash: 'ffffffffffffffff' }, // pHash close, dHash far: not a duplicate
  ];
  const clusters = clusterByHash(items, { phashThreshold: 4, dhashThreshold: 20 }).map((c) => c.sort());
  assert.deepEqual(clusters.sort((a, b) => a[0]! - b[0]!), [[0, 1, 2], [3], [4]]);
  const representative = chooseRepresentative([
    { id: 'a', width: 800, height: 600, bytes: 10, kept: false },
    { id: 'b', width: 400, height: 300, bytes: 50, kept: true },
    { id: 'c', width: 400, height: 300, bytes: 90, kept: true },
  ]);
  assert.equal(representative.id, 'c');
  assert.equal(hashBits('00000000000000ff').low, 255);
});

test('m2rag dedup-images clusters transformed copies of real photos with precision and recall ≥ 0.95', async (t) => {
  const dir = await tempDir(t);
  const names = (await readdir(FLICKR)).filter((name) => name.endsWith('.jpg')).sort();
  const photos = await Promise.all(names.slice(0, 40).map(async (name) => ({ name, bytes: await readFile(path.join(FLICKR, name)) })));
  const planted = await writePlantedSet(dir, photos.slice(0, 10), photos.slice(10));
  assert.equal(planted.files, 10 * (1 + TRANSFORMS.length) + 30);
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

  // A threshold of 0 still finds exact re-encodings but no longer the crops' and overlays' looser matches.
  const strict = await runCli(['dedup-images', dir, '--json', '--threshold', '0']);
  const strictScores = scoreClusters((JSON.parse(strict.stdout) as { clusters: string[][] }).clusters, planted.sourceOf);
  assert.ok(strictScores.recall < scores.recall, `strict recall ${strictScores.recall}`);

  const missing = await runCli(['dedup-images', path.join(dir, 'nope')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope: not a folder/);
});
