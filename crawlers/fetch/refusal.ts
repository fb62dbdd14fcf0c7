// Why a URL must not be requested at all, decided before it is queued: our address policy (scheme,
// private address literals) and robots.txt. Resolved addresses are checked again at connect time.
import type { RobotsCache } from '../net/robots.js';
import { RefusedUrlError, type UrlPolicy } from '../net/url-policy.js';

export interface Refusal {
  outcome: 'failed' | 'skipped';
  reason: string;
}

export async function refusalOf(url: string, policy: UrlPolicy, robots?: RobotsCache): Promise<Refusal | undefined> {
  try {
    policy.check(url);
  } catch (error) {
    if (!(error instanceof RefusedUrlError)) throw error;
    return { outcome: 'failed', reason: `refused: ${error.reason}` };
  }
  if (robots && !(await robots.isAllowed(url))) return { outcome: 'skipped', reason: 'robots-disallowed' };
  return undefined;
}
