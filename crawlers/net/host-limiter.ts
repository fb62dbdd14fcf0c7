// Politeness per host: at most `perHost` requests in flight to one host, and at least `delayMs`
// between the starts of two requests to it. Every fetch (pages, images, robots.txt) goes through it.
export class HostLimiter {
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();
  private readonly lastStart = new Map<string, number>();

  constructor(
    private readonly perHost: number,
    private readonly delayMs: number,
  ) {}

  /** Waits for a slot on `host`; call the returned function exactly once to give it back. */
  async acquire(host: string): Promise<() => void> {
    if ((this.active.get(host) ?? 0) >= this.perHost) {
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(host) ?? [];
        queue.push(resolve);
        this.waiting.set(host, queue);
      });
    } else {
      this.active.set(host, (this.active.get(host) ?? 0) + 1);
    }
    if (this.delayMs > 0) {
      const wait = (this.lastStart.get(host) ?? 0) + this.delayMs - Date.now();
      this.lastStart.set(host, Date.now() + Math.max(wait, 0));
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.get(host)?.shift();
      // The slot passes straight to the next waiter, so the count stays as it is.
      if (next) next();
      else this.active.set(host, (this.active.get(host) ?? 1) - 1);
    };
  }
}
