// The crash harness: runs an m2rag command in its own process group, stops it with a signal at a
// point chosen by the stage's own progress (the kernel's test-only M2RAG_TEST_PAUSE_AFTER hook:
// after its n-th query it prints one line and waits), reruns the same command, and snapshots every
// record kind and index of the store (times aside) for comparison with an uninterrupted run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './cli.js';
import { CorpusStore, indexNames, recordSchemas, type RecordKind } from '../../storage/index.js';

/** Fields that hold a wall-clock time or a duration: they differ between any two runs. */
const CLOCK_FIELDS = new Set(['at', 'fetchedAt', 'createdAt', 'doneAt', 'latencyMs', 'retrieveMs', 'rerankMs']);

function withoutClock(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutClock);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([key]) => !CLOCK_FIELDS.has(key))
      .map(([key, v]) => [key, withoutClock(v)]),
  );
}

/**
 * Every record of every kind and every index link, as sorted lines (times aside). Stage markers
 * keep their stage and query only (their counts say what one run did, which a resumed run splits).
 */
export async function storeSnapshot(dir: string): Promise<Record<string, string[]>> {
  const db = await CorpusStore.open(dir);
  try {
    const out: Record<string, string[]> = {};
    for (const kind of Object.keys(recordSchemas) as RecordKind[]) {
      const rows: string[] = [];
      for await (const record of db.iterate(kind)) {
        const r = record as Record<string, unknown>;
        rows.push(kind === 'stageMarkers' ? `${r.stage as string} ${r.queryId as string}` : JSON.stringify(withoutClock(r)));
      }
      out[kind] = rows.sort();
    }
    for (const index of indexNames) {
      const links: string[] = [];
      for await (const [from, to] of db.links(index)) links.push(`${from} -> ${to}`);
      out[index] = links.sort();
    }
    return out;
  } finally {
    await db.close();
  }
}

/** Asserts two snapshots are equal kind by kind, naming the kind and the first differing lines. */
export function assertSameStore(actual: Record<string, string[]>, expected: Record<string, string[]>, label: string): void {
  for (const kind of Object.keys(expected)) {
    const a = actual[kind] ?? [];
    const e = expected[kind]!;
    if (JSON.stringify(a) === JSON.stringify(e)) continue;
    const missing = e.filter((line) => !a.includes(line)).slice(0, 2);
    const extra = a.filter((line) => !e.includes(line)).slice(0, 2);
    assert.fail(`${label}: ${kind} differs (${a.length} records, expected ${e.length})\nmissing: ${missing.join('\n')}\nextra: ${extra.join('\n')}`);
  }
}

/** Copies every model cache entry of one store into another (closed) store, so its model outputs are reused. */
export async function copyModelCache(from: string, to: string): Promise<void> {
  const [source, target] = [await CorpusStore.open(from), await CorpusStore.open(to)];
  try {
    const batch = target.batch();
    for await (const entry of source.iterate('modelCache')) batch.put('modelCache', entry);
    await batch.write();
  } finally {
    await Promise.all([source.close(), target.close()]);
  }
}

/** Every file of an export directory (relative path → its text, or the sha256 of a binary file), for byte-for-byte comparison with readable diffs. */
export async function exportFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const bytes = await readFile(full);
    out[path.relative(dir, full)] = /\.(md|jsonl?|ya?ml|txt)$/.test(entry.name) || entry.name.startsWith('.') ? bytes.toString('utf8') : `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  }
  return out;
}

export interface Stopped {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the CLI in its own process group with the kernel paused after the `after`-th query of
 * `stage`, and sends `signal` to the group once it is paused there. Fails if the command ends first.
 */
export async function stopAfter(args: string[], stage: string, after: number, signal: 'SIGKILL' | 'SIGINT', env: Record<string, string> = {}): Promise<Stopped> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/m2rag.js'), ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, M2RAG_LOG_LEVEL: 'fatal', ...env, M2RAG_TEST_PAUSE_AFTER: `${stage}:${after}` },
  });
  let stderr = '';
  const pausedLine = `test-pause: ${stage} after ${after}`;
  const exited = new Promise<Stopped>((resolve) => child.on('close', (code, sig) => resolve({ code, signal: sig, stderr })));
  const paused = new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (stderr.includes(pausedLine)) resolve();
    });
  });
  const first = await Promise.race([paused.then(() => 'paused' as const), exited.then(() => 'exited' as const)]);
  if (first === 'exited') assert.fail(`${args.join(' ')}: ended before ${stage} paused after query ${after}:\n${stderr}`);
  process.kill(-child.pid!, signal);
  return exited;
}
