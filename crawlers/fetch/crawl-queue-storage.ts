// The crawl run's Crawlee request queues: in memory, and holding only the work not done yet.
// - Not Crawlee's memory storage: it checks every call's arguments against a schema, updates its
//   timestamps and metadata on every call, keeps every request it was ever given, and finds the next
//   ones by walking past all of them; a crawl's profile showed ~1 s of main-thread CPU per 2,700
//   requests in it. Here the callers are Crawlee and our code, so nothing is checked, and taking the
//   next requests costs what is taken (plus what lost its lock).
// - A handled request leaves at once, only counted: the store holds every outcome. Crawlee asks
//   nothing more of a request after marking it handled (it remembers the recent ones itself), and
//   its queue is finished when no request waits and none is locked, which `listAndLockHead` reports.
//   Its own cache of every request it was given goes the same way (`CrawlRequestQueue`).
// - Datasets and key-value stores (Crawlee's statistics and session state) stay its memory storage's.
import { randomUUID } from 'node:crypto';
import { getRequestId, RequestQueue, type Request, type RequestQueueOperationInfo } from '@crawlee/core';
import { MemoryStorage } from '@crawlee/memory-storage';
import type {
  AllowedHttpMethods,
  BatchAddRequestsResult,
  DeleteRequestLockOptions,
  ListAndLockHeadResult,
  ListAndLockOptions,
  ListOptions,
  ProlongRequestLockOptions,
  ProlongRequestLockResult,
  QueueHead,
  QueueOperationInfo,
  RequestOptions,
  RequestQueueClient,
  RequestQueueCollectionClient,
  RequestQueueHeadItem,
  RequestQueueInfo,
  RequestSchema,
  UpdateRequestSchema,
} from '@crawlee/types';

/** How many requests `listHead` and `listAndLockHead` return when the caller names no limit (Crawlee's defaults). */
const DEFAULT_HEAD_LIMIT = 100;
const DEFAULT_LOCK_LIMIT = 25;

/** The storage client of a crawl run's Crawlee configuration: its request queues are `WorkQueueClient`s. */
export class CrawlQueueStorage extends MemoryStorage {
  private readonly queues = new Set<WorkQueueClient>();

  override requestQueues(): RequestQueueCollectionClient {
    return {
      list: async () => {
        const items = await Promise.all([...this.queues].map((queue) => queue.get()));
        return { total: items.length, count: items.length, offset: 0, limit: items.length, items };
      },
      getOrCreate: async (name) => {
        const queue = this.find(name) ?? this.create(name);
        return queue.get();
      },
    };
  }

  override requestQueue(idOrName: string): RequestQueueClient {
    return this.find(idOrName) ?? absentQueue(idOrName);
  }

  private find(idOrName: string | undefined): WorkQueueClient | undefined {
    if (idOrName === undefined) return undefined;
    for (const queue of this.queues) if (queue.id === idOrName || queue.name === idOrName) return queue;
    return undefined;
  }

  private create(name: string | undefined): WorkQueueClient {
    const queue = new WorkQueueClient(randomUUID(), name, () => this.queues.delete(queue));
    this.queues.add(queue);
    return queue;
  }
}

/**
 * Crawlee's queue, forgetting each request it has marked handled. It caches every request it was
 * given (an LRU of up to two million entries, ~420 bytes of heap each) to answer re-adds without
 * asking its storage; here the store knows what was handled, so a handled request's entry is only
 * memory. (No option bounds that cache: Crawlee's queue sets its size itself.)
 */
export class CrawlRequestQueue extends RequestQueue {
  static {
    // Crawlee's storage manager calls the storage client's methods named after the class
    // (`requestQueue`, `requestQueues`), so `CrawlRequestQueue.open` needs the parent's name.
    Object.defineProperty(this, 'name', { value: RequestQueue.name });
  }

  override async markRequestHandled(request: Request): Promise<RequestQueueOperationInfo | null> {
    const info = await super.markRequestHandled(request);
    // After `super`, which caches the request once more. Under the id only: `WorkQueueClient` gives
    // a request Crawlee's cache key as its id, so both of Crawlee's entries for it are this one.
    this.requestCache.remove(request.id!);
    return info;
  }
}

/** A request the queue holds: waiting in line, or locked by the crawler that took it. */
interface Held {
  id: string;
  uniqueKey: string;
  url: string;
  method: AllowedHttpMethods;
  retryCount: number;
  /** The request as last given, serialized: `getRequest` answers with a copy, as any storage does. */
  json: string;
  /** Until when (ms since the epoch) it is locked; undefined while it waits. */
  lockedUntil?: number;
  /** Whether a lost lock puts it first in line, not last. */
  forefront: boolean;
  /** Its place while it waits. */
  place?: Place;
}

/** A place in line; a request that leaves its place empties it, and an empty place is skipped. */
interface Place {
  held?: Held;
}

/**
 * The waiting requests in order: `front` is a stack (its last place goes first), then `back` from
 * `backStart` on. Leaving is O(1) (the place is emptied where it is), and so is taking, amortized.
 */
