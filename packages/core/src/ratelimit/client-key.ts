import type { Autom8 } from '../pipeline/autom8.js';
import type { Exchange } from '../pipeline/exchange.js';
import { InvalidOptionError } from '../util/errors.js';

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
export function compileClientKey(spec: unknown, ipv6Prefix: number, engine: Autom8, path: string): ClientKeyFn {
  const hextets = ipv6Prefix / 16;
  const ip = (ex: Exchange): string => groupAddress(engine.clientAddress(ex), hextets);
  if (spec === undefined || spec === 'ip') return ip;
  if (typeof spec === 'function') {
    const fn = spec as (ex: Exchange) => string | undefined;
    return (ex) => {
      const k = fn(ex);
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

/**
 * The address a client is counted under: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 cut to its
 * first `hextets` groups (4 = /64) in a canonical lower-case form. Anything else is returned as is.
 */
export function groupAddress(addr: string, hextets: number): string {
  if (addr.indexOf(':') === -1) return addr;
  if (addr.startsWith('::ffff:') && addr.indexOf('.') !== -1) return addr.slice(7);
  if (hextets >= 8) return addr;
  let a = addr;
  const zone = a.indexOf('%');
  if (zone !== -1) a = a.slice(0, zone);
  const dbl = a.indexOf('::');
  let out = '';
  let n = 0;
  // Only the leading groups matter; the groups after '::' are needed only when fewer than
  // `hextets` groups precede it.
  const head = dbl === -1 ? a : a.slice(0, dbl);
  if (head.length > 0) {
    let start = 0;
    while (n < hextets) {
      const end = head.indexOf(':', start);
      const g = end === -1 ? head.slice(start) : head.slice(start, end);
      out += (n === 0 ? '' : ':') + normalizeGroup(g);
      n++;
      if (end === -1) break;
      start = end + 1;
    }
  }
  if (n < hextets && dbl !== -1) {
    const tail = a.slice(dbl + 2);
    const tailGroups = tail.length === 0 ? [] : tail.split(':');
    const zeros = 8 - n - tailGroups.length;
    for (let i = 0; i < zeros && n < hextets; i++, n++) out += (n === 0 ? '' : ':') + '0';
    for (let i = 0; i < tailGroups.length && n < hextets; i++, n++) out += (n === 0 ? '' : ':') + normalizeGroup(tailGroups[i]!);
  }
  return `${out}::/${hextets * 16}`;
}

function normalizeGroup(g: string): string {
  let i = 0;
  while (i < g.length - 1 && g.charCodeAt(i) === 48) i++; // strip leading zeros
  return (i === 0 ? g : g.slice(i)).toLowerCase();
}
