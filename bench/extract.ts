// Main-content extraction benchmark on ../shared/corpora/article-extraction (181 real pages with
// hand-made ground truth): F1, precision, recall and pages/s of our extraction and, in the same run,
// of plain Readability.js over linkedom. With `--predictions <file.json>` it scores a saved
// `m2rag extract --json` output instead.
//   node --import tsx bench/extract.ts [--predictions out.json] [--rounds 2]
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { CORPORA } from '../tests/helpers/cli.js';
import { decodeHtmlBytes } from '../processors/text/decode.js';
import { extractMainContent } from '../processors/text/extract.js';
import { markPageImages } from '../processors/text/extract-files.js';
import { scoreExtraction, type ExtractionScore } from '../processors/text/score.js';

const DATASET = path.join(CORPORA, 'article-extraction');

async function loadDataset(): Promise<{ truth: Record<string, string>; html: Record<string, string> }> {
  const groundTruth = JSON.parse(await readFile(path.join(DATASET, 'ground-truth.json'), 'utf8')) as Record<string, { articleBody: string }>;
  const truth: Record<string, string> = {};
  const html: Record<string, string> = {};
  for (const [id, entry] of Object.entries(groundTruth)) {
    truth[id] = entry.articleBody;
    const decoded = decodeHtmlBytes(await readFile(path.join(DATASET, 'html', `${id}.html.gz`)));
    html[id] = decoded.ok ? decoded.html : '';
  }
  return { truth, html };
}

type Extractor = (html: string) => string;

const extractors: Record<string, Extractor> = {
  'readability.js (linkedom)': (html) => new Readability(parseHTML(html).document as unknown as Document).parse()?.textContent ?? '',
  'm2rag (extraction only, HTML as crawled)': (html) => extractMainContent(html).text,
  'm2rag (+ image marking, as `m2rag extract`)': (html) => extractMainContent(markPageImages(html, 'https://example.org/')).text,
};

interface Row extends ExtractionScore {
  name: string;
  pagesPerSecond: number;
}

function run(name: string, extract: Extractor, html: Record<string, string>, truth: Record<string, string>, rounds: number): Row {
  let best = Infinity;
  let predicted: Record<string, string> = {};
  for (let round = 0; round < rounds; round++) {
    predicted = {};
    const started = performance.now();
    for (const [id, page] of Object.entries(html)) predicted[id] = extract(page);
    best = Math.min(best, performance.now() - started);
  }
  return { name, ...scoreExtraction(truth, predicted), pagesPerSecond: Object.keys(html).length / (best / 1000) };
}

const format = (row: Row): string =>
  `| ${row.name} | ${row.f1.toFixed(4)} | ${row.precision.toFixed(4)} | ${row.recall.toFixed(4)} | ${row.pagesPerSecond.toFixed(1)} |`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { predictions: { type: 'string' }, rounds: { type: 'string', default: '2' } } });
  const { truth, html } = await loadDataset();
  if (values.predictions) {
    const saved = JSON.parse(await readFile(values.predictions, 'utf8')) as Record<string, { articleBody?: string }>;
    const predicted = Object.fromEntries(Object.entries(saved).map(([id, entry]) => [id, entry.articleBody ?? '']));
    const score = scoreExtraction(truth, predicted);
    console.log(`${values.predictions}: F1 ${score.f1.toFixed(4)}  precision ${score.precision.toFixed(4)}  recall ${score.recall.toFixed(4)}  (${score.pages} pages)`);
    return;
  }
  const rounds = Number(values.rounds);
  console.log('| extractor | F1 | precision | recall | pages/s (1 core) |\n|---|---|---|---|---|');
  for (const [name, extract] of Object.entries(extractors)) console.log(format(run(name, extract, html, truth, rounds)));
}

await main();
