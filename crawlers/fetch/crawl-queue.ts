// Our side of a crawler's in-memory Crawlee queue: requests go in batches, and handled requests come
// out.
// - Batches: the requests offered in one turn of the event loop go in with one `addRequests` call.
//   Crawlee validates a call's arguments and updates its queue once a call, which costs as much as
//   the request itself when requests come one by one, as the host feeder hands them over.
// - Handled requests: Crawlee's memory storage keeps every request it was given, and each time it
//   takes the next ones it walks past all of them, so a run's cost grew with the square of its
//   requests (20× the latency benchmark's queries took 54× its CPU). The store holds every outcome,
//   so a request Crawlee has marked handled is deleted from the queue, and from the queue's own
//   cache of requests (an LRU of up to a million entries, ~420 bytes of heap each: 20× the latency
//   benchmark's requests kept ~18 MB of it).
import type { RequestOptions, RequestQueue } from '@crawlee/core';

/** The part of Crawlee's queue that caches every request it was given (a protected field of its `RequestProvider`). */
interface CachingQueue {
  requestCache?: { remove(key: string): unknown };
}

interface Pending {
  request: RequestOptions;
  added: () => void;
  failed: (error: Error) => void;
}

/** Settled requests are looked at in sweeps of this many (Crawlee marks a request handled just after its handler returns). */
const SWEEP_EVERY = 200;

export class CrawlQueue {
  private pending: Pending[] = [];
  private settledIds: string[] = [];
  private sweeping?: Promise<void>;

  constructor(private readonly queue: RequestQueue) {}

  /** Resolves once the request is in the queue; rejects with the queue's error. */
  add(request: RequestOptions): Promise<void> {
    return new Promise((added, failed) => {
      this.pending.push({ request, added, failed });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  /** We are done with the request (its outcome is written, or it is being): once Crawlee has marked it handled, it leaves the queue. */
  settled(requestId: string | undefined): void {
    if (requestId === undefined) return;
    this.settledIds.push(requestId);
    if (this.settledIds.length >= SWEEP_EVERY && !this.sweeping) this.sweeping = this.sweep().finally(() => (this.sweeping = undefined));
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      await this.queue.addRequests(batch.map((pending) => pending.request));
      for (const pending of batch) pending.added();
    } catch (error) {
      for (const pending of batch) pending.failed(error as Error);
    }
  }

  /** Deletes the settled requests Crawlee has marked handled; the others wait for the next sweep. */
  private async sweep(): Promise<void> {
    const ids = this.settledIds;
    this.settledIds = [];
    for (const id of ids) {
      try {
        const request = await this.queue.client.getRequest(id);
        if (request?.handledAt) {
          await this.queue.client.deleteRequest(id);
          (this.queue as unknown as CachingQueue).requestCache?.remove(id);
        } else if (request) this.settledIds.push(id);
      } catch {
        // A request that cannot be looked at stays in the queue: it only costs time.
      }
    }
  }
}
