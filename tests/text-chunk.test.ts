// Chunking of real page markdown: sizes within the limit, headings open chunks, placeholders never
// split, nothing lost, and the token-aware option counts real BPE tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as cheerio from 'cheerio';
import { readMirrorArticle } from './helpers/mirror-store.js';
import { findPageImages } from '../src/core/markup/page-images.js';
import { chunkMarkdown } from '../processors/text/chunk.js';
import { extractMainContent } from '../processors/text/extract.js';
import { PLACEHOLDER_PATTERN } from '../src/core/markup/placeholder.js';
import { countTokens } from '../src/core/text/tokens.js';

async function mirrorMarkdown(name: string): Promise<string> {
  const $ = cheerio.load((await readMirrorArticle(name)).html);
  findPageImages($, `http://mirror.test/A/${name}`);
  return extractMainContent($.html()).markdown;
}

const squash = (text: string): string => text.replace(/\s+/g, '');

test('chunks of a real article stay within 1,000 characters, keep every word and every whole placeholder', async () => {
  const markdown = await mirrorMarkdown('Ray_Charles.html');
  const chunks = chunkMarkdown(markdown, { maxChars: 1000 });
  assert.ok(chunks.length >= 20, `${chunks.length} chunks`);
  for (const chunk of chunks) assert.ok(chunk.length <= 1000, `${chunk.length} chars`);
  assert.equal(squash(chunks.join('')), squash(markdown), 'only whitespace changes');
  const placeholders = [...markdown.matchAll(PLACEHOLDER_PATTERN)].map((m) => m[0]);
  assert.ok(placeholders.length >= 5);
  assert.deepEqual(chunks.flatMap((chunk) => [...chunk.matchAll(PLACEHOLDER_PATTERN)].map((m) => m[0])), placeholders);
  assert.ok(chunks.some((chunk) => /^## /.test(chunk)), 'sections start chunks');
  assert.ok(chunks.filter((chunk) => /\n## /.test(chunk)).length < chunks.length / 2, 'headings mostly open their chunk');
});

test('a placeholder at a sentence boundary in an over-long paragraph is never cut', () => {
  const sentence = 'Ray Charles recorded the song in New York in 1960 with an orchestra.';
  const paragraph = Array.from({ length: 30 }, (_, i) => (i % 7 === 3 ? `${sentence} <IMAGE_PLACEHOLDER>[${i}]` : sentence)).join(' ');
  for (const maxChars of [50, 120, 300]) {
    const chunks = chunkMarkdown(paragraph, { maxChars });
    const whole = chunks.flatMap((chunk) => [...chunk.matchAll(PLACEHOLDER_PATTERN)].map((m) => m[0]));
    assert.deepEqual(whole, [3, 10, 17, 24].map((i) => `<IMAGE_PLACEHOLDER>[${i}]`));
    assert.equal(chunks.join(' ').split('<IMAGE_PLACEHOLDER>').length - 1, 4);
    for (const chunk of chunks) assert.ok(chunk.length <= maxChars, `${maxChars}: ${chunk.length}`);
  }
});

test('token-aware chunking keeps each chunk within the token budget', async () => {
  const markdown = await mirrorMarkdown('America_the_Beautiful.html');
  const chunks = chunkMarkdown(markdown, { maxChars: 1000, maxTokens: 128 });
  assert.ok(chunks.length >= 10);
  for (const chunk of chunks) assert.ok(countTokens(chunk) <= 128, `${countTokens(chunk)} tokens`);
  assert.equal(squash(chunks.join('')), squash(markdown));
});
