// Timing of a piece of work in this process (wall and CPU seconds), and the raw rates of the
// embedded encoders the stages call: shared by the model benchmark and the stage benchmark.
import { PaddleOcr } from '../src/models/paddle-ocr.js';
import { UniversalSentenceEncoder } from '../src/models/embedded-text.js';

export interface Timing {
  seconds: number;
  /** User + system CPU seconds of the whole process (worker and ONNX threads too). */
  cpuSeconds: number;
}

export async function measure<T>(work: () => Promise<T>): Promise<{ result: T; timing: Timing }> {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const result = await work();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return { result, timing: { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 } };
}

/** Runs `work` over `items` items and prints one line: wall time, rate, CPU time per item. */
export async function timed<T>(label: string, items: number, unit: string, work: () => Promise<T>): Promise<T> {
  const { result, timing } = await measure(work);
  console.log(`${label}: ${items} ${unit} in ${timing.seconds.toFixed(2)} s wall = ${(items / timing.seconds).toFixed(2)} ${unit}/s; ${((timing.cpuSeconds / items) * 1000).toFixed(1)} ms CPU per item`);
  return result;
}

/** An encoder's rate over items after its load and first call (which are printed apart). */
export interface EncoderRate {
  items: number;
  perSecond: number;
  cpuMsPerItem: number;
}

function rateOf(items: number, timing: Timing): EncoderRate {
  return { items, perSecond: items / timing.seconds, cpuMsPerItem: (timing.cpuSeconds / items) * 1000 };
}

/** USE lite (src/models/embedded-text.ts) texts/s over `texts`, in one call as the stages make it. */
export async function useLiteRate(texts: string[]): Promise<EncoderRate> {
  const use = new UniversalSentenceEncoder();
  try {
    await use.embedTexts([texts[0]!]);
    return rateOf(texts.length, (await measure(() => use.embedTexts(texts))).timing);
  } finally {
    await use.dispose();
  }
}

/** PaddleOCR (src/models/paddle-ocr.ts) images/s over `images`, one at a time as the describe stage reads them. */
export async function ocrRate(images: Uint8Array[], threads = 1): Promise<EncoderRate> {
  const ocr = new PaddleOcr({ threads });
  try {
    await ocr.recognize(images[0]!);
    const { timing } = await measure(async () => {
      for (const image of images) await ocr.recognize(image);
    });
    return rateOf(images.length, timing);
  } finally {
    await ocr.dispose();
  }
}
