// Why a model request failed, in one line a record can keep (`Description.reason`, `Score.reason`).
// Every message is redacted (storage/redact.ts): an endpoint URL's key never reaches a record.
import { redactSecrets } from '../../storage/index.js';

export type ModelFailureKind =
  | 'unreachable' // connection refused, reset, DNS
  | 'timeout'
  | 'http' // a non-2xx status that retries did not fix (or that retrying cannot fix, such as 400)
  | 'malformed' // 2xx but not the documented JSON shape (non-JSON, no choices, empty content)
  | 'too-long' // a reply over the byte cap (models.maxReplyBytes) or far over the tokens asked for
  | 'invalid-input' // we could not build the request (for example an image sharp cannot decode)
  | 'endpoint-down'; // the endpoint failed so many requests in a row that no more are sent to it

/**
 * Network errors that another attempt cannot fix: nothing listens on the port, or the host name does
 * not resolve. Resets and temporary DNS failures (EAI_AGAIN) stay retryable.
 */
const PERMANENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND']);

export class ModelRequestError extends Error {
  constructor(
    readonly kind: ModelFailureKind,
    message: string,
    readonly status?: number,
    /** The server's Retry-After, when it sent one. */
    readonly retryAfterMs?: number,
    /** The network error code of an `unreachable` failure (ECONNREFUSED, ECONNRESET, ...). */
    readonly networkCode?: string,
  ) {
    super(redactSecrets(message));
    this.name = 'ModelRequestError';
  }

  /** Failures worth another attempt: the server may recover (timeouts, 429, 5xx, resets). */
  get retryable(): boolean {
    if (this.kind === 'timeout') return true;
    if (this.kind === 'unreachable') return !PERMANENT_NETWORK_CODES.has(this.networkCode ?? '');
    return this.kind === 'http' && this.status !== undefined && (this.status === 429 || this.status >= 500);
  }

  /** `kind: message`, the form stored as a failure reason. */
  get reason(): string {
    return `${this.kind}: ${this.message}`;
  }
}

/**
 * Counts an endpoint's consecutive failed requests (each after its own retries). Past the limit the
 * endpoint is taken as down: every further request fails at once with `endpoint-down`, and `down`
 * names the endpoint and the error, for the one line the command stops with.
 */
export class EndpointHealth {
  private consecutive = 0;
  private downReason?: string;

  constructor(
    readonly url: string,
    private readonly maxConsecutiveFailures: number,
  ) {}

  get down(): string | undefined {
    return this.downReason;
  }

  succeeded(): void {
    this.consecutive = 0;
  }

  failed(error: ModelRequestError): void {
    // A reply the model got wrong says nothing about the endpoint's health.
    if (error.kind === 'malformed' || error.kind === 'too-long' || error.kind === 'invalid-input' || this.downReason) return;
    this.consecutive++;
    if (this.consecutive >= this.maxConsecutiveFailures) {
      this.downReason = `the model endpoint ${redactSecrets(this.url)} failed ${this.consecutive} requests in a row (last: ${error.reason}); check that it is running and reachable, then run the same command again`;
    }
  }

  /** Throws `endpoint-down` once the endpoint is taken as down. */
  check(): void {
    if (this.downReason) throw new ModelRequestError('endpoint-down', this.downReason);
  }
}

/** The reason to store for any error thrown by a model call. */
export function failureReason(error: unknown): string {
  if (error instanceof ModelRequestError) return error.reason;
  return redactSecrets(`error: ${(error as Error)?.message ?? String(error)}`.split('\n')[0]!);
}
