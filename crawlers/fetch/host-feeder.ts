// Feeds the crawlers' queues host by host: at most `perHost` requests of one host are in a queue or
// in flight at a time, the rest wait here in order. A crawler slot whose request waits for its
// host's politeness slot (crawlers/net/host-limiter.ts) is a slot lost to the other hosts; with one
// host's requests spread thin in the queue, one image-heavy page can no longer take every slot.
interface Offer {
  key: string;
  add: () => Promise<void>;
}

export class HostFeeder {
  private readonly inQueue = new Map<string, number>();
  private readonly held = new Map<string, Offer[]>();
  /** Keys of requests this feeder put in the queue, with their host. */
  private readonly fed = new Map<string, string>();

  constructor(private readonly perHost: number) {}

  /** Queues the request `key` for `url` now, or once its host has room; `add` puts it in the crawler's queue (and handles its own errors). */
  async offer(key: string, url: string, add: () => Promise<void>): Promise<void> {
    const host = new URL(url).host;
    const n = this.inQueue.get(host) ?? 0;
    if (n >= this.perHost) {
      const held = this.held.get(host) ?? [];
      held.push({ key, add });
      this.held.set(host, held);
      return;
    }
    this.inQueue.set(host, n + 1);
    this.fed.set(key, host);
    await add();
  }

  /** The request `key` has its response (or has settled): its host's room passes to the next request held for it. Idempotent. */
  release(key: string): void {
    const host = this.fed.get(key);
    if (host === undefined) return;
    this.fed.delete(key);
    const held = this.held.get(host);
    const next = held?.shift();
    if (held?.length === 0) this.held.delete(host);
    if (!next) {
      this.inQueue.set(host, (this.inQueue.get(host) ?? 1) - 1);
      return;
    }
    this.fed.set(next.key, host);
    void next.add();
  }
}
