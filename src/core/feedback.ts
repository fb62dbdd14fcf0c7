// Feedback on long work. On a terminal: human-readable log lines printed above a progress bar that
// stays at the bottom. Off a terminal (a pipe, a file, CI): structured JSON logs (pino) and periodic
// progress lines. Both go to stderr so a command's stdout stays clean for `--json` output.
import cliProgress from 'cli-progress';
import { pino, type Logger } from 'pino';

const interactive = (): boolean => Boolean(process.stderr.isTTY) && process.env.M2RAG_PROGRESS !== 'json';

/** The bars on screen now, if any: a log line is written above them, never into them. */
let bars: cliProgress.MultiBar | undefined;
let quiet = false;

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value && typeof value === 'object' && 'message' in value && 'stack' in value) {
    // An error logged as `err`: its stack is what a bug report needs (only --debug logs bugs with it).
    return `\n${String((value as { stack: unknown }).stack)}`;
  }
  return JSON.stringify(value);
}

/** One pino JSON line as `level message key=value …` for a person at a terminal. */
export function humanLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const { level, msg, time: _time, name: _name, ...fields } = entry;
  const label = LEVEL_NAMES[level as number] ?? String(level);
  const details = Object.entries(fields).map(([key, value]) => `${key}=${formatValue(value)}`);
  return [label === 'info' ? '' : `${label}:`, String(msg ?? ''), ...details].filter((part) => part !== '').join(' ');
}

const terminalLines = {
  write(json: string): void {
    const line = humanLine(json) + '\n';
    if (bars) {
      // The bar keeps the line until its next redraw; draw now, so a line logged just before the
      // stage ends is not lost with the bar.
      bars.log(line);
      bars.update();
    } else process.stderr.write(line);
  },
};

export const log: Logger = pino(
  { name: 'm2rag', level: process.env.M2RAG_LOG_LEVEL ?? 'info', base: undefined },
  interactive() ? terminalLines : pino.destination({ dest: 2, sync: true }),
);

/**
 * `--quiet`: warnings and errors only, and no progress. `--debug`: debug logs, and a bug's stack trace.
 * Set once by the command line before any work starts.
 */
export function setVerbosity(verbosity: 'quiet' | 'normal' | 'debug'): void {
  quiet = verbosity === 'quiet';
  if (verbosity === 'quiet') log.level = 'warn';
  if (verbosity === 'debug') log.level = 'debug';
}

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

  if (quiet) return { tick: (n = 1) => void (doneCount += n), done: () => undefined };

  if (interactive()) {
    const multi = new cliProgress.MultiBar(
      {
        format: `${stage.padEnd(10)} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    const bar = multi.create(total, 0, { rate: '0.0' });
    bars = multi;
    return {
      tick(n = 1) {
        doneCount += n;
        bar.update(doneCount, { rate: rate().toFixed(1) });
      },
      done() {
        // The finished bar stays on screen as the stage's line; later output starts below it.
        multi.stop();
        if (bars === multi) bars = undefined;
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
