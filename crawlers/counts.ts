// Counts gathered aside (a query crawled ahead of the runner, a page whose batch is not written yet)
// and added to the runner's once they stand.
import type { StageCounts } from '../src/core/stage.js';

/** Adds `from`'s counts to `to`'s, failures as failures (so the query stays open). */
export function replayCounts(from: StageCounts, to: StageCounts): void {
  const first = from.failed.first;
  for (const [key, n] of Object.entries(from.counts)) {
    if (!key.startsWith('failed:')) to.add(key, n);
    else if (first && key === `failed:${first.split(':')[0]!.trim()}`) to.fail(first, n);
    else to.fail(key.slice('failed:'.length), n);
  }
}
