// `m2rag process` over a real crawl of the Wikipedia mirror (served on 127.0.0.1): every image ends
// normalized or refused with a reason, hashed, filtered with reasons, clustered, and every
// occurrence has its context; re-running changes nothing; new thresholds apply without recrawling.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { CORPORA, ROOT, runCli } from './helpers/cli.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore, sha256Hex, type Image, type Occurrence } from '../storage/index.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');
const QUERIES = path.join(ROOT, 'examples/mirror-queries.txt');

async function snapshot(dir: string): Promise<{ images: Image[]; occurrences: Occurrence[] }> {
  const store = await CorpusStore.open(dir);
  try {
    const images: Image[] = [];
    const occurrences: Occurrence[] = [];
    for await (const image of store.iterate('images')) images.push(image);
    for await (const occurrence of store.iterate('occurrences')) occurrences.push(occurrence);
    return { images, occurrences };
  } finally {
    await store.close();
  }
}

test('m2rag process normalizes, filters, hashes, clusters and contextualizes every crawled image', async (t) => {
  const server = await startStaticServer(MIRROR);
  t.after(() => server.close());
  const dir = path.join(await tempDir(t), 'store');
  const crawl = await runCli(['--store', dir, 'crawl', '--queries', QUERIES, '--search', 'local', '--site', `${server.url}/A/index.htm`, '--allow-private']);
  assert.equal(crawl.code, 0, crawl.stderr);

  // One planted CMYK copy of a crawled photo on a crawled page, so the corpus has a cross-format duplicate.
  const store = await CorpusStore.open(dir);
  let plantedId: string | undefined;
  let copiedId: string | undefined;
  try {
    for await (const image of store.iterate('images')) {
      if (image.mime !== 'image/jpeg' || copiedId) continue;
      const uses = await store.getMany('occurrences', await store.related('image-occurrences', image.id));
      const occurrence = uses.find((use) => use?.kind === 'page');
      if (!occurrence) continue;
      const copy = await sharp((await store.getBlob(image.id))!).toColourspace('cmyk').jpeg({ quality: 70 }).toBuffer();
      plantedId = sha256Hex(copy);
      copiedId = image.id;
      const planted: Occurrence = { ...occurrence, id: `${occurrence.pageId}:999`, index: 999, imageId: plantedId, context: undefined };
      await store
        .batch()
        .putBlob(copy)
        .put('images', { id: plantedId, bytes: copy.length, mime: 'image/jpeg', firstUrl: `${server.url}/planted.jpg`, fetchedAt: new Date().toISOString() })
        .put('occurrences', planted)
        .link('page-occurrences', occurrence.pageId!, planted.id)
        .link('image-occurrences', plantedId, planted.id)
        .write();
    }
  } finally {
    await store.close();
  }
  assert.ok(plantedId && copiedId);

  // `process` runs the text stage (markdown with placeholders, chunks) and then the image stage.
  const processed = await runCli(['--store', dir, 'process']);
  assert.equal(processed.code, 0, processed.stderr);
  assert.match(processed.stderr, /^process-images: .*images-normalized=\d+/m);
  const chunkOf = new Map<string, string>();
  const chunkStore = await CorpusStore.open(dir);
  try {
    for await (const chunk of chunkStore.iterate('chunks')) for (const id of chunk.occurrenceIds) chunkOf.set(id, chunk.id);
  } finally {
    await chunkStore.close();
  }
  assert.ok(chunkOf.size >= 20, `${chunkOf.size} occurrences listed in chunks`);

  const { images, occurrences } = await snapshot(dir);
  assert.ok(images.length >= 20, `${images.length} images`);
  const byId = new Map(images.map((image) => [image.id, image]));
  for (const image of images) {
    assert.ok(image.filter, `${image.firstUrl} has a filter verdict`);
    if (!image.filter.kept) assert.ok(image.filter.reasons.length > 0, `${image.firstUrl} dropped without a reason`);
    if (image.decodeError) {
      assert.equal(image.filter.kept, false);
      continue;
    }
    assert.ok(image.width! > 0 && image.height! > 0 && image.format, `${image.firstUrl} normalized`);
    assert.match(image.phash!, /^[0-9a-f]{16}$/);
    assert.match(image.dhash!, /^[0-9a-f]{16}$/);
    assert.ok(image.thumbnailId, `${image.firstUrl} has a thumbnail`);
    assert.ok(image.clusterId && image.representativeId, `${image.firstUrl} is clustered`);
    const representative = byId.get(image.representativeId)!;
    assert.equal(representative.clusterId, image.clusterId, 'the representative belongs to the cluster');
    assert.equal(representative.representativeId, representative.id);
  }
  // Most of the mirror's images are Wikipedia thumbnails under the reference's 20 KB minimum.
  assert.ok(images.some((image) => image.filter!.reasons.some((r) => r.startsWith('too-small-file'))));
  const planted = byId.get(plantedId)!;
  const original = byId.get(copiedId)!;
  assert.equal(planted.colorSpace, 'cmyk');
  assert.equal(planted.clusterId, original.clusterId, 'the CMYK re-encoding clusters with its original');
  assert.equal(planted.representativeId, original.representativeId);

  let inMainText = 0;
  for (const occurrence of occurrences) {
    assert.ok(occurrence.context, `occurrence ${occurrence.id} has a context`);
    assert.equal(occurrence.context.chunkId, chunkOf.get(occurrence.id), `${occurrence.id}: the chunk that lists it`);
    if (occurrence.kind === 'page' && !occurrence.domPath?.startsWith('head>')) {
      assert.notEqual(occurrence.context.inMainContent, undefined, `${occurrence.id}: known whether in the main text`);
      if (occurrence.context.inMainContent) {
        inMainText++;
        for (const text of [occurrence.context.above ?? '', occurrence.context.below ?? '']) assert.doesNotMatch(text, /IMAGE_PLACEHOLDER/);
      }
    }
  }
  assert.ok(inMainText >= 20, `${inMainText} occurrences in the main text`);

  const again = await runCli(['--store', dir, 'process', '--force']);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /images-normalized=/, 'nothing is decoded twice');
  assert.deepEqual(await snapshot(dir), { images, occurrences }, 'a forced re-run changes nothing');

  // New thresholds, re-applied from stored fields only: no recrawl, no re-decode.
  const config = path.join(path.dirname(dir), 'loose.yaml');
  await writeFile(config, 'images:\n  minBytes: 0\n');
  const loose = await runCli(['--store', dir, '--config', config, 'process', '--force']);
  assert.equal(loose.code, 0, loose.stderr);
  assert.doesNotMatch(loose.stderr, /images-normalized=/);
  const after = await snapshot(dir);
  const keptBefore = images.filter((image) => image.filter!.kept).length;
  const keptAfter = after.images.filter((image) => image.filter!.kept).length;
  assert.ok(keptAfter > keptBefore + 10, `kept ${keptBefore} → ${keptAfter}`);
  assert.ok(after.images.every((image) => !image.filter!.reasons.some((r) => r.startsWith('too-small-file'))));
});
