// The stage runner. A stage is a small unit with one per-query function (datatrove-style): the
// runner feeds it the queries of its shard, skips those already marked done (resumable), marks each
// one done after it succeeds, keeps the stage's counts and stores them. Stages write records under
// stable ids, so running one twice changes nothing (idempotent).
import type { Config } from './config.js';
import { log, startProgress } from './feedback.js';
import { WHOLE, type CorpusStore, type Query, type Shard } from '../../storage/index.js';

/** Counts of what a stage did and why it dropped what it dropped. */
export class StageCounts {
  readonly counts: Record<string, number> = {};

  add(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }

  /** A dropped element, counted under its reason. */
  drop(reason: string, n = 1): void {
    this.add(`dropped:${reason}`, n);
  }

  merge(other: Record<string, number>): void {
    for (const [key, n] of Object.entries(other)) this.add(key, n);
  }
}

export interface StageContext {
  store: CorpusStore;
  config: Config;
  shard: Shard;
  counts: StageCounts;
}

export interface Stage {
  readonly name: string;
  /** Once per run, before any query (open models, build indexes). */
  setup?(ctx: StageContext): Promise<void>;
  /** The work for one query; returns that query's counts (also added to the stage's counts). */
  runQuery(query: Query, ctx: StageContext): Promise<Record<string, number>>;
  /** Once per run, after all queries (corpus-wide steps such as clustering). */
  finish?(ctx: StageContext): Promise<void>;
  /** Once per run, always, to release what setup opened. */
  teardown?(ctx: StageContext): Promise<void>;
}

export interface RunStageOptions {
  config: Config;
  shard?: Shard;
  /** Re-run queries already marked done. */
  force?: boolean;
  /** Stages a query must have finished first; until then the query waits (it is not marked done). */
  requires?: readonly string[];
  /** Stages whose work for a query is stale once this stage (re)does it: their markers are cleared. */
  invalidates?: readonly string[];
}

export interface StageReport {
  stage: string;
  queries: number;
  skipped: number;
  failed: number;
  counts: Record<string, number>;
}

export async function runStage(stage: Stage, store: CorpusStore, options: RunStageOptions): Promise<StageReport> {
  const shard = options.shard ?? WHOLE;
  const ctx: StageContext = { store, config: options.config, shard, counts: new StageCounts() };
  const todo: Query[] = [];
  let skipped = 0;
  for await (const query of store.iterate('queries', { shard })) {
    if (!options.force && (await store.isStageDone(stage.name, query.id))) {
      skipped++;
      continue;
    }
    const missing = await firstUnfinished(store, options.requires ?? [], query.id);
    if (missing) ctx.counts.add(`queries-waiting-for:${missing}`);
    else todo.push(query);
  }
  let failed = 0;
  const progress = startProgress(stage.name, todo.length);
  try {
    await stage.setup?.(ctx);
    for (const query of todo) {
      try {
        const counts = await stage.runQuery(query, ctx);
        ctx.counts.merge(counts);
        const batch = store.batch().markStageDone(stage.name, query.id, counts);
        for (const later of options.invalidates ?? []) batch.clearStageDone(later, query.id);
        await batch.write();
        ctx.counts.add('queries');
      } catch (error) {
        // A query that fails is left unmarked, so the next run retries it; the stage goes on.
        failed++;
        ctx.counts.add('queries-failed');
        log.error({ stage: stage.name, queryId: query.id, err: (error as Error).message }, 'query failed');
      }
      progress.tick();
    }
    await stage.finish?.(ctx);
  } finally {
    await stage.teardown?.(ctx);
  }
  if (skipped > 0) ctx.counts.add('queries-already-done', skipped);
  await store.addStageStats(stage.name, ctx.counts.counts);
  progress.done({ counts: ctx.counts.counts });
  return { stage: stage.name, queries: todo.length, skipped, failed, counts: ctx.counts.counts };
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
