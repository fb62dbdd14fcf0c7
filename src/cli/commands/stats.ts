// `m2rag stats`: counts per record kind and per stage.
import type { Command } from 'commander';
import { globalOptions, withStore } from './common.js';
import type { CorpusStore, RecordKind } from '../../../storage/index.js';

const COUNTED: Array<[key: string, kind: RecordKind]> = [
  ['queries', 'queries'],
  ['hits', 'hits'],
  ['pages', 'pages'],
  ['chunks', 'chunks'],
  ['images', 'images'],
  ['occurrences', 'occurrences'],
  ['descriptions', 'descriptions'],
  ['scores', 'scores'],
  ['generations', 'generations'],
  ['evalResults', 'evalResults'],
  ['ratings', 'ratings'],
];

export interface StageSummary {
  queriesDone: number;
  runs: number;
  lastRunAt: string;
  /** What the done queries hold now, each as of its latest run (a --force run does not double it). */
  counts: Record<string, number>;
  /** The latest run's own counts, including its skipped, waiting and failed queries. */
  lastRun: Record<string, number>;
  /** Totals over every run. */
  totals: Record<string, number>;
}

export async function collectStats(store: CorpusStore): Promise<Record<string, number> & { stages: Record<string, StageSummary> }> {
  const result: Record<string, unknown> = {};
  for (const [key, kind] of COUNTED) result[key] = await store.count(kind);
  const stages: Record<string, StageSummary> = {};
  for (const stats of await store.stageStats()) {
    stages[stats.stage] = {
      queriesDone: await store.stageMarkerCount(stats.stage),
      runs: stats.runs,
      lastRunAt: stats.lastRunAt,
      counts: await store.doneQueryCounts(stats.stage),
      lastRun: stats.lastRun ?? {},
      totals: stats.counts,
    };
  }
  result.stages = stages;
  return result as Record<string, number> & { stages: Record<string, StageSummary> };
}

export function register(program: Command): void {
  program
    .command('stats')
    .description('print counts per record kind and per stage')
    .option('--json', 'print one JSON object')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withStore(globalOptions(command), async (store) => {
        const stats = await collectStats(store);
        if (options.json) {
          process.stdout.write(JSON.stringify(stats) + '\n');
          return;
        }
        const { stages, ...counts } = stats;
        process.stdout.write(`store ${store.dir}\n`);
        for (const [key, n] of Object.entries(counts)) process.stdout.write(`  ${key.padEnd(14)} ${n}\n`);
        const names = Object.keys(stages);
        process.stdout.write(names.length === 0 ? 'no stage has run yet\n' : 'stages\n');
        for (const name of names) {
          const stage = stages[name]!;
          const detail = (counts: Record<string, number>): string => Object.entries(counts).map(([k, n]) => `${k}=${n}`).join(' ');
          process.stdout.write(`  ${name.padEnd(14)} queries done ${stage.queriesDone}, runs ${stage.runs}: ${detail(stage.counts)}\n`);
          process.stdout.write(`  ${''.padEnd(14)} last run (${stage.lastRunAt}): ${detail(stage.lastRun)}\n`);
        }
      });
    });
}
