// `m2rag merge --out <store> <shard>…`: one store from the shard stores of queue workers, then the
// corpus-wide reduce steps (src/queue/steps.ts: text dedup, image scoring and near-duplicate
// clustering, and what reads them) run once over the whole, exactly as a single-process build runs
// them after its crawl.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { configFor, globalOptions, withModelServices } from './common.js';
import { StageFailedError, UserError } from '../../core/errors.js';
import { runBuildSteps } from '../pipeline.js';
import { REDUCE_STEPS } from '../../queue/steps.js';
import { mergeStores } from '../../../storage/merge.js';
import { CorpusStore, WHOLE } from '../../../storage/index.js';

export function register(program: Command): void {
  program
    .command('merge')
    .description('merge the shard stores of queue workers into one new store, then run the corpus-wide reduce steps once')
    .requiredOption('--out <store>', 'the merged store (a new folder)')
    .argument('<shards...>', 'the shard stores (each worker\'s --store)')
    .option('--no-reduce', `only merge; run ${REDUCE_STEPS.join(', ')} on the merged store later`)
    .action(async (shardDirs: string[], options: { out: string; reduce: boolean }, command: Command) => {
      const config = await configFor(globalOptions(command));
      if (await access(path.join(options.out, 'db', 'CURRENT')).then(() => true, () => false)) {
        throw new UserError(`--out ${options.out} is a store already; merge into a new folder`);
      }
      const shards: CorpusStore[] = [];
      const out = await CorpusStore.open(options.out);
      try {
        for (const dir of shardDirs) shards.push(await CorpusStore.open(dir, { mustExist: true }));
        const started = performance.now();
        const report = await mergeStores(out, shards);
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        const counts = Object.entries(report.records).filter(([, n]) => n > 0).map(([kind, n]) => `${kind}=${n}`);
        process.stderr.write(`merge: ${shards.length} shards → ${options.out}: ${counts.join(' ')} links=${report.links} in ${seconds} s\n`);
        for (const conflict of report.conflicts) process.stderr.write(`conflict: ${conflict.kind} ${conflict.id} differs between ${conflict.shards.join(', ')}; left out\n`);
        if (report.conflicts.length > 0) throw new StageFailedError(`merge: ${report.conflicts.length} records differ between shards (listed above) and were left out`);
        if (options.reduce) await withModelServices(config, out, (services) => runBuildSteps(out, config, REDUCE_STEPS, { shard: WHOLE, force: false, services }));
      } finally {
        await Promise.all(shards.map((shard) => shard.close()));
        await out.close();
      }
    });
}
