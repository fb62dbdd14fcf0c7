// The models a command's stages share: loaded on first use, once per command, and released when the
// command ends. Stages reach them through their context (`ctx.services.models()`), never load their own.
import type { Config } from '../core/config.js';
import type { CorpusStore } from '../../storage/index.js';
import { loadModels, type LoadModelsOptions } from './registry.js';
import type { Models } from './types.js';
import { formatUsage } from './usage.js';

export interface ModelServices {
  models(): Promise<Models>;
}

export interface OpenModelServices extends ModelServices {
  /** Usage lines of the models used so far (empty when none was loaded). */
  usageLines(): string[];
  dispose(): Promise<void>;
}

export function openModelServices(config: Config, store: CorpusStore, options: LoadModelsOptions = {}): OpenModelServices {
  let loading: Promise<Models> | undefined;
  let loaded: Models | undefined;
  return {
    models() {
      loading ??= loadModels(config, store, options).then((models) => (loaded = models));
      return loading;
    },
    usageLines() {
      return loaded ? formatUsage(loaded.usage()) : [];
    },
    async dispose() {
      await (await loading?.catch(() => undefined))?.dispose();
    },
  };
}

/** Services over models the caller already holds (tests, benchmarks); the caller disposes them. */
export function modelServicesOf(models: Models): ModelServices {
  return { models: async () => models };
}
