// Why a model request failed, in one line a record can keep (`Description.reason`, `Score.reason`).

export type ModelFailureKind =
  | 'unreachable' // connection refused, reset, DNS
  | 'timeout'
  | 'http' // a non-2xx status that retries did not fix (or that retrying cannot fix, such as 400)
  | 'malformed' // 2xx but not the documented JSON shape (non-JSON, no choices, empty content)
  | 'invalid-input'; // we could not build the request (for example an image sharp cannot decode)

export class ModelRequestError extends Error {
  constructor(
    readonly kind: ModelFailureKind,
    message: string,
    readonly status?: number,
    /** The server's Retry-After, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ModelRequestError';
  }

  /** Failures worth another attempt: the server may recover. */
  get retryable(): boolean {
    if (this.kind === 'unreachable' || this.kind === 'timeout') return true;
    return this.kind === 'http' && this.status !== undefined && (this.status === 429 || this.status >= 500);
  }

  /** `kind: message`, the form stored as a failure reason. */
  get reason(): string {
    return `${this.kind}: ${this.message}`;
  }
}

/** The reason to store for any error thrown by a model call. */
export function failureReason(error: unknown): string {
  if (error instanceof ModelRequestError) return error.reason;
  return `error: ${(error as Error)?.message ?? String(error)}`.split('\n')[0]!;
}
