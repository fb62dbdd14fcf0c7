// Stage-by-stage benchmark of the offline mirror build (figures go to BENCHMARKS.md, section "Build
// stages"). The 3 queries of examples/mirror-queries.txt are crawled from the Wikipedia mirror served
// on 127.0.0.1 (untimed), then process, describe and score run one after another, each in a process
// of its own so its peak RSS is its own: describe with the embedded default, and again (on a copy of
// the processed store) with the vision-model method against the local OpenAI-format stand-in
// (tests/helpers/openai-server.ts), which answers after --delay-ms to emulate model latency, to show
// queries and model calls overlapping. Beside each stage: the raw rates of the encoders it calls,
// on the same inputs (USE lite on the kept chunks' texts, PaddleOCR on the kept images).
//
//   node --import tsx bench/build-stages.ts [--delay-ms 200]
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/core/config.js';
import { runBuildSteps, type BuildStep } from '../src/cli/pipeline.js';
import { openModelServices } from '../src/models/services.js';
import { CorpusStore, WHOLE } from '../storage/index.js';
import { ROOT } from '../tests/helpers/cli.js';
import { chatReply, startOpenAiServer } from '../tests/helpers/openai-server.js';
import { MIRROR_QUERIES, runOnMirror } from './mirror-site.js';
import { measure, ocrRate, useLiteRate, type EncoderRate } from './timing.js';

const { values: args } = parseArgs({
  options: {
    'delay-ms': { type: 'string', default: '200' },
    /** Child mode: run one build step on --store and print its figures as one JSON line. */
    step: { type: 'string' },
    store: { type: 'string' },
    config: { type: 'string' },
  },
});

interface StageFigures {
  label: string;
  elementsIn: number;
  elementsOut: number;
  /** What the in and out counts are. */
  unit: string;
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
}

/** Kept chunks and images, as the stages after process read them. */
async function keptElements(store: CorpusStore): Promise<{ chunkTexts: string[]; imageIds: string[] }> {
  const chunkTexts: string[] = [];
  for await (const chunk of store.iterate('chunks')) if (!chunk.duplicateOf && !chunk.boilerplate) chunkTexts.push(chunk.text);
  const imageIds: string[] = [];
  for await (const image of store.iterate('images')) if (image.filter?.kept && (!image.representativeId || image.representativeId === image.id)) imageIds.push(image.id);
  return { chunkTexts, imageIds };
}

async function countOf(store: CorpusStore, kind: 'pages' | 'images' | 'scores'): Promise<number> {
  let n = 0;
  for await (const _ of store.iterate(kind)) n++;
  return n;
}

async function okDescriptions(store: CorpusStore): Promise<number> {
  let n = 0;
  for await (const description of store.iterate('descriptions')) if (description.status === 'ok') n++;
  return n;
}

/** What goes into a step and what comes out of it, counted in the store. */
const ELEMENTS: Record<'process' | 'describe' | 'score', { unit: string; in: (store: CorpusStore) => Promise<number>; out: (store: CorpusStore) => Promise<number> }> = {
  process: {
    unit: 'pages+images → kept chunks+images',
    in: async (store) => (await countOf(store, 'pages')) + (await countOf(store, 'images')),
    out: async (store) => {
      const kept = await keptElements(store);
      return kept.chunkTexts.length + kept.imageIds.length;
    },
  },
  describe: { unit: 'kept images → descriptions', in: async (store) => (await keptElements(store)).imageIds.length, out: okDescriptions },
  score: {
    unit: 'kept chunks+images → scores',
    in: async (store) => {
      const kept = await keptElements(store);
      return kept.chunkTexts.length + kept.imageIds.length;
    },
    out: (store) => countOf(store, 'scores'),
  },
};

