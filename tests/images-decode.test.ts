// Hostile and unusual image inputs, generated with sharp from real photos where a photo helps: each
// is either decoded as it should be or refused with its recorded reason, and none crashes.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { CORPORA } from './helpers/cli.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { decodeImage, type DecodeOptions } from '../processors/images/decode.js';
import { filterImage } from '../processors/images/filters.js';
import { hammingDistance, hashBits } from '../processors/images/hash.js';
import type { Image } from '../storage/index.js';

const OPTIONS: DecodeOptions = { pixelLimit: 100_000_000, thumbnailSide: 512, thumbnailFormat: 'jpeg', thumbnailQuality: 85 };
const PHOTO = path.join(CORPORA, 'flickr8k-1k/1000268201_693b08cb0e.jpg');
const FILTERS = { minPixels: 10_000, maxPixels: 4_000_000, minBytes: 20 * 1024, maxAspectRatio: 5, minLayoutScore: 2 };

function imageRecord(bytes: number, fields: Partial<Image>): Image {
  return { id: 'a'.repeat(64), bytes, mime: 'image/png', firstUrl: 'http://127.0.0.1/x', fetchedAt: new Date(0).toISOString(), ...fields };
}

test('a decompression bomb is refused from its header with a pixel-limit reason', async () => {
  // 12,000 × 10,000 white pixels: 120 megapixels (360 MB decoded) in a few hundred KB of PNG.
  const bomb = await sharp({ create: { width: 12_000, height: 10_000, channels: 3, background: '#ffffff' } }).png({ compressionLevel: 9 }).toBuffer();
  assert.ok(bomb.length < 2_000_000, `the bomb is small on disk (${bomb.length} bytes)`);
  const result = await decodeImage(bomb, OPTIONS);
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.reason : '', /^pixel-limit: 12000×10000 = 120000000 pixels exceeds the decode limit of 100000000/);
  const filter = filterImage(imageRecord(bomb.length, { decodeError: !result.ok ? result.reason : undefined }), [], FILTERS);
  assert.equal(filter.kept, false);
  assert.match(filter.reasons[0]!, /^decode-error: pixel-limit/);
});

test('a truncated JPEG is refused as truncated; the intact photo decodes', async () => {
  const photo = await readFile(PHOTO);
  const intact = await decodeImage(photo, OPTIONS);
  assert.equal(intact.ok, true);
  const truncated = await decodeImage(photo.subarray(0, Math.floor(photo.length / 2)), OPTIONS);
  assert.equal(truncated.ok, false);
  assert.match(!truncated.ok ? truncated.reason : '', /^truncated: /);
  const garbage = await decodeImage(Buffer.from('<html>not an image</html>'), OPTIONS);
  assert.match(!garbage.ok ? garbage.reason : '', /^unsupported-format: /);
});

