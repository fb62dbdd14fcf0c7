// `m2rag worker --queue redis://… --store <shard>`: takes queued jobs and runs each one's step for its
// query with the same stage code as a local build, into this worker's own shard store. The earlier
// steps a query's job needs are run here first when this shard lacks them (their records have stable
// ids, so `m2rag merge` keeps one copy). The corpus-wide steps are left to the merge. The models are
// opened once per worker (per build config), and the per-host politeness is shared with every other
// worker through Redis (src/queue/host-lease.ts).
import { Command, Option } from 'commander';
import { globalOptions, parsePositiveInt } from './common.js';
import type { Config } from '../../core/config.js';
import { interruptSignal } from '../../core/stage.js';
import { openModelServices, type OpenModelServices } from '../../models/services.js';
import { runBuildSteps, type BuildStep } from '../pipeline.js';
import type { RedisHostLeases } from '../../queue/host-lease.js';
import { MAP_STEPS } from '../../queue/steps.js';
import type { StepJobData } from '../../queue/jobs.js';
import { CorpusStore, WHOLE } from '../../../storage/index.js';

const DEFAULT_LOCK_MS = 30_000;

/** The models of each build the jobs belong to (one config each), opened on its first job and kept for the next ones until the worker stops. */
class ServicesPerConfig {
  private readonly open = new Map<string, OpenModelServices>();

  constructor(private readonly store: CorpusStore) {}

  for(config: Config): OpenModelServices {
    const key = JSON.stringify(config);
    let services = this.open.get(key);
    if (!services) this.open.set(key, (services = openModelServices(config, this.store)));
    return services;
  }

  async dispose(): Promise<void> {
    for (const services of this.open.values()) {
      for (const line of services.usageLines()) process.stderr.write(`models: ${line}\n`);
      await services.dispose();
    }
    this.open.clear();
  }
}

async function runJob(store: CorpusStore, models: ServicesPerConfig, leases: RedisHostLeases, data: StepJobData): Promise<Record<string, number>> {
  if (!(await store.has('queries', data.query.id))) await store.put('queries', data.query);
  const steps = [...data.earlier, data.step] as BuildStep[];
  const services = models.for(data.config);
  // What a job's crawlers hang on its stop signal must go with the job, not pile up on the process-wide one.
  const job = new AbortController();
  const stop = (): void => job.abort();
  interruptSignal.addEventListener('abort', stop, { once: true });
  const reports = await runBuildSteps(store, data.config, steps, {
    shard: WHOLE,
    force: false,
    services,
    queryId: data.query.id,
    hostLimiterFor: (perHost, delayMs) => leases.gateFor(perHost, delayMs),
    signal: job.signal,
  }).finally(() => interruptSignal.removeEventListener('abort', stop));
  const counts: Record<string, number> = {};
  for (const report of reports) for (const [key, n] of Object.entries(report.counts)) if (!key.startsWith('queries-skipped:other-job')) counts[`${report.stage}:${key}`] = n;
  return counts;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('take queued build jobs (see build --queue) and run them into this worker\'s own --store shard; stop with Ctrl-C')
    .requiredOption('--queue <url>', 'the Redis server of the queue (redis://host:port)')
    .addOption(new Option('--jobs <n>', 'jobs run at once per step').argParser(parsePositiveInt).default(1))
    .action(async (options: { queue: string; jobs: number }, command: Command) => {
      const store = await CorpusStore.open(globalOptions(command).store);
      const models = new ServicesPerConfig(store);
      const [{ RedisHostLeases }, { startWorkers }] = await Promise.all([import('../../queue/host-lease.js'), import('../../queue/worker.js')]);
      const leases = new RedisHostLeases(options.queue);
      const lockMs = Number(process.env.M2RAG_QUEUE_LOCK_MS ?? DEFAULT_LOCK_MS);
      const workers = await startWorkers(options.queue, { steps: MAP_STEPS, concurrency: options.jobs, lockMs }, (data) => runJob(store, models, leases, data));
      process.stderr.write(`worker ${workers.name}: taking jobs from ${options.queue} into ${store.dir}\n`);
      await new Promise<void>((resolve) => interruptSignal.addEventListener('abort', () => resolve(), { once: true }));
      await workers.close();
      await leases.close();
      await models.dispose();
      await store.close();
    });
}
