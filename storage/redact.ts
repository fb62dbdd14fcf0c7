// Secrets must never reach a record, a log line or stderr: a URL loses its userinfo and the values
// of query parameters named like keys, wherever it appears in a recorded URL or error text. Kept in
// storage/ so every layer (crawlers, models, the CLI, the store itself) redacts the same way.

/** Query parameter names whose values are secrets (compared case-insensitively, `-` and `_` ignored). */
const SECRET_PARAMS = new Set([
  'key',
  'apikey',
  'token',
  'accesstoken',
  'authtoken',
  'refreshtoken',
  'idtoken',
  'secret',
  'clientsecret',
  'password',
  'passwd',
  'pwd',
  'sig',
  'signature',
  'auth',
  'authorization',
  'credential',
  'credentials',
  'session',
  'sessionid',
  'xamzsignature',
  'xamzcredential',
  'xamzsecuritytoken',
  'xgoogsignature',
  'xgoogcredential',
]);

export const REDACTED = 'REDACTED';

export function isSecretParam(name: string): boolean {
  return SECRET_PARAMS.has(name.toLowerCase().replace(/[-_]/g, ''));
}

/** The URL without userinfo and with secret query values replaced; text that is no URL is returned as is. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw;
  }
  let changed = false;
  if (url.username || url.password) {
    url.username = '';
    url.password = '';
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (isSecretParam(name) && url.searchParams.get(name) !== REDACTED) {
      url.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? url.href : raw;
}

// A URL inside free text: a scheme, then anything up to whitespace or a closing quote/bracket,
// less trailing punctuation (`…?token=x: timeout` ends the URL before the colon).
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)\]]*[^\s"'<>)\].,;:!?]/gi;

/** Error text with every URL in it redacted (see redactUrl). */
export function redactSecrets(text: string): string {
  return text.replace(URL_IN_TEXT, (match) => redactUrl(match));
}

const REASON_FIELDS = new Set(['reason', 'reasons', 'decodeError', 'extractWarning']);

/**
 * Redacts every failure reason in a record, however deep (`reason`, `reasons`, `decodeError`,
 * `extractWarning`): the store's last line of defence, whichever writer built the reason.
 */
export function redactReasons<T>(record: T): T {
  const walk = (value: unknown, inReason: boolean): unknown => {
    if (typeof value === 'string') return inReason ? redactSecrets(value) : value;
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = walk(value[i], inReason);
      return value;
    }
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) object[key] = walk(object[key], inReason || REASON_FIELDS.has(key));
    return object;
  };
  return walk(record, false) as T;
}
