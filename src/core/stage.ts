// The stage runner. A stage is a small unit with one per-query function (datatrove-style): the
// runner feeds it the queries of its shard, skips those already marked done (resumable), commits
// each query's records and its done marker in one atomic batch (so a kill, at any moment, leaves a
// query wholly done or untouched), keeps the stage's counts and stores them. Stages write records
// under stable ids, so running one twice changes nothing (idempotent).
//
// One rule for failures: an item that fails (a model reply, a page) is recorded by the stage with its
// reason and counted with `counts.fail(reason)`; its query is then not marked done, so the next run
// retries it. A query whose work throws is counted as failed and retried the same way. Either way
// the counts of what the query did survive.
//
// A stage whose work waits on I/O or model calls may run several queries at once (queryConcurrency);
// each still commits alone, so a kill leaves every query wholly done or untouched.
import pLimit from 'p-limit';
import type { Config } from './config.js';
import { log, startProgress } from './feedback.js';
import { WHOLE, type CorpusStore, type Query, type Shard, type StoreBatch } from '../../storage/index.js';

/** Counts of what a stage did and why it dropped what it dropped. */
export class StageCounts {
  readonly counts: Record<string, number> = {};
  private failures = 0;
  private firstFailure?: string;

  add(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }

  /** A dropped element, counted under its reason. */
  drop(reason: string, n = 1): void {
    this.add(`dropped:${reason}`, n);
  }

  /**
   * An item that failed and was recorded with its reason; the query stays unmarked for a retry.
   * `reason` is one line; its part before the first ':' names the count.
   */
  fail(reason: string, n = 1): void {
    this.add(`failed:${reason.split(':')[0]!.trim()}`, n);
    this.failures += n;
    this.firstFailure ??= reason;
  }

  /** Items that failed in this unit of work, and the first reason. */
  get failed(): { count: number; first?: string } {
    return { count: this.failures, first: this.firstFailure };
  }

  merge(other: Record<string, number>): void {
    for (const [key, n] of Object.entries(other)) this.add(key, n);
  }
}

/**
 * What a stage gets: the store, the config, its shard, the stage's counts (for work outside one
 * query, such as a corpus-wide finish step), and the services the command opened once for all its
 * stages (models, for instance), typed by the stage that uses them.
 */
export interface StageContext<Services = unknown> {
  store: CorpusStore;
  config: Config;
  shard: Shard;
  counts: StageCounts;
  services: Services;
  /** Aborted on the first Ctrl-C: take no new work (what is in flight may still commit). */
  signal: AbortSignal;
  /**
   * The ids of the queries this run works on (known before setup). The others are settled: done by
   * an earlier run, so corpus-wide state built at setup may rest on them, never on half-done work.
   */
  working?: ReadonlySet<string>;
}

export interface Stage<Services = unknown> {
  readonly name: string;
  /** Once per run, before any query (build indexes, check what the stage needs). */
  setup?(ctx: StageContext<Services>): Promise<void>;
  /**
   * The work for one query; counts go to `counts` (they are kept even when the query fails). Its
   * records go to `batch`, which the runner commits in one atomic write together with the query's
   * done marker, so a kill leaves the query either wholly done or untouched. A query the interrupt
   * (`ctx.signal`) stops part-way throws `InterruptedError`: it is left unmarked for the next run.
   */
  runQuery(query: Query, ctx: StageContext<Services>, counts: StageCounts, batch: StoreBatch): Promise<void>;
  /**
   * How many queries may run at once (default 1), asked after setup. Above 1 only for work that
   * waits on I/O or model calls and reads nothing another query of the same run writes, since the
   * queries then finish in any order. They are still started in order.
   */
  queryConcurrency?(ctx: StageContext<Services>): number;
  /** Once per run, after all queries (corpus-wide steps such as clustering). */
  finish?(ctx: StageContext<Services>): Promise<void>;
  /** Once per run, always, to release what setup opened. */
  teardown?(ctx: StageContext<Services>): Promise<void>;
  /** The settings that decide this stage's output (its config section, the models it used), stored with its stats. */
  settingsOf?(ctx: StageContext<Services>): Record<string, unknown>;
}

/** Options of one stage run; `services` is required when the stage uses any. */
export type RunStageOptions<Services> = RunStageSettings & (unknown extends Services ? { services?: Services } : { services: Services });

interface RunStageSettings {
  config: Config;
  shard?: Shard;
  /** Re-run queries already marked done. */
  force?: boolean;
  /** Stages a query must have finished first; until then the query waits (it is not marked done). */
  requires?: readonly string[];
  /** Stages whose work for a query is stale once this stage (re)does it: their markers are cleared. */
  invalidates?: readonly string[];
  /** Stops the run between queries (default: the process-wide one the CLI aborts on SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** A query this gives a reason for is not worked on, and is counted as `queries-skipped:<reason>`. */
  skip?: (query: Query) => string | undefined;
  /** Asked between queries; once it gives a reason (a model endpoint is down), the run stops and reports it as `halted`. */
  halted?: () => string | undefined;
}

// Signals are process-wide, so the interruption is too: the CLI aborts it, every stage run sees it.
const interruption = new AbortController();
/** Asks every stage run to stop taking new work. */
export function interrupt(): void {
  interruption.abort();
}
export const interruptSignal: AbortSignal = interruption.signal;

/** A stage run stopped by `interrupt()`; its finished queries are marked done, the rest resume next run. */
export class InterruptedError extends Error {
  constructor(stage: string) {
    super(`${stage}: interrupted`);
    this.name = 'InterruptedError';
  }
}

