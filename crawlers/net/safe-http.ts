// One HTTP fetch the crawler can trust: http(s) only, the resolved address checked before every
// connection (every redirect hop is a new connection, so each is checked), redirects followed by
// hand with a hop limit and loop detection, one deadline for headers and body, and a body that is
// streamed through a byte cap and never buffered unbounded.
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import https from 'node:https';
import { PassThrough, Transform, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { HostLimiter } from './host-limiter.js';
import type { UrlPolicy } from './url-policy.js';

/** A fetch failure with a short machine-friendly reason (stored on Fetch records) and whether retrying may help. */
export class FetchError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly retryable: boolean,
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'FetchError';
  }
}

export interface SafeFetchOptions {
  policy: UrlPolicy;
  /** HostLimiter, or any gate with its `acquire` (the queue's Redis lease, src/queue/host-lease.ts). */
  limiter?: Pick<HostLimiter, 'acquire'>;
  timeoutMs: number;
  maxBytes: number;
  maxRedirects?: number;
  userAgent: string;
  headers?: Record<string, string | string[] | undefined>;
  method?: 'GET' | 'POST';
  body?: string;
  /** Called before following each redirect hop (after it passed the policy). */
  onRedirect?: (from: URL, to: URL, statusCode: number, headers: http.IncomingHttpHeaders) => void;
}

export interface SafeResponse {
  url: string;
  redirectUrls: URL[];
  statusCode: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  ip?: string;
  /** The decoded body, capped at maxBytes and bound to the deadline; consume or destroy it. */
  body: Readable;
}

/**
 * Network errors become FetchErrors whose message avoids the raw error codes: Crawlee reads
 * ECONNREFUSED/ECONNRESET in a message as a broken proxy and rotates sessions without end.
 */
function asFetchError(error: unknown, url: string): unknown {
  if (error instanceof FetchError || !(error instanceof Error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (!code || error.name === 'RefusedUrlError') return error;
  const retryable = code !== 'ENOTFOUND' && code !== 'ERR_INVALID_URL';
  return new FetchError(`network: ${code}`, `${url}: network error (${code.toLowerCase()})`, retryable);
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function capBytes(maxBytes: number, url: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(new FetchError('too-large', `body of ${url} exceeds ${maxBytes} bytes`, false));
      else callback(null, chunk);
    },
  });
}

function decoderFor(encoding: string | undefined): Transform | undefined {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

/**
 * Requests start in the module's own (empty) async context. A keep-alive socket remembers the
 * async context it was opened in; opened inside a Crawlee request handler, that context holds
 * the handler's whole crawling context (the parsed DOM), so every pooled socket would pin a page.
 */
const outsideCallerContext = AsyncLocalStorage.snapshot();

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxFreeSockets: 32 }),
  'https:': new https.Agent({ keepAlive: true, maxFreeSockets: 32 }),
};

function requestOnce(url: URL, options: SafeFetchOptions, signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) =>
    outsideCallerContext(() => startRequest(url, options, signal, resolve, reject)),
  );
}

function startRequest(
  url: URL,
  options: SafeFetchOptions,
  signal: AbortSignal,
  resolve: (response: http.IncomingMessage) => void,
  reject: (error: unknown) => void,
): void {
  const client = url.protocol === 'https:' ? https : http;
  const request = client.request(
    url,
    {
      method: options.method ?? 'GET',
      headers: {
        'user-agent': options.userAgent,
        accept: '*/*',
        'accept-encoding': 'gzip, deflate, br',
        ...options.headers,
      },
      lookup: options.policy.lookupFor(url),
      agent: agents[url.protocol as 'http:' | 'https:'],
      signal,
    },
    resolve,
  );
  request.on('error', reject);
  request.end(options.body);
}

/** One deadline for a whole fetch: every hop's headers and the final body. */
interface Deadline {
  readonly signal: AbortSignal;
  readonly timedOut: boolean;
  error(): FetchError;
  clear(): void;
}

function startDeadline(raw: string, timeoutMs: number): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    error: () => new FetchError('timeout', `${raw}: no complete response within ${timeoutMs / 1000}s`, true),
    clear: () => clearTimeout(timer),
  };
}

interface FinalHop {
  response: http.IncomingMessage;
  url: URL;
  redirectUrls: URL[];
  /** The host slot the final response holds; the caller releases it. */
  release?: () => void;
}

