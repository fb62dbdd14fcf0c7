// Main-content extraction benchmark on ../shared/corpora/article-extraction (181 real pages with
// hand-made ground truth): F1, precision, recall and pages/s of our extraction and, in the same run,
// of plain Readability.js over linkedom. With `--predictions <file.json>` it scores a saved
// `m2rag extract --json` output instead.
//   node --import tsx bench/extract.ts [--predictions out.json] [--rounds 3]
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { CORPORA } from '../tests/helpers/cli.js';
import { decodeHtmlBytes } from '../src/core/markup/html-bytes.js';
import { extractMainContent } from '../processors/text/extract.js';
import { markImagesInHtml } from '../src/core/markup/page-images.js';
import { scoreExtraction, type ExtractionScore } from './extraction-f1.js';

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
  'm2rag (+ image marking, as `m2rag extract`)': (html) => extractMainContent(markImagesInHtml(html, 'https://example.org/')).text,
};

interface Row extends ExtractionScore {
  name: string;
  pagesPerSecond: number;
  pagesPerCpuSecond: number;
}

interface Timing {
  wallMs: number;
  cpuMs: number;
  predicted: Record<string, string>;
}

function timeOnce(extract: Extractor, html: Record<string, string>): Timing {
  const predicted: Record<string, string> = {};
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (const [id, page] of Object.entries(html)) predicted[id] = extract(page);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, predicted };
}

/** Rounds interleave the extractors, so a change in machine load hits them alike; the best round counts. */
function runAll(html: Record<string, string>, truth: Record<string, string>, rounds: number): Row[] {
  const best = new Map<string, Timing>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, extract] of Object.entries(extractors)) {
      const timing = timeOnce(extract, html);
      const previous = best.get(name);
      best.set(name, {
        wallMs: Math.min(timing.wallMs, previous?.wallMs ?? Infinity),
        cpuMs: Math.min(timing.cpuMs, previous?.cpuMs ?? Infinity),
        predicted: timing.predicted,
      });
    }
  }
  const pages = Object.keys(html).length;
  return [...best].map(([name, timing]) => ({
    name,
    ...scoreExtraction(truth, timing.predicted),
    pagesPerSecond: pages / (timing.wallMs / 1000),
    pagesPerCpuSecond: pages / (timing.cpuMs / 1000),
  }));
}

const format = (row: Row): string =>
  `| ${row.name} | ${row.f1.toFixed(4)} | ${row.precision.toFixed(4)} | ${row.recall.toFixed(4)} | ${row.pagesPerSecond.toFixed(1)} | ${row.pagesPerCpuSecond.toFixed(1)} |`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { predictions: { type: 'string' }, rounds: { type: 'string', default: '3' } } });
  const { truth, html } = await loadDataset();
  if (values.predictions) {
    const saved = JSON.parse(await readFile(values.predictions, 'utf8')) as Record<string, { articleBody?: string }>;
    const predicted = Object.fromEntries(Object.entries(saved).map(([id, entry]) => [id, entry.articleBody ?? '']));
    const score = scoreExtraction(truth, predicted);
    console.log(`${values.predictions}: F1 ${score.f1.toFixed(4)}  precision ${score.precision.toFixed(4)}  recall ${score.recall.toFixed(4)}  (${score.pages} pages)`);
    return;
  }
  const rounds = Number(values.rounds);
  console.log('| extractor | F1 | precision | recall | pages/s (wall) | pages per CPU-second |\n|---|---|---|---|---|---|');
  for (const row of runAll(html, truth, rounds)) console.log(format(row));
}

await main();
