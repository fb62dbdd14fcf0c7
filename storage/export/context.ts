// What every export writer gets: the store, the output directory and the shared lookups.
import type { CorpusStore } from '../store.js';
import type { Description } from '../schemas.js';

export interface ExportContext {
  store: CorpusStore;
  outDir: string;
  descriptions: Map<string, Description[]>;
  /** The Score id of an element for a query (the scorers own the id scheme). */
  scoreIdOf: (queryId: string, kind: 'chunk' | 'image', elementId: string) => string;
}
