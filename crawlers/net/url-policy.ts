// Which URLs the crawler may fetch: only http(s), and never a private, loopback or link-local
// address (checked on the resolved IP, at connect time, for every redirect hop) unless the user
// allowed private addresses or the host is the `--site` host they pointed us at.
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export class RefusedUrlError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`refused ${url}: ${reason}`);
    this.name = 'RefusedUrlError';
  }
}

/** True for addresses a public crawler must never reach (private, loopback, link-local, reserved…). */
export function isNonPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() !== 'unicast';
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

export interface UrlPolicyOptions {
  allowPrivate: boolean;
  /** Hosts whose private addresses are allowed anyway (the `--site` host). */
  trustedHosts?: string[];
}

export class UrlPolicy {
  private readonly trustedHosts: Set<string>;

  constructor(private readonly options: UrlPolicyOptions) {
    this.trustedHosts = new Set((options.trustedHosts ?? []).map((h) => h.toLowerCase()));
  }

  private mayBePrivate(host: string): boolean {
    return this.options.allowPrivate || this.trustedHosts.has(host);
  }

  /** Checks what can be checked without DNS: scheme, and the address when the host is an IP literal. */
  check(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new RefusedUrlError(raw, 'not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RefusedUrlError(raw, `scheme ${url.protocol} is not http(s)`);
    const host = hostOf(url);
    if (ipaddr.isValid(host) && isNonPublicAddress(host) && !this.mayBePrivate(host)) {
      throw new RefusedUrlError(raw, `private address ${host}`);
    }
    return url;
  }

  /** A DNS lookup for http.request that refuses non-public results, so no connection is attempted. */
  lookupFor(url: URL): LookupFunction {
    const host = hostOf(url);
    const allowAny = this.mayBePrivate(host);
    return (hostname, options, callback) => {
      dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
        if (error) return callback(error, '', 0);
        const list = addresses as dns.LookupAddress[];
        const refused = allowAny ? undefined : list.find((a) => isNonPublicAddress(a.address));
        if (refused) return callback(new RefusedUrlError(url.href, `${hostname} resolves to private address ${refused.address}`), '', 0);
        if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
        const first = list[0]!;
        callback(null, first.address, first.family);
      });
    };
  }

  /** Resolves the host now and refuses non-public addresses (for the browser, which does its own DNS). */
  async checkResolved(raw: string): Promise<URL> {
    const url = this.check(raw);
    const host = hostOf(url);
    if (ipaddr.isValid(host) || this.mayBePrivate(host)) return url;
    const addresses = await dns.promises.lookup(host, { all: true });
    const refused = addresses.find((a) => isNonPublicAddress(a.address));
    if (refused) throw new RefusedUrlError(raw, `${host} resolves to private address ${refused.address}`);
    return url;
  }
}
