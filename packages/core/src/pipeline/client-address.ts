import type { IncomingHttpHeaders } from 'node:http';
import { InvalidOptionError } from '../util/errors.js';
import { AddressSet } from './address-set.js';
import { canonicalAddress } from './ip-address.js';

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

/**
 * Compiles a {@link TrustProxy} rule. The address returned is canonical (see `canonicalAddress`:
 * `::ffff:1.2.3.4`, `1.2.3.4:5555` and `1.2.3.4` are one client; IPv6 in RFC 5952 form).
 *
 * X-Forwarded-For is read from the right (the hop nearest to us) toward the hop the rule points at.
 * A hop on that way that is not an IP address (`unknown`, `_hidden`, `001.002.003.004`, an empty
 * entry, garbage) ends the walk: the client is then the address of the hop that wrote it, the
 * nearest valid hop closer to us (a trusted proxy, or the socket peer), and `onInvalid` is called.
 * Hops beyond the one the rule points at are never read. A client reaches that fallback only through
 * a hop a trusted proxy wrote, so it cannot pick its key with it: the key becomes the proxy's.
 */
export function compileTrustProxy(trust: TrustProxy | undefined, optionPath = 'trustProxy', onInvalid?: () => void): ClientAddressResolver {
  const invalid = onInvalid ?? noop;
  if (trust === undefined || trust === false || trust === 0) return (remote) => socketAddress(remote);
  if (trust === true) return (remote, headers) => walk(socketAddress(remote), headers, MAX_HOPS, undefined, invalid);
  if (typeof trust === 'number') {
    if (!Number.isInteger(trust) || trust < 0) throw new InvalidOptionError(optionPath, 'a boolean, a hop count, or a list of CIDRs', trust);
    const hops = Math.min(trust, MAX_HOPS);
    return (remote, headers) => walk(socketAddress(remote), headers, hops, undefined, invalid);
  }
  if (!Array.isArray(trust)) throw new InvalidOptionError(optionPath, 'a boolean, a hop count, or a list of CIDRs', trust);
  const list = new AddressSet(trust, optionPath);
  const trusted = (a: string) => list.has(a);
  return (remote, headers) => {
    const peer = socketAddress(remote);
    return trusted(peer) ? walk(peer, headers, MAX_HOPS, trusted, invalid) : peer;
  };
}

// The last socket address and its canonical form: the requests of one connection (keep-alive) come
// with the same peer string, so most requests skip the parse. Safe to share: the mapping is pure.
let lastRemote = '';
let lastPeer = '';

/** The socket peer's canonical address (`::ffff:127.0.0.1` from a dual-stack socket → `127.0.0.1`). */
function socketAddress(remote: string | undefined): string {
  if (remote === undefined) return 'unknown';
  if (remote === lastRemote) return lastPeer;
  // Not parsable (never seen from a socket): kept as is, the kernel chose it, not the client.
  const peer = canonicalAddress(remote) ?? remote;
  lastRemote = remote;
  lastPeer = peer;
  return peer;
}

/**
 * Walks X-Forwarded-For from the right, at most `limit` hops, from `client` (the socket peer): each
 * hop read becomes the client; stops early at an untrusted hop (that hop is the client) or at an
 * unusable one (the hop before it stays the client).
 */
function walk(client: string, headers: IncomingHttpHeaders, limit: number, trusted: ((a: string) => boolean) | undefined, invalid: () => void): string {
  const raw = headers['x-forwarded-for'];
  if (raw === undefined || raw.length === 0) return client;
  // Node joins repeated X-Forwarded-For headers with ', ' itself; an array comes only from callers.
  const value = typeof raw === 'string' ? raw : raw.join(',');
  if (value.length === 0) return client;
  // Only the right-most hops matter (the ones nearest to us): scan from the end, no split.
  let end = value.length;
  for (let n = 0; n < limit; n++) {
    const comma = end === 0 ? -1 : value.lastIndexOf(',', end - 1);
    const hop = canonicalAddress(value, comma + 1, end);
    if (hop === undefined) {
      invalid();
      return client;
    }
    client = hop;
    if (trusted !== undefined && !trusted(hop)) return hop;
    if (comma === -1) break;
    end = comma;
  }
  return client;
}

function noop(): void {}
