// What every command shares: the global options, opening the store, shard flags, config loading.
import { Command, Option, InvalidArgumentError } from 'commander';
import { loadConfig, type Config, type ConfigOverrides } from '../../core/config.js';
import { UserError } from '../../core/errors.js';
import { loadPromptOverrides } from '../../core/prompts.js';
import { loadPromptDefinitions } from '../prompt-modules.js';
import { ingestQueries, readQueriesFile } from '../../core/queries.js';
import { log } from '../../core/feedback.js';
import { runBuildSteps, type BuildStep } from '../pipeline.js';
import { openModelServices, type OpenModelServices } from '../../models/services.js';
import { CorpusStore, type Shard } from '../../../storage/index.js';

export interface GlobalOptions {
  store: string;
  config?: string;
  prompts?: string;
  /** A stage command's `--max-failure-rate` (models.maxFailureRate). */
  maxFailureRate?: number;
  /** `build --filter-queries` (filter.enabled). */
  filterQueries?: boolean;
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/**
 * Opens the store for the length of `work` and always closes it. The store must exist already
 * (a mistyped --store is refused, never created) unless `create` is set.
 */
export async function withStore<T>(options: GlobalOptions, work: (store: CorpusStore) => Promise<T>, open: { create?: boolean } = {}): Promise<T> {
  const store = await CorpusStore.open(options.store, { mustExist: !open.create });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** The command's config; a prompts file (`--prompts`, else `prompts.file`) takes effect here, once per command. */
export async function configFor(options: GlobalOptions, overrides: ConfigOverrides = {}): Promise<Config> {
  const config = await loadConfig(options.config, {
    ...overrides,
    prompts: { file: options.prompts, ...overrides.prompts },
    models: { maxFailureRate: options.maxFailureRate, ...overrides.models },
    filter: { enabled: options.filterQueries, ...overrides.filter },
  });
  if (config.prompts.file) {
    await loadPromptDefinitions();
    await loadPromptOverrides(config.prompts.file);
  }
  return config;
}

export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number (0 or more).');
  return Number(value);
}

export function parseShare(value: string): number {
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(value)) throw new InvalidArgumentError('expected a share from 0 to 1 (for example 0.1).');
  return Number(value);
}

export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError('expected a whole number above 0.');
  return Number(value);
}

/** `--rank`, `--world-size` and `--force` for a stage command. */
export function addStageOptions(command: Command): Command {
  return command
    .addOption(new Option('--rank <n>', 'which shard this worker takes (0-based)').argParser(parseNonNegativeInt).default(0))
    .addOption(new Option('--world-size <n>', 'how many shards the work is split into').argParser(parsePositiveInt).default(1))
    .addOption(new Option('--max-failure-rate <share>', "share of a stage's model calls that may fail before the command exits 1 (default: 0.1)").argParser(parseShare))
    .option('--force', 'redo queries already marked done for this stage', false);
}

export function shardFrom(options: { rank: number; worldSize: number }): Shard {
  if (options.rank >= options.worldSize) {
    throw new UserError(`--rank ${options.rank} must be below --world-size ${options.worldSize} (ranks are 0 to ${options.worldSize - 1})`);
  }
  return { rank: options.rank, worldSize: options.worldSize };
}

/**
 * Reads and validates the queries file before the store is opened, so a bad line leaves the store
 * untouched, then stores the queries (once each).
 */
export async function loadAndIngestQueries(file: string, store: () => Promise<CorpusStore>): Promise<CorpusStore> {
  const { queries, duplicates } = await readQueriesFile(file);
  for (const dup of duplicates) {
    log.warn({ file, line: dup.line, firstLine: dup.firstLine, query: dup.query }, 'duplicate query; stored once');
  }
  const opened = await store();
  const { added, existing } = await ingestQueries(opened, queries);
  log.info({ file, queries: queries.length, added, alreadyStored: existing, duplicates: duplicates.length }, 'queries loaded');
  return opened;
}

export interface StageFlags {
  rank: number;
  worldSize: number;
  force: boolean;
}

/** A stage command over the queries already in the store (`process`, `describe`, `score`). */
export async function runStepsOnStore(command: Command, options: StageFlags, steps: readonly BuildStep[], overrides: ConfigOverrides = {}): Promise<void> {
  const global = globalOptions(command);
  const config = await configFor(global, overrides);
  const shard = shardFrom(options);
  await withStore(global, (store) => withModelServices(config, store, (services) => runBuildSteps(store, config, steps, { shard, force: options.force, services })));
}

/**
 * Opens the models once for a whole command (loaded on first use), runs `work`, then prints what the
 * model calls cost and releases them, whatever happened.
 */
export async function withModelServices<T>(config: Config, store: CorpusStore, work: (services: OpenModelServices) => Promise<T>): Promise<T> {
  const services = openModelServices(config, store);
  try {
    return await work(services);
  } finally {
    for (const line of services.usageLines()) process.stderr.write(`models: ${line}\n`);
    await services.dispose();
  }
}
