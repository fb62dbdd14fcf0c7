// Which URLs the crawler may fetch: only http(s), and never a private, loopback or link-local
// address (checked on the resolved IP, at connect time, for every redirect hop) unless the user
// allowed private addresses or the URL is on the `--site` origin they pointed us at. The exemption
// is per origin (scheme, host and port): the site's host may run other services on other ports.
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

/** fec0::/10, deprecated site-local addresses, which ipaddr.js files as unicast. */
function isSiteLocal(address: ipaddr.IPv6): boolean {
  return (address.parts[0]! & 0xffc0) === 0xfec0;
}

/** ::a.b.c.d, the deprecated IPv4-compatible form (ipaddr.js files it as unicast; `::` and `::1` have ranges of their own). */
function isIPv4Compatible(address: ipaddr.IPv6): boolean {
  return address.parts.slice(0, 6).every((part) => part === 0) && address.range() === 'unicast';
}

/** True for addresses a public crawler must never reach (private, loopback, link-local, reserved…), in any IPv4 or IPv6 form. */
export function isNonPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (isIPv4Compatible(v6) || isSiteLocal(v6)) return true;
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
  }
  return parsed.range() !== 'unicast';
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

export interface UrlPolicyOptions {
  allowPrivate: boolean;
  /** Origins (scheme, host, port) whose private addresses are allowed anyway: the `--site` origin. */
  trustedOrigins?: string[];
}

export class UrlPolicy {
  private readonly trustedOrigins: Set<string>;

  constructor(private readonly options: UrlPolicyOptions) {
    this.trustedOrigins = new Set((options.trustedOrigins ?? []).map((origin) => new URL(origin).origin));
  }

  private mayBePrivate(url: URL): boolean {
    return this.options.allowPrivate || this.trustedOrigins.has(url.origin);
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
    if (ipaddr.isValid(host) && isNonPublicAddress(host) && !this.mayBePrivate(url)) {
      throw new RefusedUrlError(raw, `private address ${host}`);
    }
    return url;
  }

  /** A DNS lookup for http.request that refuses non-public results, so no connection is attempted. */
  lookupFor(url: URL): LookupFunction {
    const allowAny = this.mayBePrivate(url);
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
    if (ipaddr.isValid(host) || this.mayBePrivate(url)) return url;
    const addresses = await dns.promises.lookup(host, { all: true });
    const refused = addresses.find((a) => isNonPublicAddress(a.address));
    if (refused) throw new RefusedUrlError(raw, `${host} resolves to private address ${refused.address}`);
    return url;
  }
}
