// Image discovery on real mirror pages and on the lazy/srcset/picture forms pages use.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import * as cheerio from 'cheerio';
import { CORPORA } from './helpers/cli.js';
import { findPageImages, largestSrcsetCandidate, markImagesInHtml, OCCURRENCE_ATTRIBUTE } from '../src/core/markup/page-images.js';

test('srcset: the widest candidate, else the densest', () => {
  assert.equal(largestSrcsetCandidate('a.jpg 320w, b.jpg 1024w, c.jpg 640w'), 'b.jpg');
  assert.equal(largestSrcsetCandidate('a.jpg, b.jpg 2x, c.jpg 1.5x'), 'b.jpg');
  assert.equal(largestSrcsetCandidate(''), undefined);
});

test('lazy attributes, picture sources, og:image and unusable sources', () => {
  const $ = cheerio.load(`<html><head><meta property="og:image" content="/og.jpg"></head><body>
    <img src="data:image/gif;base64,R0lGOD" data-src="/lazy.jpg" alt="lazy">
    <picture><source srcset="/p-small.webp 400w, /p-big.webp 1600w"><img src="/p.jpg" alt="pic"></picture>
    <figure><img src="/f.png" alt="fig"><figcaption> A caption </figcaption></figure>
    <img src="javascript:alert(1)"><img></body></html>`);
  const { images, skipped } = findPageImages($, 'http://example.org/dir/page.html');
  assert.deepEqual(
    images.map((i) => [i.index, i.url, i.source]),
    [
      [0, 'http://example.org/lazy.jpg', 'img'],
      [1, 'http://example.org/p-big.webp', 'picture'],
      [2, 'http://example.org/f.png', 'img'],
      [3, 'http://example.org/og.jpg', 'og:image'],
    ],
  );
  assert.equal(images[2]!.attributes.figcaption, 'A caption');
  assert.deepEqual(skipped.map((s) => s.reason), ['unsupported-url', 'no-src']);
  assert.equal($(`img[${OCCURRENCE_ATTRIBUTE}="2"]`).attr('alt'), 'fig');
});

test('a real mirror article: every image found in order and marked', async () => {
  const file = path.join(CORPORA, 'wiki-ray-charles/A/Ray_Charles.html');
  const $ = cheerio.load(await readFile(file, 'utf8'));
  const { images } = findPageImages($, 'http://127.0.0.1/A/Ray_Charles.html');
  const imgCount = $('img').length;
  assert.ok(images.length >= 3, `found ${images.length}`);
  assert.ok(images.filter((i) => i.source !== 'og:image').length <= imgCount);
  assert.ok(images.every((i) => i.url.startsWith('http://127.0.0.1/')));
  assert.equal($(`img[${OCCURRENCE_ATTRIBUTE}]`).length, images.filter((i) => i.source !== 'og:image').length);
});

test('streaming marks (offline extraction) pick the same images as the DOM marks (crawler) on every mirror page', async () => {
  const dir = path.join(CORPORA, 'wiki-ray-charles/A');
  const base = 'http://127.0.0.1/A/page.html';
  const markedSources = (html: string) => {
    const $ = cheerio.load(html);
    return $(`img[${OCCURRENCE_ATTRIBUTE}]`)
      .toArray()
      .map((img) => `${$(img).attr(OCCURRENCE_ATTRIBUTE)}:${$(img).attr('src')}`);
  };
  let compared = 0;
  for (const name of await readdir(dir)) {
    const html = await readFile(path.join(dir, name), 'utf8');
    const $ = cheerio.load(html);
    findPageImages($, base);
    assert.deepEqual(markedSources(markImagesInHtml(html, base)), markedSources($.html()), name);
    compared += markedSources($.html()).length;
  }
  assert.ok(compared > 100, `compared ${compared} marked images`);
});
