// The stages of m2rag, in order. A stage works on a query only once every earlier stage has
// finished it, and (re)doing a query clears the later stages' markers for it, so they redo it too.
export const STAGE_ORDER = ['crawl', 'process-text', 'process-images', 'describe', 'score', 'run', 'eval'] as const;
export type StageName = (typeof STAGE_ORDER)[number];

/** What a stage needs done first, and what its (re)doing makes stale. */
export function stageDependencies(name: string): { requires: StageName[]; invalidates: StageName[] } {
  const position = STAGE_ORDER.indexOf(name as StageName);
  if (position < 0) throw new Error(`stage ${name} is missing from STAGE_ORDER`);
  return { requires: STAGE_ORDER.slice(0, position), invalidates: STAGE_ORDER.slice(position + 1) };
}