export interface StageReport {
  stage: string;
  queries: number;
  skipped: number;
  /** Queries whose work threw, or that left failed items (both are retried by the next run). */
  failed: number;
  /** The first failure's reason, for the one line a command prints when every query failed. */
  firstFailure?: string;
  /** Why the run stopped before its last query (see `halted` in the options); the caller ends the command with it. */
  halted?: string;
  counts: Record<string, number>;
}

export async function runStage<Services>(stage: Stage<Services>, store: CorpusStore, options: RunStageOptions<Services>): Promise<StageReport> {
  const shard = options.shard ?? WHOLE;
  const working = new Set<string>();
  const ctx: StageContext<Services> = { store, config: options.config, shard, counts: new StageCounts(), services: options.services as Services, signal: options.signal ?? interruptSignal, working };
  const todo: Query[] = [];
  let skipped = 0;
  for await (const query of store.iterate('queries', { shard })) {
    const skipReason = options.skip?.(query);
    if (skipReason) {
      ctx.counts.add(`queries-skipped:${skipReason}`);
      continue;
    }
    if (!options.force && (await store.isStageDone(stage.name, query.id))) {
      skipped++;
      continue;
    }
    const missing = await firstUnfinished(store, options.requires ?? [], query.id);
    if (missing) ctx.counts.add(`queries-waiting-for:${missing}`);
    else {
      todo.push(query);
      working.add(query.id);
    }
  }
  let failed = 0;
  let firstFailure: string | undefined;
  let halted: string | undefined;
  let worked = 0;
  const progress = startProgress(stage.name, todo.length);
  if (ctx.signal.aborted) throw new InterruptedError(stage.name);
  try {
    await stage.setup?.(ctx);
    const limit = pLimit(Math.max(1, stage.queryConcurrency?.(ctx) ?? 1));
    /** Set while the test-only pause holds: no query starts until it ends. */
    let paused: Promise<void> | undefined;
    const runOne = async (query: Query): Promise<void> => {
      await paused;
      // Asked before each query starts: once halted or interrupted, none starts, the ones in flight still commit.
      halted ??= options.halted?.();
      if (ctx.signal.aborted || halted) return;
      const counts = new StageCounts();
      try {
        const batch = store.batch();
        await stage.runQuery(query, ctx, counts, batch);
        if (counts.failed.count > 0) {
          // What the query did (its failed items with their reasons, too) is kept; only the marker waits.
          await batch.write();
          failed++;
          firstFailure ??= counts.failed.first;
          ctx.counts.add('queries-incomplete');
          log.warn({ stage: stage.name, queryId: query.id, failed: counts.failed.count, first: counts.failed.first }, 'query incomplete; the next run retries it');
        } else {
          batch.markStageDone(stage.name, query.id, counts.counts);
          for (const later of options.invalidates ?? []) batch.clearStageDone(later, query.id);
          await batch.write();
          ctx.counts.add('queries');
        }
      } catch (error) {
        // A query the interrupt stopped part-way is left as it is, unmarked and uncounted: the next run does it.
        if (error instanceof InterruptedError) return;
        // A query that fails is left unmarked, so the next run retries it; the stage goes on.
        failed++;
        firstFailure ??= (error as Error).message;
        ctx.counts.add('queries-failed');
        log.error({ stage: stage.name, queryId: query.id, err: (error as Error).message }, 'query failed');
      }
      ctx.counts.merge(counts.counts);
      progress.tick();
      if (++worked === testPauseAfter(stage.name)) {
        paused = testPause(stage.name, worked, ctx.signal);
        await paused;
      }
    };
    await Promise.all(todo.map((query) => limit(() => runOne(query))));
    halted ??= options.halted?.();
    if (!ctx.signal.aborted && !halted) await stage.finish?.(ctx);
  } finally {
    await stage.teardown?.(ctx);
  }
  if (skipped > 0) ctx.counts.add('queries-already-done', skipped);
  await store.addStageStats(stage.name, ctx.counts.counts, stage.settingsOf?.(ctx));
  progress.done({ counts: ctx.counts.counts });
  if (ctx.signal.aborted) throw new InterruptedError(stage.name);
  return { stage: stage.name, queries: todo.length, skipped, failed, firstFailure, halted, counts: ctx.counts.counts };
}

/**
 * Test-only (the crash harness, tests/helpers/crash-harness.ts): with M2RAG_TEST_PAUSE_AFTER set to
 * `<stage>:<n>`, the run prints `test-pause: <stage> after <n>` to stderr once its n-th query has
 * landed and waits there, starting no other query, for the signal the test sends (a Ctrl-C ends the
 * wait, as it would end the work). Unset, it does nothing.
 */
function testPauseAfter(stageName: string): number | undefined {
  const setting = process.env.M2RAG_TEST_PAUSE_AFTER;
  const after = setting?.startsWith(`${stageName}:`) ? setting.slice(stageName.length + 1) : undefined;
  return after && /^\d+$/.test(after) ? Number(after) : undefined;
}

async function testPause(stageName: string, worked: number, signal: AbortSignal): Promise<void> {
  process.stderr.write(`test-pause: ${stageName} after ${worked}\n`);
  await new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => undefined, 1_000);
    signal.addEventListener('abort', () => (clearInterval(keepAlive), resolve()), { once: true });
  });
}

async function firstUnfinished(store: CorpusStore, stages: readonly string[], queryId: string): Promise<string | undefined> {
  for (const name of stages) if (!(await store.isStageDone(name, queryId))) return name;
  return undefined;
}

/** One readable line of a stage's counts, for the end of a command. */
export function formatCounts(report: StageReport): string {
  const parts = Object.entries(report.counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, n]) => `${key}=${n}`);
  return `${report.stage}: ${parts.join(' ') || 'nothing to do'}`;
}