class Line {
  private front: Place[] = [];
  private back: Array<Place | undefined> = [];
  private backStart = 0;

  put(held: Held, first: boolean): void {
    const place: Place = { held };
    held.place = place;
    if (first) this.front.push(place);
    else this.back.push(place);
  }

  leave(held: Held): void {
    if (held.place) held.place.held = undefined;
    held.place = undefined;
  }

  take(): Held | undefined {
    while (this.front.length > 0) {
      const held = this.front.pop()!.held;
      if (held) return this.taken(held);
    }
    while (this.backStart < this.back.length) {
      const held = this.back[this.backStart]!.held;
      this.back[this.backStart++] = undefined;
      if (held) {
        this.compact();
        return this.taken(held);
      }
    }
    this.back = [];
    this.backStart = 0;
    return undefined;
  }

  /** The first `limit` waiting requests, left in line. */
  peek(limit: number): Held[] {
    const first: Held[] = [];
    for (let i = this.front.length - 1; i >= 0 && first.length < limit; i--) {
      const held = this.front[i]!.held;
      if (held) first.push(held);
    }
    for (let i = this.backStart; i < this.back.length && first.length < limit; i++) {
      const held = this.back[i]!.held;
      if (held) first.push(held);
    }
    return first;
  }

  clear(): void {
    this.front = [];
    this.back = [];
    this.backStart = 0;
  }

  private taken(held: Held): Held {
    held.place = undefined;
    return held;
  }

  /** Drops the taken slots at the start of `back` once they are half of it. */
  private compact(): void {
    if (this.backStart < 1024 || this.backStart * 2 < this.back.length) return;
    this.back = this.back.slice(this.backStart);
    this.backStart = 0;
  }
}

/**
 * A Crawlee request queue that holds only the requests not handled yet: first in, first out
 * (`forefront` ones first, the latest first), one request per unique key while it is held, and
 * locks as Crawlee's queue expects them. A handled request is dropped; only the counts remain.
 */
export class WorkQueueClient implements RequestQueueClient {
  private readonly held = new Map<string, Held>();
  private readonly line = new Line();
  private readonly locked = new Map<string, Held>();
  /** No lock expires before this time (ms since the epoch): the locked requests are looked over only once it has passed. */
  private noLockExpiresBefore = Infinity;
  private handledCount = 0;
  private readonly createdAt = new Date();
  private modifiedAt = Date.now();

  constructor(
    readonly id: string,
    public name: string | undefined,
    private readonly forget: () => void,
  ) {}

  async get(): Promise<RequestQueueInfo> {
    return {
      id: this.id,
      name: this.name,
      createdAt: this.createdAt,
      modifiedAt: new Date(this.modifiedAt),
      accessedAt: new Date(),
      totalRequestCount: this.held.size + this.handledCount,
      handledRequestCount: this.handledCount,
      pendingRequestCount: this.held.size,
      hadMultipleClients: false,
    };
  }

  async update(newFields: { name?: string }): Promise<RequestQueueInfo> {
    if (newFields.name) this.name = newFields.name;
    return this.get();
  }

  async delete(): Promise<void> {
    this.held.clear();
    this.locked.clear();
    this.line.clear();
    this.forget();
  }

  /** The first waiting requests, not locked; a locked request is not in line. */
  async listHead(options: ListOptions = {}): Promise<QueueHead> {
    this.releaseExpiredLocks(Date.now());
    const limit = options.limit ?? DEFAULT_HEAD_LIMIT;
    const items = this.line.peek(limit).map(headItemOf);
    return { limit, queueModifiedAt: new Date(this.modifiedAt), hadMultipleClients: false, items };
  }

  async addRequest(request: RequestSchema, options: RequestOptions = {}): Promise<QueueOperationInfo> {
    const info = this.add(request, options.forefront ?? false);
    this.modifiedAt = Date.now();
    return info;
  }

  async batchAddRequests(requests: RequestSchema[], options: RequestOptions = {}): Promise<BatchAddRequestsResult> {
    const forefront = options.forefront ?? false;
    const processedRequests = requests.map((request) => ({ uniqueKey: request.uniqueKey, ...this.add(request, forefront) }));
    this.modifiedAt = Date.now();
    return { processedRequests, unprocessedRequests: [] };
  }

  async getRequest(id: string): Promise<RequestOptions | undefined> {
    const held = this.held.get(id);
    return held && (JSON.parse(held.json) as RequestOptions);
  }

  /** With `handledAt` set, the request is dropped; otherwise its data is replaced, its lock or place kept (`forefront` moves a waiting one first). */
  async updateRequest(request: UpdateRequestSchema, options: RequestOptions = {}): Promise<QueueOperationInfo> {
    const held = this.held.get(request.id);
    // A request not held was handled (or deleted) already; without `handledAt`, it is added, as Crawlee's API does.
    if (!held) return request.handledAt ? { requestId: request.id, wasAlreadyPresent: true, wasAlreadyHandled: true } : this.addRequest(request, options);
    this.modifiedAt = Date.now();
    if (request.handledAt) {
      this.drop(held);
      this.handledCount++;
    } else {
      Object.assign(held, fieldsOf(request, held.id));
      if (options.forefront) {
        held.forefront = true;
        if (held.place) {
          this.line.leave(held);
          this.line.put(held, true);
        }
      }
    }
    return { requestId: held.id, wasAlreadyPresent: true, wasAlreadyHandled: false };
  }

