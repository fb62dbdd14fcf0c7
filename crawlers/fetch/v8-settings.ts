// V8 is tuned for long-running, CPU-bound programs; a crawl is paced by the network and the hosts'
// politeness, and on a small machine its first seconds are spent warming up. While the crawlers
// run, two of V8's process-wide settings change (the stages after the crawl get the defaults back):
// - The heap is sized for memory. By default V8 lets the garbage of parsed pages pile up far past
//   the live set (~110 MB) before it collects, and keeps the space it grew. On the latency
//   benchmark: peak RSS 734 → 360 MB at the same wall time, and 698 → 388 MB at 5× the queries
//   (BENCHMARKS.md), with no forced collection.
// - The optimizing compiler inlines less (a cumulative budget of 100 bytecodes per function, not
//   920). Its compiles ran on V8's helper threads at about 1.5 cores through the first five seconds
//   of a 2-core crawl, leaving the crawl's own thread half a core. With the smaller budget: 1× the
//   latency benchmark 10.0 → 9.5 s (4 pairs of runs), and the CPU-bound mirror's crawl stage
//   10.2 → 9.4 s.
// Set before the page-parsing threads start, so their heaps and compiles follow them too.
import v8 from 'node:v8';

const FOR_THE_CRAWL = ['--optimize-for-size', '--max-inlined-bytecode-size-cumulative=100'];
/** V8's defaults for the same settings. */
const DEFAULTS = ['--no-optimize-for-size', '--max-inlined-bytecode-size-cumulative=920'];

/** Applies the crawl's V8 settings until the returned function is called. */
export function tuneV8ForCrawl(): () => void {
  for (const flag of FOR_THE_CRAWL) v8.setFlagsFromString(flag);
  return () => {
    for (const flag of DEFAULTS) v8.setFlagsFromString(flag);
  };
}
