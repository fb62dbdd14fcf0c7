// Which build steps a queue spreads over workers and which run once over the merged store. Crawling
// (and query intake) works on one query at a time and writes records whose ids and content do not
// depend on the rest of the corpus, so any worker may run it. Processing does not: text dedup and
// boilerplate detection compare every page with the whole corpus, an image's layout score and its
// near-duplicate cluster depend on all its occurrences, and describe and score read what processing
// kept. Those are the reduce steps; they cannot be sharded.
export const MAP_STEPS = ['filter', 'crawl'] as const;
export const REDUCE_STEPS = ['process', 'describe', 'score'] as const;
