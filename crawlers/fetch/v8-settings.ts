// V8 is tuned for long-running, CPU-bound programs; a crawl is paced by the network and the hosts'
// politeness, and on a small machine its first seconds are spent warming up. While the crawlers
// run, two of V8's process-wide settings change (the stages after the crawl get the defaults back):
// - The heap grows by half past what its last full collection kept (`--heap-growing-percent=50`),
//   not by V8's dynamic factor of up to 4×: by default the garbage of parsed pages piles up far
//   past the live set (~90 MB), and the heap keeps the space it grew (at 1× the latency benchmark
//   it was still growing at the end, 194 MB, with peak RSS 525 MB). The `--optimize-for-size` used
//   before bounded it too, but with a young generation that never grows and a full collection
//   whenever the crawl waited. At 1× the latency benchmark, 3 pairs of runs taken in turn: with it
//   12.6–13.2 s and 17–18 s of CPU, without it 10.6–11.4 s and 13–14 s; peak RSS 282–321 →
//   424–426 MB, and 482–491 MB at 20× (BENCHMARKS.md).
// - The optimizing compiler inlines less (a cumulative budget of 100 bytecodes per function, not
//   920). Its compiles ran on V8's helper threads at about 1.5 cores through the first five seconds
//   of a 2-core crawl, leaving the crawl's own thread half a core. With the smaller budget: 1× the
//   latency benchmark 10.0 → 9.5 s (4 pairs of runs), and the CPU-bound mirror's crawl stage
//   10.2 → 9.4 s.
// Set before the page-parsing threads start, so their heaps and compiles follow them too.
import v8 from 'node:v8';

const FOR_THE_CRAWL = ['--heap-growing-percent=50', '--max-inlined-bytecode-size-cumulative=100'];
/** V8's defaults for the same settings (a growing percent of 0 is V8's own dynamic factor). */
const DEFAULTS = ['--heap-growing-percent=0', '--max-inlined-bytecode-size-cumulative=920'];

/** Applies the crawl's V8 settings until the returned function is called. */
export function tuneV8ForCrawl(): () => void {
  for (const flag of FOR_THE_CRAWL) v8.setFlagsFromString(flag);
  return () => {
    for (const flag of DEFAULTS) v8.setFlagsFromString(flag);
  };
}
