// `m2rag build`: every stage, in order, for a queries file.
import { Command } from 'commander';
import { addStageOptions, configFor, globalOptions, loadAndIngestQueries, shardFrom } from './common.js';
import type { Config } from '../config.js';
import { NotImplementedError } from '../errors.js';
import { BUILD_STEPS, STAGES, type BuildStep } from '../pipeline.js';
import { formatCounts, runStage, type StageReport } from '../stage.js';
import { CorpusStore, type Shard } from '../../storage/index.js';

export async function runBuildSteps(
  store: CorpusStore,
  config: Config,
  steps: readonly BuildStep[],
  options: { shard: Shard; force: boolean },
): Promise<StageReport[]> {
  const reports: StageReport[] = [];
  for (const step of steps) {
    const stages = STAGES[step];
    if (stages.length === 0) throw new NotImplementedError(step);
    for (const stage of stages) {
      const report = await runStage(stage, store, { config, shard: options.shard, force: options.force });
      process.stderr.write(formatCounts(report) + '\n');
      reports.push(report);
    }
  }
  return reports;
}

export function register(program: Command): void {
  addStageOptions(
    program
      .command('build')
      .description(`run every stage (${BUILD_STEPS.join(' → ')}) for a queries file`)
      .requiredOption('--queries <file>', 'queries file: JSONL ({"query", "id"?, "topic"?, "urls"?}) or one query a line'),
  ).action(async (options: { queries: string; rank: number; worldSize: number; force: boolean }, command: Command) => {
    const global = globalOptions(command);
    const config = await configFor(global);
    const shard = shardFrom(options);
    const store = await loadAndIngestQueries(options.queries, () => CorpusStore.open(global.store));
    try {
      await runBuildSteps(store, config, BUILD_STEPS, { shard, force: options.force });
    } finally {
      await store.close();
    }
  });
}