test('an SVG with a script and an external image is rasterized without running or fetching anything', async (t) => {
  const server = await startStaticServer(await tempDir(t), {
    '/x.png': async (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' }).end(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#00ff00' } }).png().toBuffer());
    },
    '/beacon': (_req, res) => {
      res.writeHead(204).end();
    },
  });
  t.after(() => server.close());
  const svg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="300" height="200">` +
      `<script>fetch('${server.url}/beacon')</script>` +
      `<rect width="300" height="200" fill="#ff0000"/>` +
      `<image href="${server.url}/x.png" xlink:href="${server.url}/x.png" x="0" y="0" width="300" height="200"/>` +
      `<use href="${server.url}/beacon#a"/></svg>`,
  );
  const result = await decodeImage(svg, OPTIONS);
  assert.equal(result.ok, true, !result.ok ? result.reason : '');
  assert.equal(result.ok && result.format, 'svg');
  assert.equal(result.ok && `${result.width}×${result.height}`, '300×200');
  assert.deepEqual(server.requests, [], 'no request reached the server');
  // The external image was not drawn: the thumbnail is the red rectangle alone.
  const thumbnail = result.ok && Buffer.isBuffer(result.thumbnail) ? result.thumbnail : Buffer.alloc(0);
  const { data } = await sharp(thumbnail).resize(1, 1).raw().toBuffer({ resolveWithObject: true });
  assert.ok(data[0]! > 200 && data[1]! < 60, `thumbnail colour ${[...data.subarray(0, 3)]}`);
});

test('an animated GIF records its frame count and uses its first frame', async () => {
  const frame = (colour: string): Promise<Buffer> => sharp({ create: { width: 160, height: 120, channels: 3, background: colour } }).png().toBuffer();
  const gif = await sharp(await Promise.all(['#ff0000', '#00ff00', '#0000ff'].map(frame)), { join: { animated: true } }).gif().toBuffer();
  const result = await decodeImage(gif, OPTIONS);
  assert.equal(result.ok, true);
  assert.equal(result.ok && result.format, 'gif');
  assert.equal(result.ok && result.frames, 3);
  assert.equal(result.ok && `${result.width}×${result.height}`, '160×120', 'the size of one frame, not of the stacked pages');
  const thumbnail = result.ok && Buffer.isBuffer(result.thumbnail) ? result.thumbnail : Buffer.alloc(0);
  const { data } = await sharp(thumbnail).resize(1, 1).raw().toBuffer({ resolveWithObject: true });
  assert.ok(data[0]! > 200 && data[1]! < 60 && data[2]! < 60, `first frame is red, got ${[...data.subarray(0, 3)]}`);
});

test('a CMYK JPEG records its colour space, gets an sRGB thumbnail and hashes like its RGB original', async () => {
  const photo = await readFile(PHOTO);
  const cmyk = await sharp(photo).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const result = await decodeImage(cmyk, OPTIONS);
  const original = await decodeImage(photo, OPTIONS);
  assert.ok(result.ok && original.ok);
  assert.equal(result.colorSpace, 'cmyk');
  assert.ok(Buffer.isBuffer(result.thumbnail), 'a CMYK original is never served as its own thumbnail');
  const thumbnailMeta = await sharp(result.thumbnail as Buffer).metadata();
  assert.equal(thumbnailMeta.space, 'srgb');
  assert.equal(thumbnailMeta.format, 'jpeg');
  assert.ok(hammingDistance(hashBits(result.phash), hashBits(original.phash)) <= 6);
});

test('a 1×1 pixel decodes and is filtered as a tracking pixel that is too small', async () => {
  const pixel = await sharp({ create: { width: 1, height: 1, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).gif().toBuffer();
  const result = await decodeImage(pixel, OPTIONS);
  assert.ok(result.ok);
  const filter = filterImage(imageRecord(pixel.length, { width: result.width, height: result.height, format: result.format }), [], FILTERS);
  assert.equal(filter.kept, false);
  assert.deepEqual(
    filter.reasons.map((reason) => reason.split(':')[0]),
    ['tracking-pixel', 'too-few-pixels', 'too-small-file'],
  );
});

test('EXIF orientation is applied: a portrait photo stored sideways reports its upright size', async () => {
  const photo = await readFile(PHOTO);
  const { width, height } = await sharp(photo).metadata();
  const sideways = await sharp(photo).withMetadata({ orientation: 6 }).jpeg().toBuffer();
  const result = await decodeImage(sideways, OPTIONS);
  assert.ok(result.ok);
  assert.equal(`${result.width}×${result.height}`, `${height}×${width}`);
  const thumbnailMeta = await sharp(result.thumbnail as Buffer).metadata();
  assert.equal(`${thumbnailMeta.width}×${thumbnailMeta.height}`, `${height}×${width}`);
});

test('a file-type icon (Wikipedia’s fileicon-ogg.png, 120×120) is filtered as icon-like by its file name', async () => {
  const bytes = await readFile(path.join(CORPORA, 'wiki-ray-charles/I/m/fileicon-ogg.png'));
  const result = await decodeImage(bytes, OPTIONS);
  assert.ok(result.ok);
  const url = 'http://127.0.0.1/I/m/fileicon-ogg.png';
  const occurrence = { id: 'o', kind: 'page' as const, index: 0, url, attributes: { src: '../../I/m/fileicon-ogg.png' } };
  const filter = filterImage(imageRecord(bytes.length, { width: result.width, height: result.height, format: result.format, firstUrl: url }), [{ occurrence }], { ...FILTERS, minBytes: 1 });
  assert.equal(filter.kept, false);
  assert.ok(filter.reasons.includes('icon-like:src'), filter.reasons.join(', '));
});
