// What every export writer gets: the store, the output directory and the shared lookups.
import type { CorpusStore } from '../store.js';
import type { Description } from '../schemas.js';

export interface ExportContext {
  store: CorpusStore;
  outDir: string;
  /** Every image's usable descriptions, best first (loadDescriptions), read once per export. */
  descriptions: Map<string, Description[]>;
}
