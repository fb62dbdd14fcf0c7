// Feeds the crawlers' queues host by host: at most `perHost` requests of one host are in a queue or
// in flight at a time, the rest wait here in order. A crawler slot whose request waits for its
// host's politeness slot (crawlers/net/host-limiter.ts) is a slot lost to the other hosts; with one
// host's requests spread thin in the queue, one image-heavy page can no longer take every slot.
// A host's room goes to its waiting pages and images in turn: in one line, a page's images waited
// behind every page offered before them (all of a query's and of the queries in progress), so on a
// busy host the images came only once its pages ran out, and on the CPU-bound mirror benchmark all
// 1,716 image requests came after the last of the 1,020 pages, the parsing thread idle meanwhile.
export type OfferKind = 'page' | 'image';

interface Offer {
  key: string;
  add: () => Promise<void>;
}

/** The requests of one host waiting for room, a line per kind, and whose turn is next. */
interface Waiting {
  page: Offer[];
  image: Offer[];
  turn: OfferKind;
}

export class HostFeeder {
  private readonly inQueue = new Map<string, number>();
  private readonly held = new Map<string, Waiting>();
  /** Keys of requests this feeder put in the queue, with their host. */
  private readonly fed = new Map<string, string>();

  constructor(private readonly perHost: number) {}

  /** Queues the request `key` for `url` now, or once its host has room; `add` puts it in the crawler's queue (and handles its own errors). */
  async offer(key: string, url: string, kind: OfferKind, add: () => Promise<void>): Promise<void> {
    const host = new URL(url).host;
    const n = this.inQueue.get(host) ?? 0;
    if (n >= this.perHost) {
      let waiting = this.held.get(host);
      if (!waiting) this.held.set(host, (waiting = { page: [], image: [], turn: 'image' }));
      waiting[kind].push({ key, add });
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
    const next = this.nextHeld(host);
    if (!next) {
      this.inQueue.set(host, (this.inQueue.get(host) ?? 1) - 1);
      return;
    }
    this.fed.set(next.key, host);
    void next.add();
  }

  /** The next request waiting for `host`: of the kind whose turn it is, else of the other. */
  private nextHeld(host: string): Offer | undefined {
    const waiting = this.held.get(host);
    if (!waiting) return undefined;
    const other: OfferKind = waiting.turn === 'page' ? 'image' : 'page';
    const kind = waiting[waiting.turn].length > 0 ? waiting.turn : other;
    const next = waiting[kind].shift();
    waiting.turn = kind === 'page' ? 'image' : 'page';
    if (waiting.page.length === 0 && waiting.image.length === 0) this.held.delete(host);
    return next;
  }
}
