// V8 sizes its heap for speed: during a crawl it lets the garbage of parsed pages pile up far past
// the live set (~110 MB) before it collects, and keeps the space it grew. A crawl is paced by the
// network and the hosts' politeness, not by collection, so while the crawlers run V8 is asked to
// size the heap for memory instead. On the latency benchmark: peak RSS 734 → 360 MB at the same
// wall time, and 698 → 388 MB at 5× the queries (BENCHMARKS.md), with no forced collection.
import v8 from 'node:v8';

/** Sizes V8's heap for memory until the returned function is called (the stages after the crawl get the default back). */
export function sizeHeapForMemory(): () => void {
  v8.setFlagsFromString('--optimize-for-size');
  return () => v8.setFlagsFromString('--no-optimize-for-size');
}
