import { BlockList, isIPv6 } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { InvalidOptionError } from '../util/errors.js';

/**
 * Which proxies to believe about the client's address (`X-Forwarded-For`), the same rule for every
 * adapter so Express and Koa agree on who the client is:
 * - `false` (default): the socket's peer address; X-Forwarded-For is ignored.
 * - `true`: the left-most X-Forwarded-For entry (only when every hop is yours).
 * - a number n: trust n proxy hops in front of the app.
 * - a list of addresses or CIDRs (`'10.0.0.0/8'`, `'::1'`): walk X-Forwarded-For from the right while
 *   the hop is trusted.
 */
export type TrustProxy = boolean | number | readonly string[];

/** A compiled {@link TrustProxy} rule: (socket address, headers) → client address. */
export type ClientAddressResolver = (remote: string | undefined, headers: IncomingHttpHeaders) => string;

/** Longest X-Forwarded-For chain we look at; longer chains are cut, so an absurd header costs O(1). */
const MAX_HOPS = 32;

export function compileTrustProxy(trust: TrustProxy | undefined, optionPath = 'trustProxy'): ClientAddressResolver {
  if (trust === undefined || trust === false) return (remote) => remote ?? 'unknown';
  if (trust === true) {
    return (remote, headers) => {
      const hops = forwardedFor(headers);
      return hops.length > 0 ? hops[0]! : remote ?? 'unknown';
    };
  }
  if (typeof trust === 'number') {
    if (!Number.isInteger(trust) || trust < 0) throw new InvalidOptionError(optionPath, 'a boolean, a hop count, or a list of CIDRs', trust);
    return (remote, headers) => {
      const hops = forwardedFor(headers);
      if (trust === 0 || hops.length === 0) return remote ?? 'unknown';
      const idx = hops.length - trust;
      return hops[idx < 0 ? 0 : idx]!;
    };
  }
  if (!Array.isArray(trust)) throw new InvalidOptionError(optionPath, 'a boolean, a hop count, or a list of CIDRs', trust);
  const list = new BlockList();
  trust.forEach((entry, i) => {
    if (typeof entry !== 'string') throw new InvalidOptionError(`${optionPath}[${i}]`, 'an address or CIDR string', entry);
    const [addr, bits] = entry.split('/');
    const family = isIPv6(addr!) ? 'ipv6' : 'ipv4';
    try {
      if (bits === undefined) list.addAddress(addr!, family);
      else list.addSubnet(addr!, Number(bits), family);
    } catch {
      throw new InvalidOptionError(`${optionPath}[${i}]`, 'an address or CIDR string', entry);
    }
  });
  const trusted = (a: string) => {
    const plain = stripV4Mapped(a);
    try {
      return list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4');
    } catch {
      return false; // not an IP address at all: never trusted
    }
  };
  return (remote, headers) => {
    let client = remote ?? 'unknown';
    if (!trusted(client)) return client;
    const hops = forwardedFor(headers);
    for (let i = hops.length - 1; i >= 0; i--) {
      client = hops[i]!;
      if (!trusted(client)) return client;
    }
    return client;
  };
}

function forwardedFor(headers: IncomingHttpHeaders): string[] {
  const raw = headers['x-forwarded-for'];
  if (raw === undefined || raw.length === 0) return [];
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  // Only the right-most MAX_HOPS entries matter (the hops nearest to us): scan from the end.
  const out: string[] = [];
  let end = value.length;
  while (end > 0 && out.length < MAX_HOPS) {
    const start = value.lastIndexOf(',', end - 1);
    const p = value.slice(start + 1, end).trim();
    if (p.length > 0 && p.length <= 64) out.push(p);
    end = start === -1 ? 0 : start;
  }
  return out.reverse();
}

function stripV4Mapped(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
