// Feedback on long work: a progress bar on a terminal, structured JSON logs (pino) otherwise.
// Both go to stderr so a command's stdout stays clean for `--json` output.
import cliProgress from 'cli-progress';
import { pino, type Logger } from 'pino';

export const log: Logger = pino(
  { name: 'm2rag', level: process.env.M2RAG_LOG_LEVEL ?? 'info', base: undefined },
  pino.destination({ dest: 2, sync: true }),
);

const interactive = (): boolean => Boolean(process.stderr.isTTY) && process.env.M2RAG_PROGRESS !== 'json';

export interface Progress {
  /** Marks `n` more items done. */
  tick(n?: number): void;
  done(summary?: Record<string, unknown>): void;
}

const LOG_EVERY_MS = 2000;

/** Progress of one stage: done/total, rate and ETA, on a bar or as periodic log lines. */
export function startProgress(stage: string, total: number): Progress {
  const started = Date.now();
  let doneCount = 0;
  let lastLog = 0;
  const rate = (): number => doneCount / Math.max((Date.now() - started) / 1000, 1e-3);

  if (interactive()) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${stage.padEnd(10)} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.0' });
    return {
      tick(n = 1) {
        doneCount += n;
        bar.update(doneCount, { rate: rate().toFixed(1) });
      },
      done() {
        bar.stop();
      },
    };
  }

  return {
    tick(n = 1) {
      doneCount += n;
      const now = Date.now();
      if (now - lastLog >= LOG_EVERY_MS || doneCount === total) {
        lastLog = now;
        const r = rate();
        log.info({ stage, done: doneCount, total, rate: Number(r.toFixed(2)), etaSeconds: r > 0 ? Math.round((total - doneCount) / r) : null }, 'progress');
      }
    },
    done(summary = {}) {
      log.info({ stage, done: doneCount, total, seconds: Number(((Date.now() - started) / 1000).toFixed(2)), ...summary }, 'stage finished');
    },
  };
}
