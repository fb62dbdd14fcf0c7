// The RagVL training exports' own options, and their mining: `export --format ragvl-rerank|ragvl-qa`
// choose positives and hard negatives with the configured embedders before the storage layer writes them.
import { InvalidArgumentError, Option } from 'commander';
import type { Config } from '../../core/config.js';
import { parsePositiveInt, withModelServices } from './common.js';
import { DEFAULT_MINING, mineRagvlTraining, type RagvlMiningOptions } from '../../runner/ragvl-training.js';
import type { CorpusStore } from '../../../storage/index.js';
import type { RagvlTrainingSet } from '../../../storage/export/ragvl-samples.js';

export interface RagvlExportFlags {
  minPositiveScore?: number;
  negativesPerPositive?: number;
  mineTopK?: number;
}

function parseScore(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 10) throw new InvalidArgumentError('expected a score from 0 to 10.');
  return n;
}

/** Each option a new instance per call of `register`, so one program never shares them. */
export const RAGVL_EXPORT_OPTIONS = {
  get minPositiveScore(): Option {
    return new Option('--min-positive-score <n>', `ragvl-*: final score (0–10) from which a kept image is a positive (default ${DEFAULT_MINING.minPositiveScore})`).argParser(parseScore);
  },
  get negativesPerPositive(): Option {
    return new Option('--negatives-per-positive <n>', `ragvl-rerank: hard negatives per positive (default ${DEFAULT_MINING.negativesPerPositive})`).argParser(parsePositiveInt);
  },
  get mineTopK(): Option {
    return new Option('--mine-top-k <n>', 'ragvl-*: how deep in the retrieval ranking hard negatives are mined (default run.topK)').argParser(parsePositiveInt);
  },
};

export function miningOptions(flags: RagvlExportFlags, config: Config): RagvlMiningOptions {
  return {
    minPositiveScore: flags.minPositiveScore ?? DEFAULT_MINING.minPositiveScore,
    negativesPerPositive: flags.negativesPerPositive ?? DEFAULT_MINING.negativesPerPositive,
    mineTopK: flags.mineTopK ?? config.run.topK,
  };
}

/** Mines the training set with the configured models (image embedder, else the text embedder over descriptions). */
export async function mineForExport(store: CorpusStore, config: Config, options: RagvlMiningOptions): Promise<RagvlTrainingSet> {
  return withModelServices(config, store, async (services) => mineRagvlTraining(store, await services.models(), config, options));
}
