// Which query each request of the run's crawlers belongs to, and when a query is settled: every
// page and image request it asked for has its outcome written. A query's wait ends only then (or
// when the crawl stops), so its done-marker never lands before its records.
import type { StageCounts } from '../../src/core/stage.js';

interface QueryRun {
  counts: StageCounts;
  /** Requests not settled yet, plus one while the query is still adding requests. */
  pending: number;
  settled: () => void;
}

export class QueryTracker {
  private readonly runs = new Map<string, QueryRun>();

  /** Opens a query; the promise resolves once `seal()` was called and every added request settled. */
  open(queryId: string, counts: StageCounts): Promise<void> {
    return new Promise<void>((settled) => this.runs.set(queryId, { counts, pending: 1, settled }));
  }

  /** The counts of an open query, or undefined once it settled (a late outcome then counts nowhere). */
  countsOf(queryId: string): StageCounts | undefined {
    return this.runs.get(queryId)?.counts;
  }

  /** One more request the query waits for. */
  add(queryId: string, n = 1): void {
    const run = this.runs.get(queryId);
    if (run) run.pending += n;
  }

  /** One request of the query has its outcome written. */
  settle(queryId: string): void {
    const run = this.runs.get(queryId);
    if (!run || --run.pending > 0) return;
    this.runs.delete(queryId);
    run.settled();
  }

  /** The query added all its requests. */
  seal(queryId: string): void {
    this.settle(queryId);
  }

  /** Ends every open query's wait (their unsettled requests have no outcome stored, which keeps the queries open). */
  settleAll(reason?: string): void {
    for (const run of this.runs.values()) {
      if (reason) run.counts.fail(`crawler: ${reason}`);
      run.settled();
    }
    this.runs.clear();
  }
}
