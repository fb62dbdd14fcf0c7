// Crawlee's RequestQueue, with every queue operation run outside the caller's async context.
// Crawlee runs each request handler inside an AsyncLocalStorage context that holds the whole
// crawling context (the parsed DOM and the body). The persisted queue's file entries start a
// 60-second timer on each update; started inside a handler, that timer pins the page's DOM for
// a minute, and at crawl speed that is ~1 GB per 1,000 pages. Started here, it pins nothing.
import { AsyncLocalStorage } from 'node:async_hooks';
import { RequestQueue, type Dictionary, type Request, type Source } from '@crawlee/core';

const outsideHandlers = AsyncLocalStorage.snapshot();

type AddRequestsArgs = Parameters<RequestQueue['addRequests']>;
type AddBatchedArgs = Parameters<RequestQueue['addRequestsBatched']>;
type ReclaimArgs = Parameters<RequestQueue['reclaimRequest']>;

export class DetachedRequestQueue extends RequestQueue {
  override addRequest(requestLike: Source, options?: Parameters<RequestQueue['addRequest']>[1]): ReturnType<RequestQueue['addRequest']> {
    return outsideHandlers(() => super.addRequest(requestLike, options));
  }

  override addRequests(...args: AddRequestsArgs): ReturnType<RequestQueue['addRequests']> {
    return outsideHandlers(() => super.addRequests(...args));
  }

  override addRequestsBatched(...args: AddBatchedArgs): ReturnType<RequestQueue['addRequestsBatched']> {
    return outsideHandlers(() => super.addRequestsBatched(...args));
  }

  override fetchNextRequest<T extends Dictionary = Dictionary>(): Promise<Request<T> | null> {
    return outsideHandlers(() => super.fetchNextRequest<T>());
  }

  override markRequestHandled(request: Request): ReturnType<RequestQueue['markRequestHandled']> {
    return outsideHandlers(() => super.markRequestHandled(request));
  }

  override reclaimRequest(...args: ReclaimArgs): ReturnType<RequestQueue['reclaimRequest']> {
    return outsideHandlers(() => super.reclaimRequest(...args));
  }

  override isFinished(): Promise<boolean> {
    return outsideHandlers(() => super.isFinished());
  }

  override isEmpty(): Promise<boolean> {
    return outsideHandlers(() => super.isEmpty());
  }
}

// Crawlee picks the storage client by the class's name (`RequestQueue` → `requestQueue`).
Object.defineProperty(DetachedRequestQueue, 'name', { value: 'RequestQueue' });
