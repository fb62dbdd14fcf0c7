// The model services a test's stages share, as a command opens them: loaded on first use, released
// when the test ends. `env` replaces process.env for endpoints and keys.
import type { TestContext } from 'node:test';
import type { Config } from '../../src/core/config.js';
import { openModelServices, type ModelServices } from '../../src/models/services.js';
import type { CorpusStore } from '../../storage/index.js';

export function servicesFor(t: TestContext, config: Config, store: CorpusStore, env: Record<string, string | undefined> = {}): ModelServices {
  const services = openModelServices(config, store, { env });
  t.after(() => services.dispose());
  return services;
}
