// The models a command's stages share: loaded on first use, once per command, and released when the
// command ends. Stages reach them through their context (`ctx.services.models()`), never load their own.
// The registry and the model libraries it imports load with the first use too (a third of a second
// a command that never uses a model, such as `crawl`, no longer pays).
import type { Config } from '../core/config.js';
import type { CorpusStore } from '../../storage/index.js';
import type { LoadModelsOptions } from './registry.js';
import type { Models } from './types.js';
import { formatUsage } from './usage.js';

export interface ModelServices {
  models(): Promise<Models>;
  /** Why the models can no longer be used (an endpoint that is down), once that is so. */
  halted?(): string | undefined;
  /** Model calls made so far and how many of them failed, over every model (for a stage's failure rate). */
  modelCalls?(): { requests: number; failed: number; cached?: number };
}

/** Requests include those the model cache answered (`cached`): those reached no endpoint. */
function callsOf(models: Models | undefined): { requests: number; failed: number; cached: number } {
  const totals = Object.values(models?.usage() ?? {});
  return { requests: totals.reduce((n, t) => n + t.requests, 0), failed: totals.reduce((n, t) => n + t.failed, 0), cached: totals.reduce((n, t) => n + t.cached, 0) };
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
      loading ??= import('./registry.js').then(({ loadModels }) => loadModels(config, store, options)).then((models) => (loaded = models));
      return loading;
    },
    usageLines() {
      return loaded ? formatUsage(loaded.usage()) : [];
    },
    halted: () => loaded?.endpointDown?.(),
    modelCalls: () => callsOf(loaded),
    async dispose() {
      await (await loading?.catch(() => undefined))?.dispose();
    },
  };
}

/** Services over models the caller already holds (tests, benchmarks); the caller disposes them. */
export function modelServicesOf(models: Models): ModelServices {
  return { models: async () => models, halted: () => models.endpointDown?.(), modelCalls: () => callsOf(models) };
}