/** Requests `raw` and follows redirects to the first response that is not one; a failed hop releases its slot. */
async function followRedirects(raw: string, options: SafeFetchOptions, deadline: Deadline): Promise<FinalHop> {
  const maxRedirects = options.maxRedirects ?? 10;
  const redirectUrls: URL[] = [];
  const visited = new Set<string>();
  let url = options.policy.check(raw);
  for (;;) {
    visited.add(url.href);
    const release = await options.limiter?.acquire(url.host);
    let response: http.IncomingMessage;
    try {
      response = await requestOnce(url, options, deadline.signal);
    } catch (error) {
      release?.();
      throw deadline.timedOut ? deadline.error() : asFetchError(error, url.href);
    }
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (!REDIRECT_STATUSES.has(status) || !location) return { response, url, redirectUrls, release };
    response.resume();
    release?.();
    if (redirectUrls.length >= maxRedirects) throw new FetchError('too-many-redirects', `${raw}: more than ${maxRedirects} redirects`, false, status);
    const next = options.policy.check(new URL(location, url).href);
    if (visited.has(next.href)) throw new FetchError('redirect-loop', `${raw}: redirect loop at ${next.href}`, false, status);
    options.onRedirect?.(url, next, status, response.headers);
    redirectUrls.push(next);
    url = next;
  }
}

/**
 * The response's body decoded and capped at `maxBytes`, bound to the deadline. Whichever comes
 * first (the end, an error, the deadline, the consumer abandoning it) stops the clock and releases
 * the host slot, once.
 */
function boundedBody(response: http.IncomingMessage, href: string, maxBytes: number, deadline: Deadline, release?: () => void): Readable {
  const decoder = decoderFor(response.headers['content-encoding']);
  const body = new PassThrough();
  const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream> = [response, ...(decoder ? [decoder] : []), capBytes(maxBytes, href)];
  let source: Readable = response;
  for (const stage of stages.slice(1)) source = source.pipe(stage as Transform);
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    deadline.clear();
    release?.();
  };
  const fail = (error: Error): void => {
    finish();
    response.destroy();
    body.destroy(deadline.timedOut ? deadline.error() : (asFetchError(error, href) as Error));
  };
  for (const stage of stages) (stage as Readable).on('error', fail);
  source.pipe(body);
  body.on('end', finish);
  body.on('close', () => {
    if (!finished) fail(new FetchError('aborted', `${href}: body abandoned`, false));
  });
  deadline.signal.addEventListener('abort', () => fail(deadline.error()), { once: true });
  return body;
}

/** Fetches `raw`, following redirects; resolves once the final response's headers are in. */
export async function safeFetch(raw: string, options: SafeFetchOptions): Promise<SafeResponse> {
  const deadline = startDeadline(raw, options.timeoutMs);
  let release: (() => void) | undefined;
  try {
    const hop = await followRedirects(raw, options, deadline);
    const { response, url } = hop;
    release = hop.release;
    const status = response.statusCode ?? 0;
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      response.destroy();
      throw new FetchError('too-large', `${url.href}: content-length ${declared} exceeds ${options.maxBytes} bytes`, false, status);
    }
    // From here the body owns the host slot.
    release = undefined;
    return {
      url: url.href,
      redirectUrls: hop.redirectUrls,
      statusCode: status,
      statusMessage: response.statusMessage ?? '',
      headers: response.headers,
      ip: response.socket?.remoteAddress,
      body: boundedBody(response, url.href, options.maxBytes, deadline, hop.release),
    };
  } catch (error) {
    deadline.clear();
    release?.();
    throw error;
  }
}

/** Reads a whole body (already capped by safeFetch). */
export async function readBody(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** GET and parse JSON, for search APIs; a non-2xx status is an error with the status. */
export async function fetchJson(url: string, options: SafeFetchOptions): Promise<unknown> {
  const response = await safeFetch(url, { ...options, headers: { accept: 'application/json', ...options.headers } });
  const bytes = await readBody(response.body);
  if (response.statusCode < 200 || response.statusCode >= 300) {
    throw new FetchError(`http-${response.statusCode}`, `${url}: HTTP ${response.statusCode} ${bytes.toString('utf8').slice(0, 200)}`, response.statusCode >= 500, response.statusCode);
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new FetchError('bad-json', `${url}: the response is not JSON`, false, response.statusCode);
  }
}
