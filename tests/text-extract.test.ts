// Main-content extraction on real pages: placeholders land where their images stood on mirror
// pages, `m2rag extract --json` reads .html/.html.gz files and survives bad ones, charsets decode.
import assert from 'node:assert/strict';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import * as cheerio from 'cheerio';
import { parseHTML } from 'linkedom';
import { CORPORA, runCli } from './helpers/cli.js';
import { readMirrorArticle } from './helpers/mirror-store.js';
import { tempDir } from './helpers/temp.js';
import { findPageImages, OCCURRENCE_ATTRIBUTE } from '../src/core/markup/page-images.js';
import { decodeHtmlBytes } from '../src/core/markup/html-bytes.js';
import { extractMainContent } from '../processors/text/extract.js';
import { PLACEHOLDER_PATTERN } from '../src/core/markup/placeholder.js';

const WORD = /[\p{L}\p{N}]+/gu;
const words = (text: string): string[] => text.toLowerCase().match(WORD) ?? [];

async function markedMirrorPage(name: string): Promise<{ html: string; urls: string[] }> {
  const { html } = await readMirrorArticle(name);
  const $ = cheerio.load(html);
  const scan = findPageImages($, `http://mirror.test/A/${name}`);
  return { html: $.html(), urls: scan.images.map((image) => image.url) };
}

/** The words that follow each marked <img> in the page's DOM (up to 80), by occurrence index. */
function wordsAfterImagesInPage(html: string): Map<number, string[]> {
  const { document } = parseHTML(html);
  const stream: string[] = [];
  const at = new Map<number, number>();
  const walk = (node: Node): void => {
    if (node.nodeType === 3) stream.push(...words(node.nodeValue ?? ''));
    if (node.nodeType !== 1) return;
    const element = node as Element;
    if (['SCRIPT', 'STYLE'].includes(element.tagName)) return;
    const k = element.getAttribute(OCCURRENCE_ATTRIBUTE);
    if (element.tagName === 'IMG' && k !== null) at.set(Number(k), stream.length);
    for (let child = node.firstChild; child; child = child.nextSibling) walk(child);
  };
  walk(document.documentElement as unknown as Node);
  return new Map([...at].map(([k, position]) => [k, stream.slice(position, position + 80)]));
}

/** The first words of text after each placeholder in the markdown. */
function wordsAfterPlaceholders(markdown: string): Map<number, string[]> {
  const result = new Map<number, string[]>();
  for (const match of markdown.matchAll(PLACEHOLDER_PATTERN)) {
    const rest = markdown.slice(match.index! + match[0].length).replace(PLACEHOLDER_PATTERN, ' ');
    result.set(Number(match[1]), words(rest).slice(0, 3));
  }
  return result;
}

test('placeholders stand where their images stood on real mirror pages', async () => {
  for (const name of ['America_the_Beautiful.html', 'Ray_Charles.html', 'Georgia_on_My_Mind.html', 'Hit_the_Road_Jack.html']) {
    const { html, urls } = await markedMirrorPage(name);
    const content = extractMainContent(html);
    assert.equal(content.extractor, 'readability+prune', name);
    assert.ok(content.occurrences.length >= 1, `${name}: some images kept`);
    assert.deepEqual(content.occurrences, [...content.occurrences].sort((a, b) => a - b), `${name}: placeholders in document order`);
    assert.equal(new Set(content.occurrences).size, content.occurrences.length, `${name}: each occurrence once`);
    assert.ok(content.occurrences.every((k) => k < urls.length), `${name}: every placeholder names an occurrence`);
    const inPage = wordsAfterImagesInPage(html);
    const inMarkdown = wordsAfterPlaceholders(content.markdown);
    // The text right after a placeholder is text that followed its image in the page (captions and
    // boxes next to an image may have been pruned, so it may come a little later).
    for (const [k, following] of inMarkdown) {
      if (following.length === 0) continue;
      const window = inPage.get(k)!.join(' ');
      assert.ok(window.includes(following.join(' ')), `${name}: placeholder ${k} (${urls[k]}) is followed by "${following.join(' ')}"`);
    }
  }
});

