// Near-duplicate detection benchmark: real article texts (the article-extraction ground truth),
// variants of each (boilerplate around it changed, paragraphs reordered, 10% of words edited) and
// distinct articles; precision and recall of MinHash LSH + exact-hash matching with the default
// config (word 5-shingles, 14 bands × 8 rows, Jaccard ≥ 0.72), and documents per second.
//   node --import tsx bench/dedup-text.ts [--bands 14 --rows 8 --threshold 0.72 --shingle 5]
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CORPORA } from '../tests/helpers/cli.js';
import { DedupIndex, type Fingerprint } from '../processors/text/dedup-index.js';
import { exactHash, minhashSignature, normalizedParagraphs, normalizedWords, type MinHashParams } from '../processors/text/minhash.js';

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = random(42);
const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)]!;

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

const paragraphsOf = (text: string): string[] => text.split(/\n+/).filter((p) => p.trim() !== '');

/** A page: short boilerplate lines (a header and footer of ~12-word lines cut from another article) around the article. */
function withBoilerplate(article: string, donor: string): string {
  const lines = paragraphsOf(donor).map((line) => line.split(/\s+/).slice(0, 12).join(' '));
  return [lines.slice(0, 2).join('\n'), article, lines.slice(-2).join('\n')].join('\n');
}

function editWords(text: string, share: number, vocabulary: string[]): string {
  return text
    .split(/(\s+)/)
    .map((token) => (/\S/.test(token) && rand() < share ? pick(vocabulary) : token))
    .join('');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { bands: { type: 'string', default: '14' }, rows: { type: 'string', default: '8' }, threshold: { type: 'string', default: '0.72' }, shingle: { type: 'string', default: '5' } },
  });
  const params: MinHashParams = { bands: Number(values.bands), rows: Number(values.rows), shingleWords: Number(values.shingle) };
  const threshold = Number(values.threshold);
  const truth = JSON.parse(await readFile(path.join(CORPORA, 'article-extraction/ground-truth.json'), 'utf8')) as Record<string, { articleBody: string }>;
  const articles = shuffled(Object.values(truth).map((t) => t.articleBody).filter((text) => normalizedWords(text).length >= 100));
  const originals = articles.slice(0, Math.floor(articles.length / 2));
  const distinct = articles.slice(originals.length);
  const vocabulary = articles.flatMap((text) => text.split(/\s+/)).filter((w) => w.length > 3);

  let fingerprintMs = 0;
  let fingerprinted = 0;
  const fingerprint = (text: string): Fingerprint => {
    const started = performance.now();
    const paragraphs = normalizedParagraphs(text);
    const result = { textHash: exactHash(paragraphs.flat()), signature: minhashSignature(paragraphs, params) };
    fingerprintMs += performance.now() - started;
    fingerprinted++;
    return result;
  };

  const index = new DedupIndex(params, threshold);
  const pages = originals.map((text) => withBoilerplate(text, pick(distinct)));
  pages.forEach((page, i) => index.add(`o${i}`, fingerprint(page)));

  const variants: Record<string, (page: string, article: string) => string> = {
    'exact copy': (page) => page,
    'boilerplate changed': (_page, article) => withBoilerplate(article, pick(distinct)),
    'paragraphs reordered': (text) => shuffled(paragraphsOf(text)).join('\n'),
    '10% of words edited': (text) => editWords(text, 0.1, vocabulary),
    '5% of words edited': (text) => editWords(text, 0.05, vocabulary),
  };
  let truePositives = 0;
  let falsePositives = 0;
  console.log('| variant | pages | detected (recall) |\n|---|---|---|');
  for (const [name, make] of Object.entries(variants)) {
    let found = 0;
    pages.forEach((page, i) => {
      const match = index.match(fingerprint(make(page, originals[i]!)));
      if (match?.id === `o${i}`) found++;
      else if (match) falsePositives++;
    });
    truePositives += found;
    console.log(`| ${name} | ${originals.length} | ${found} (${(found / originals.length).toFixed(3)}) |`);
  }
  let distinctMatched = 0;
  for (const text of distinct) if (index.match(fingerprint(text))) distinctMatched++;
  falsePositives += distinctMatched;
  console.log(`\ndistinct pages matched (false positives): ${distinctMatched} of ${distinct.length}`);
  console.log(`precision ${(truePositives / Math.max(truePositives + falsePositives, 1)).toFixed(3)} over all detections`);
  console.log(`fingerprinting: ${(fingerprinted / (fingerprintMs / 1000)).toFixed(0)} documents/s (mean ${Math.round(articles.reduce((n, a) => n + normalizedWords(a).length, 0) / articles.length)} words)`);
}

await main();
