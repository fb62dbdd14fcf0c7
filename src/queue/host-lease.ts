// Politeness per host across every worker of a queue: the same promise as the crawler's in-process
// limiter (crawlers/net/host-limiter.ts: at most `perHost` requests in flight to a host, starts at
// least `delayMs` apart), kept in Redis so it holds over all processes and machines. A slot is a
// lease: a member of the host's sorted set scored by its expiry, renewed while the request runs. A
// worker that dies (SIGKILL, a lost machine) stops renewing, and its slots expire after the TTL.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { connectionOf, QUEUE_PREFIX } from './connection.js';

/** What the crawler's fetches call for every request (the shape of HostLimiter's `acquire`). */
export interface HostGate {
  acquire(host: string): Promise<() => void>;
}

/** How long a slot outlives its last renewal (M2RAG_HOST_LEASE_MS); renewed three times per TTL. */
const DEFAULT_TTL_MS = 10_000;
/** How often a request waiting for a full host asks again. */
const POLL_MS = 25;

// Redis's clock, not each machine's, orders the starts. Answers -1 when the host is full, else how
// long the caller waits before its request starts (the delay after the previous start).
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])
local delay = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
local start = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'))
redis.call('ZADD', KEYS[1], start + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], start - now + 2 * ttl)
if delay > 0 then redis.call('SET', KEYS[2], start + delay, 'PX', start - now + delay + ttl) end
return start - now`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + ttl, ARGV[1]) == 1 then redis.call('PEXPIRE', KEYS[1], 2 * ttl) end
return 0`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class RedisHostLeases {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly ttlMs = Number(process.env.M2RAG_HOST_LEASE_MS ?? DEFAULT_TTL_MS),
  ) {
    this.redis = new Redis({ ...connectionOf(url), maxRetriesPerRequest: 3 });
  }

  /** A gate with the crawl config's per-host limits, shared with every other worker of this Redis. */
  gateFor(perHost: number, delayMs: number): HostGate {
    return { acquire: (host) => this.acquire(host, perHost, delayMs) };
  }

  private async acquire(host: string, perHost: number, delayMs: number): Promise<() => void> {
    const keys = [`${QUEUE_PREFIX}:host:${host}:leases`, `${QUEUE_PREFIX}:host:${host}:next`];
    const lease = randomUUID();
    let wait: number;
    while ((wait = Number(await this.redis.eval(ACQUIRE, 2, ...keys, lease, perHost, delayMs, this.ttlMs))) < 0) {
      await sleep(POLL_MS + Math.random() * POLL_MS);
    }
    const renewal = setInterval(() => void this.redis.eval(RENEW, 1, keys[0]!, lease, this.ttlMs).catch(() => undefined), Math.max(this.ttlMs / 3, 50));
    renewal.unref();
    if (wait > 0) await sleep(wait);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      clearInterval(renewal);
      // A lost release costs one slot until the TTL ends, never a stuck host.
      void this.redis.zrem(keys[0]!, lease).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