/** Child mode: one build step, timed from its first query to its last (model loads included). */
async function runStep(step: 'process' | 'describe' | 'score', storeDir: string, configFile: string): Promise<void> {
  const config = await loadConfig(configFile);
  const store = await CorpusStore.open(storeDir);
  const elementsIn = await ELEMENTS[step].in(store);
  const services = openModelServices(config, store);
  const { timing } = await measure(() => runBuildSteps(store, config, [step as BuildStep], { shard: WHOLE, force: false, services }));
  await services.dispose();
  const elementsOut = await ELEMENTS[step].out(store);
  await store.close();
  // maxRSS is in KB: the peak of this process, which ran nothing but this step.
  console.log(JSON.stringify({ elementsIn, elementsOut, unit: ELEMENTS[step].unit, ...timing, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

function runChild(label: string, step: string, storeDir: string, configFile: string, env: Record<string, string> = {}): Promise<StageFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--step', step, '--store', storeDir, '--config', configFile], {
      cwd: ROOT,
      env: { ...process.env, M2RAG_LOG_LEVEL: 'fatal', M2RAG_LLM_URL: '', M2RAG_VISION_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${label}: exit ${code}\n${stderr.slice(-2000)}`));
      process.stderr.write(stderr);
      resolve({ label, ...JSON.parse(stdout.trim().split('\n').at(-1)!) });
    });
  });
}

async function crawlMirror(dir: string): Promise<{ store: string; config: string }> {
  const store = path.join(dir, 'store');
  const config = await runOnMirror(dir, store, [['crawl', '--queries', MIRROR_QUERIES]]);
  return { store, config };
}

function row(cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`;
}

function rateCell(rate: EncoderRate | undefined, unit: string): string {
  return rate ? `${rate.perSecond.toFixed(1)} ${unit}/s (${rate.items}; ${rate.cpuMsPerItem.toFixed(1)} ms CPU each)` : '—';
}

async function main(): Promise<void> {
  const delayMs = Number(args['delay-ms']);
  const temp = await mkdtemp(path.join(tmpdir(), 'm2rag-bench-stages-'));
  const flight = { now: 0, peak: 0 };
  const standIn = await startOpenAiServer({
    chat: async () => {
      flight.peak = Math.max(flight.peak, ++flight.now);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      flight.now--;
      return chatReply('A black-and-white photograph of Ray Charles at the piano, smiling, in a dark suit.');
    },
  });
  try {
    const { store, config } = await crawlMirror(temp);
    const figures: StageFigures[] = [];
    figures.push(await runChild('process (text + images)', 'process', store, config));
    const visionStore = path.join(temp, 'store-vision');
    await cp(store, visionStore, { recursive: true });
    figures.push(await runChild('describe, embedded (OCR + context template)', 'describe', store, config));
    const visionEnv = { M2RAG_VISION_URL: standIn.url, M2RAG_VISION_MODEL: 'stand-in-vl' };
    figures.push(await runChild(`describe, vision model (stand-in, ${delayMs} ms a reply)`, 'describe', visionStore, config, visionEnv));
    const visionRequests = standIn.requestsTo('chat').length;
    figures.push(await runChild('score, embedded', 'score', store, config));

    const opened = await CorpusStore.open(store);
    const kept = await keptElements(opened);
    const images: Uint8Array[] = [];
    for (const id of kept.imageIds) {
      const image = await opened.get('images', id);
      const bytes = image && (await opened.imageBytes(image, { prefer: 'original' }));
      if (bytes) images.push(bytes);
    }
    await opened.close();
    const use = await useLiteRate(kept.chunkTexts);
    const ocr = await ocrRate(images);

    console.log(`\nmirror build, ${path.basename(path.join(ROOT, 'examples/mirror-queries.txt'))} (3 queries), each stage in its own process:\n`);
    console.log(row(['stage', 'elements in → out', 'seconds', 'elements/s', 'CPU s', 'peak RSS MB', 'encoders it calls, raw']));
    console.log(row(['---', '---', '---:', '---:', '---:', '---:', '---']));
    const encoders = [undefined, `OCR ${rateCell(ocr, 'images')}; USE lite ${rateCell(use, 'texts')}`, `stand-in: ${visionRequests} requests, at most ${flight.peak} in flight`, `USE lite ${rateCell(use, 'texts')}`];
    for (const [i, f] of figures.entries()) {
      console.log(row([f.label, `${f.elementsIn} → ${f.elementsOut} (${f.unit})`, f.seconds.toFixed(2), (f.elementsIn / f.seconds).toFixed(1), f.cpuSeconds.toFixed(2), f.peakRssMb, encoders[i] ?? '—']));
    }
  } finally {
    await standIn.close();
    await rm(temp, { recursive: true, force: true });
  }
}

if (args.step) await runStep(args.step as 'process' | 'describe' | 'score', args.store!, args.config!);
else await main();
