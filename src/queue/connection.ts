// Where the queue lives: a redis:// URL turned into BullMQ connection options, and the queue names.
import type { ConnectionOptions } from 'bullmq';
import { UserError } from '../core/errors.js';

/** Every BullMQ key of m2rag starts with this, so one Redis can hold other applications' queues. */
export const QUEUE_PREFIX = 'm2rag';

export function queueNameOf(step: string): string {
  return `step-${step}`;
}

export function connectionOf(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`--queue ${url}: not a URL; give the Redis server as redis://host:port`);
  }
  if (parsed.protocol !== 'redis:') throw new UserError(`--queue ${url}: only redis://host:port is supported`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 6379),
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
    // BullMQ's blocking commands need ioredis to retry forever rather than fail a request.
    maxRetriesPerRequest: null,
  };
}
