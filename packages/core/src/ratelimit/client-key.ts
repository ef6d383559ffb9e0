import type { FeatureHost } from '../pipeline/feature-host.js';
import type { Exchange } from '../pipeline/exchange.js';
import { InvalidOptionError } from '../util/errors.js';
import { canonicalAddress, isV4Mapped, mappedV4, parseIpv6 } from '../pipeline/ip-address.js';

/**
 * Who a request counts against:
 * - `'ip'` (default): the client address under the engine's `trustProxy` rule, IPv6 grouped by
 *   prefix (one /64 is one subscriber, and a single host can hold billions of addresses in it);
 * - `{ header: 'x-api-key' }`: that request header's value (the IP when the header is missing);
 * - a function of the request's Exchange returning the key (the IP when it returns undefined or '').
 */
export type ClientKeySpec = 'ip' | { header: string } | ((ex: Exchange) => string | undefined);

/** Resolves a request's client key. */
export type ClientKeyFn = (ex: Exchange) => string;

/**
 * Compiles a {@link ClientKeySpec}. `ipv6Prefix` is the prefix length IPv6 addresses are grouped by
 * (a multiple of 16 up to 128; 128 = no grouping).
 */
export function compileClientKey(spec: unknown, ipv6Prefix: number, engine: FeatureHost, path: string): ClientKeyFn {
  const hextets = ipv6Prefix / 16;
  const ip = (ex: Exchange): string => groupAddress(engine.clientAddress(ex), hextets);
  if (spec === undefined || spec === 'ip') return ip;
  if (typeof spec === 'function') {
    const fn = spec as (ex: Exchange) => string | undefined;
    let failures = 0;
    return (ex) => {
      let k: string | undefined;
      try {
        k = fn(ex);
      } catch (err) {
        // A user key function that throws (a header it expects is missing) must not turn the
        // request into a 500: the client is counted by address. Said once, then counted.
        if (failures++ === 0) engine.logger.warn({ err: String(err) }, `autom8: ${path} threw; counting the client by address`);
        return ip(ex);
      }
      return typeof k === 'string' && k.length > 0 ? `k:${k}` : ip(ex);
    };
  }
  if (typeof spec === 'object' && spec !== null && typeof (spec as { header?: unknown }).header === 'string') {
    const name = (spec as { header: string }).header.toLowerCase();
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw new InvalidOptionError(`${path}.header`, 'a header name', name);
    return (ex) => {
      const k = ex.header(name);
      // Long values are cut: a key is for counting, and an attacker should not pick its size.
      return k !== undefined && k.length > 0 ? `h:${k.length > 256 ? k.slice(0, 256) : k}` : ip(ex);
    };
  }
  throw new InvalidOptionError(path, "'ip', { header: name }, or a function of the request", spec);
}

// Scratch for the IPv6 groups: grouping is synchronous, so one buffer serves every call.
const groups = new Uint16Array(8);

/**
 * The address a client is counted under: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 cut to its
 * first `hextets` groups (4 = /64) as `2001:db8:0:0::/64`, or in RFC 5952 form when `hextets` is 8.
 * The engine's client address is already canonical; other text is parsed strictly, and what is not
 * an address is returned as is.
 */
export function groupAddress(addr: string, hextets: number): string {
  if (addr.indexOf(':') === -1) return addr;
  if (hextets >= 8) return canonicalAddress(addr) ?? addr;
  const g = groups;
  if (!parseIpv6(addr, 0, addr.length, g)) return addr;
  if (isV4Mapped(g)) return mappedV4(g);
  let out = g[0]!.toString(16);
  for (let i = 1; i < hextets; i++) out += `:${g[i]!.toString(16)}`;
  return `${out}::/${hextets * 16}`;
}
