// Per-occurrence context on real pages of the Wikipedia mirror: the pages are marked as the crawler
// marks them (findPageImages) and turned into markdown by the text extractor, then each image's
// context is read around its placeholder.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA } from './helpers/cli.js';
import { buildOccurrenceContext, extractMarkdownContext, nearestHeadingAbove } from '../processors/images/context.js';
import { markImagesInHtml } from '../src/core/markup/page-images.js';
import { extractMainContent } from '../processors/text/extract.js';
import { countTokens } from '../src/core/text/tokens.js';
import type { Occurrence } from '../storage/index.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles/A');
const BUDGET = { tokensAbove: 256, tokensBelow: 256 };

async function mirrorMarkdown(page: string): Promise<string> {
  const html = await readFile(path.join(MIRROR, page), 'utf8');
  // An http base URL, as when crawled from the mirror served on 127.0.0.1.
  return extractMainContent(markImagesInHtml(html, `http://127.0.0.1:8080/A/${encodeURIComponent(page)}`)).markdown;
}

function pageOccurrence(index: number, attributes: Record<string, string> = {}): Occurrence {
  return { id: `p1:${index}`, kind: 'page', pageId: 'p1', index, url: `http://127.0.0.1:8080/I/m/x${index}.jpg`, domPath: 'html>body>div>img', attributes };
}

test('Ray Charles: a captioned photo gets its section heading, caption and trimmed text around it', async () => {
  const markdown = await mirrorMarkdown('Ray_Charles.html');
  assert.ok(markdown.includes('<IMAGE_PLACEHOLDER>[3]'), 'the extractor kept the 1968 photo');
  const context = extractMarkdownContext(markdown, 3, BUDGET);
  assert.equal(context.found, true);
  assert.equal(context.heading, 'Commercial decline (1967–81)');
  assert.equal(context.adjacentCaption, 'Ray Charles in 1968');
  assert.ok(context.below!.startsWith('Ray Charles in 1968'));
  assert.ok(context.above!.endsWith('### Commercial decline (1967–81)'), context.above!.slice(-80));
  assert.ok(context.above!.includes('Here We Go Again'), 'the paragraph before the heading is above');
  for (const text of [context.above!, context.below!]) {
    assert.doesNotMatch(text, /IMAGE_PLACEHOLDER/, 'other placeholders are removed');
    assert.doesNotMatch(text, /\]\(http/, 'links are reduced to their text');
    const tokens = countTokens(text);
    assert.ok(tokens <= 256 && tokens >= 200, `${tokens} tokens: trimmed to the budget on a long page`);
  }
  // The next image's context starts after this one and contains neither marker.
  const next = extractMarkdownContext(markdown, 4, BUDGET);
  assert.equal(next.adjacentCaption, '1972 meeting of President Nixon and Ray Charles taken by Oliver F. Atkins');
  assert.ok(next.above!.endsWith('Ray Charles in 1968'));
});

test('Ray Charles: the lead infobox image has no heading above it and the page title as its text above', async () => {
  const markdown = await mirrorMarkdown('Ray_Charles.html');
  const context = extractMarkdownContext(markdown, 0, BUDGET);
  assert.equal(context.found, true);
  assert.equal(context.heading, undefined);
  assert.equal(context.above, 'Ray Charles');
  assert.equal(context.adjacentCaption, 'Ray Charles in 1990');
});

test('What\'d I Say: the occurrence context joins alt text, caption, chunk id and budgets', async () => {
  const markdown = await mirrorMarkdown("What'd_I_Say.html");
  const html = await readFile(path.join(MIRROR, "What'd_I_Say.html"), 'utf8');
  const alt = /alt="(Head and shoulders shot of Ray Charles[^"]*)"/.exec(html)?.[1];
  assert.ok(alt, 'the page has the cover photo with its alt text');
  const k = Number(/<IMAGE_PLACEHOLDER>\[(\d+)\]/.exec(markdown)![1]);
  const context = buildOccurrenceContext({
    occurrence: pageOccurrence(k, { alt }),
    markdown,
    chunkId: 'p1:c0',
    budget: { tokensAbove: 20, tokensBelow: 30 },
  });
  assert.equal(context.alt, alt);
  assert.equal(context.chunkId, 'p1:c0');
  assert.equal(context.inMainContent, true);
  assert.equal(context.figcaption, 'Single by Ray Charles');
  assert.equal(context.captionSource, 'adjacent-text');
  assert.ok(countTokens(context.above ?? '') <= 20);
  assert.ok(countTokens(context.below!) <= 30 && countTokens(context.below!) >= 20);
});

test('a marked-up figcaption wins over adjacent text; an image missing from the main text says so', () => {
  const markdown = '# Title\n\nIntro text.\n\n<IMAGE_PLACEHOLDER>[0]\n\nShort line\n\nMore text <IMAGE_PLACEHOLDER>[1] inline.';
  const withCaption = buildOccurrenceContext({ occurrence: pageOccurrence(0, { figcaption: 'The real caption' }), markdown, budget: BUDGET });
  assert.equal(withCaption.figcaption, 'The real caption');
  assert.equal(withCaption.captionSource, 'figcaption');
  assert.equal(withCaption.heading, 'Title');
  assert.equal(withCaption.below, 'Short line\n\nMore text inline.');
  const inline = buildOccurrenceContext({ occurrence: pageOccurrence(1), markdown, budget: BUDGET });
  assert.equal(inline.figcaption, undefined, 'an image inside a sentence has no adjacent caption');
  assert.equal(inline.above, '# Title\n\nIntro text.\n\nShort line\n\nMore text');
  const missing = buildOccurrenceContext({ occurrence: pageOccurrence(7, { alt: 'logo' }), markdown, budget: BUDGET });
  assert.equal(missing.inMainContent, false);
  assert.equal(missing.above, undefined);
  assert.equal(missing.alt, 'logo');
  const noMarkdown = buildOccurrenceContext({ occurrence: pageOccurrence(0), budget: BUDGET });
  assert.equal(noMarkdown.inMainContent, undefined);
});

test('setext and ATX headings are both found, the nearest one above wins', () => {
  assert.equal(nearestHeadingAbove('Intro\n=====\n\ntext\n\n## Part *two*\n\nmore'), 'Part two');
  assert.equal(nearestHeadingAbove('# One\n\nSection\n-------\n\ntext'), 'Section');
  assert.equal(nearestHeadingAbove('no heading here\n\n---\n\ntext'), undefined);
});
