// What remote search adapters share: one JSON GET through the safe fetch, validated with zod.
// Search endpoints are ones the user configured, so they may live on a private network.
import type { z } from 'zod';
import { fetchJson } from '../net/safe-http.js';
import { UrlPolicy } from '../net/url-policy.js';

export interface ApiClientOptions {
  userAgent: string;
  timeoutMs: number;
}

const trustedEndpoints = new UrlPolicy({ allowPrivate: true });

export async function getJson<T extends z.ZodType>(
  provider: string,
  url: URL,
  schema: T,
  options: ApiClientOptions,
  headers: Record<string, string> = {},
): Promise<z.infer<T>> {
  const body = await fetchJson(url.href, {
    policy: trustedEndpoints,
    timeoutMs: options.timeoutMs,
    maxBytes: 16 * 1024 * 1024,
    userAgent: options.userAgent,
    headers,
  });
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${provider}: unexpected response from ${url.origin}${url.pathname} (${issue.path.join('.')}: ${issue.message})`);
  }
  return parsed.data;
}