  async deleteRequest(id: string): Promise<void> {
    const held = this.held.get(id);
    if (!held) return;
    this.drop(held);
    this.modifiedAt = Date.now();
  }

  /** Takes up to `limit` waiting requests and locks them for `lockSecs`; requests whose locks expired are back in line before that. */
  async listAndLockHead(options: ListAndLockOptions): Promise<ListAndLockHeadResult> {
    const now = Date.now();
    this.releaseExpiredLocks(now);
    const limit = options.limit ?? DEFAULT_LOCK_LIMIT;
    const lockedUntil = now + options.lockSecs * 1000;
    const items: RequestQueueHeadItem[] = [];
    while (items.length < limit) {
      const held = this.line.take();
      if (!held) break;
      this.lock(held, lockedUntil, false);
      items.push(headItemOf(held));
    }
    return {
      limit,
      lockSecs: options.lockSecs,
      queueModifiedAt: new Date(this.modifiedAt),
      hadMultipleClients: false,
      queueHasLockedRequests: this.locked.size > 0,
      items,
    };
  }

  /** Locks the request for `lockSecs` from now, whether it is locked or waiting (a crawler may still take a request whose lock it lost). */
  async prolongRequestLock(id: string, options: ProlongRequestLockOptions): Promise<ProlongRequestLockResult> {
    const held = this.held.get(id);
    if (!held) throw new Error(`Request ${id} is not in queue ${this.name ?? this.id}: it was handled or deleted`);
    this.line.leave(held);
    const lockedUntil = Date.now() + options.lockSecs * 1000;
    this.lock(held, lockedUntil, options.forefront ?? false);
    return { lockExpiresAt: new Date(lockedUntil) };
  }

  async deleteRequestLock(id: string, options: DeleteRequestLockOptions = {}): Promise<void> {
    const held = this.locked.get(id);
    if (!held) throw new Error(`Request ${id} is not locked in queue ${this.name ?? this.id}`);
    this.unlock(held, options.forefront ?? false);
  }

  private add(request: RequestSchema, forefront: boolean): QueueOperationInfo {
    const id = request.id ?? getRequestId(request.uniqueKey);
    if (this.held.has(id)) return { requestId: id, wasAlreadyPresent: true, wasAlreadyHandled: false };
    // Added as handled: counted, never held. `wasAlreadyHandled` stays false, as in Crawlee's API.
    if (request.handledAt) this.handledCount++;
    else {
      const held: Held = { ...fieldsOf(request, id), forefront };
      this.held.set(id, held);
      this.line.put(held, forefront);
    }
    return { requestId: id, wasAlreadyPresent: false, wasAlreadyHandled: false };
  }

  private drop(held: Held): void {
    this.held.delete(held.id);
    this.locked.delete(held.id);
    this.line.leave(held);
  }

  private lock(held: Held, until: number, forefront: boolean): void {
    held.lockedUntil = until;
    held.forefront = forefront;
    this.locked.set(held.id, held);
    this.noLockExpiresBefore = Math.min(this.noLockExpiresBefore, until);
  }

  private unlock(held: Held, forefront: boolean): void {
    this.locked.delete(held.id);
    held.lockedUntil = undefined;
    this.line.put(held, forefront);
  }

  /** Puts the requests whose locks expired back in line; looks at the locked ones only when one may have expired. */
  private releaseExpiredLocks(now: number): void {
    if (now < this.noLockExpiresBefore) return;
    let earliest = Infinity;
    for (const held of this.locked.values()) {
      if (held.lockedUntil! <= now) this.unlock(held, held.forefront);
      else earliest = Math.min(earliest, held.lockedUntil!);
    }
    this.noLockExpiresBefore = earliest;
  }
}

function fieldsOf(request: RequestSchema, id: string): Omit<Held, 'forefront'> {
  return {
    id,
    uniqueKey: request.uniqueKey,
    url: request.url,
    method: request.method ?? 'GET',
    retryCount: request.retryCount ?? 0,
    json: JSON.stringify({ ...request, id }),
  };
}

function headItemOf(held: Held): RequestQueueHeadItem {
  return { id: held.id, uniqueKey: held.uniqueKey, url: held.url, method: held.method, retryCount: held.retryCount };
}

/** What a queue that is not there answers: Crawlee asks for a queue's info before creating it. */
function absentQueue(idOrName: string): RequestQueueClient {
  const absent = async (): Promise<never> => {
    throw new Error(`Request queue ${idOrName} does not exist`);
  };
  return {
    get: async () => undefined,
    update: absent,
    delete: async () => undefined,
    listHead: absent,
    addRequest: absent,
    batchAddRequests: absent,
    getRequest: absent,
    updateRequest: absent,
    deleteRequest: absent,
    listAndLockHead: absent,
    prolongRequestLock: absent,
    deleteRequestLock: absent,
  };
}