test('the lead image of an article sits before its first paragraph and after nothing but the infobox', async () => {
  const { html, urls } = await markedMirrorPage('America_the_Beautiful.html');
  const { markdown, title } = extractMainContent(html);
  assert.equal(title, 'America the Beautiful');
  const sheetMusic = urls.findIndex((url) => url.endsWith('5_America%2C_the_Beautiful.png'));
  const plaque = urls.findIndex((url) => url.endsWith('Americathebeautiful.jpg'));
  assert.ok(sheetMusic >= 0 && plaque >= 0);
  const position = (k: number): number => markdown.indexOf(`<IMAGE_PLACEHOLDER>[${k}]`);
  assert.ok(position(sheetMusic) < markdown.indexOf('is an American patriotic song'));
  assert.ok(markdown.indexOf('## History') < position(plaque), 'the plaque photo is in the History section');
  assert.ok(position(plaque) < markdown.indexOf('In 1893, at the age of 33'));
  assert.doesNotMatch(markdown, /<img|<table|\]\(http/, 'no raw HTML, no link targets');
});

test('m2rag extract --json reads .html and .html.gz files; bad files give an empty body and a warning', async (t) => {
  const dir = await tempDir(t);
  const article = '042bb7b5fedab6eac7db576522b89b93904c237d344bcbe14a6a5ab7f7335856';
  await copyFile(path.join(CORPORA, 'article-extraction/html', `${article}.html.gz`), path.join(dir, `${article}.html.gz`));
  await copyFile(path.join(CORPORA, 'wiki-ray-charles/A/Ray_Charles.html'), path.join(dir, 'Ray_Charles.html'));
  await writeFile(path.join(dir, 'binary.html'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 1, 2, 3]));
  await writeFile(path.join(dir, 'empty.html'), '');
  await writeFile(path.join(dir, 'charset.html'), '<html><head><meta charset="x-no-such-charset"></head><body><p>text</p></body></html>');
  await writeFile(path.join(dir, 'broken.html.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
  const result = await runCli(['extract', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const output = JSON.parse(result.stdout) as Record<string, { articleBody: string; markdown: string }>;
  assert.deepEqual(Object.keys(output).sort(), [article, 'Ray_Charles', 'binary', 'broken', 'charset', 'empty'].sort());
  assert.match(output[article]!.articleBody, /Gaming used to be so simple/);
  assert.match(output.Ray_Charles!.markdown, /<IMAGE_PLACEHOLDER>\[0\]/);
  assert.match(output.Ray_Charles!.articleBody, /was an American singer, songwriter, musician and composer/);
  assert.doesNotMatch(output.Ray_Charles!.articleBody, /IMAGE_PLACEHOLDER/);
  for (const bad of ['binary', 'empty', 'charset', 'broken']) {
    assert.deepEqual(output[bad], { articleBody: '', markdown: '' }, bad);
    assert.match(result.stderr, new RegExp(`${bad}\\.html`), `a warning names ${bad}`);
  }
  const missing = await runCli(['extract', path.join(dir, 'no-such-dir')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no-such-dir: cannot read/);
});

test('charsets: BOM, declared legacy charsets and undeclared windows-1252 decode to the same text', () => {
  const page = (meta: string, body: string): string => `<html><head>${meta}</head><body><p>${body}</p></body></html>`;
  /** Single-byte encoding of `text` with the given code points for its non-ASCII characters. */
  const singleByte = (text: string, codes: Record<string, number>): Uint8Array =>
    Uint8Array.from([...text].map((char) => codes[char] ?? char.charCodeAt(0)));
  const french = 'Café – naïve';
  const cp1252 = { é: 0xe9, '–': 0x96, ï: 0xef };
  const russian = 'Привет';
  const cp1251 = { П: 0xcf, р: 0xf0, и: 0xe8, в: 0xe2, е: 0xe5, т: 0xf2 };
  const cases: Array<[string, Uint8Array, string]> = [
    ['utf-8 with BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(page('', french))]), french],
    ['utf-16le with BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(page('', french), 'utf16le')]), french],
    ['declared windows-1252', singleByte(page('<meta charset="windows-1252">', french), cp1252), french],
    ['undeclared windows-1252', singleByte(page('', french), cp1252), french],
    ['declared windows-1251', singleByte(page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">', russian), cp1251), russian],
  ];
  for (const [label, bytes, text] of cases) {
    const decoded = decodeHtmlBytes(bytes);
    assert.ok(decoded.ok, label);
    assert.ok(decoded.html.includes(text), label);
  }
  assert.deepEqual(decodeHtmlBytes(new Uint8Array()), { ok: false, reason: 'empty file' });
});
