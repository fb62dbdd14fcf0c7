// Our side of a crawler's in-memory Crawlee queue: the requests offered in one turn of the event
// loop go in with one `addRequests` call. Crawlee validates a call's arguments and updates its queue
// once a call, which costs as much as the request itself when requests come one by one, as the host
// feeder hands them over. Handled requests leave the queue by themselves (crawl-queue-storage.ts).
import type { RequestOptions, RequestQueue } from '@crawlee/core';

interface Pending {
  request: RequestOptions;
  added: () => void;
  failed: (error: Error) => void;
}

export class CrawlQueue {
  private pending: Pending[] = [];

  constructor(private readonly queue: RequestQueue) {}

  /** Resolves once the request is in the queue; rejects with the queue's error. */
  add(request: RequestOptions): Promise<void> {
    return new Promise((added, failed) => {
      this.pending.push({ request, added, failed });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
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
}
