// Exit codes: 0 ok, 1 a stage failed as a whole, 2 the user's input is wrong, 3 not implemented yet.

/** A mistake the user can fix: printed as one line (what, where, how to fix), exit 2. */
export class UserError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A stage that ran but could not do any of its work (for example every model request failed). */
export class StageFailedError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'StageFailedError';
  }
}

/** The failures m2rag expects and explains in one line (a user's mistake, a stage that failed). */
export function isExpectedError(error: unknown): error is UserError | StageFailedError {
  return error instanceof UserError || error instanceof StageFailedError;
}

/**
 * What kind of failure an error is, from its class and code (never from its message): `network`
 * and `timeout` may pass on another attempt; `deterministic` ones (a stack overflow on a deeply
 * nested page, a charset the decoder does not know, a parse error) fail the same way every time.
 */
export type ErrorKind = 'network' | 'timeout' | 'deterministic' | 'unknown';

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The error's network code, its own or its cause's (fetch wraps socket errors in a TypeError). */
export function errorCodeOf(error: unknown): string | undefined {
  const own = (error as { code?: unknown } | undefined)?.code;
  if (typeof own === 'string') return own;
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof cause === 'string' ? cause : undefined;
}

export function errorKindOf(error: unknown): ErrorKind {
  const code = errorCodeOf(error);
  if (code && TIMEOUT_CODES.has(code)) return 'timeout';
  if (code && NETWORK_CODES.has(code)) return 'network';
  if (error instanceof Error) {
    // Crawlee's and AbortSignal.timeout()'s timeouts are classes named TimeoutError.
    if (error.name === 'TimeoutError' || error.constructor?.name === 'TimeoutError') return 'timeout';
    if (error instanceof RangeError || error instanceof SyntaxError || error instanceof TypeError || error instanceof URIError) return 'deterministic';
    if (code?.startsWith('ERR_')) return 'deterministic';
  }
  return 'unknown';
}
