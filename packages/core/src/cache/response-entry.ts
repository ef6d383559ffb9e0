import { createHash } from 'node:crypto';
import type { Reply } from '../pipeline/request-view.js';

/** Header value as stored (lower-case names). */
export type StoredHeaders = Record<string, string | string[]>;

/** A cached response: what a hit replays, plus its lifetimes (clock ms). */
export interface StoredResponse {
  readonly status: number;
  /** Headers to replay: hop-by-hop, Set-Cookie (when allowed), Age, X-Cache and the tag header removed. */
  readonly headers: StoredHeaders;
  readonly body: Buffer;
  readonly etag: string | undefined;
  /** When it was stored. */
  readonly storedAt: number;
  /** Fresh until. */
  readonly freshUntil: number;
  /** May be served stale while one request refreshes it, until. */
  readonly revalidateUntil: number;
  /** May be served stale when the app fails (5xx), until. */
  readonly errorUntil: number;
  readonly tags: readonly string[];
  /** Lower-case request header names of the response's Vary (sorted), if any. */
  readonly vary: readonly string[] | undefined;
  /**
   * The response said `Cache-Control: public` or `s-maxage`: it may be served to requests that carry
   * `Cookie` or `Authorization` (and may have been stored from one).
   */
  readonly shareable: boolean;
  /**
   * The `Host` of the request that stored it, without its port ('' for none): served only to
   * requests with the same one, since the app may have written it into the response (links,
   * redirects). Undefined for a record written before hosts were recorded.
   */
  readonly host: string | undefined;
  /**
   * The route template the request that stored it was counted under (undefined: unmatched, or a
   * record written before routes were recorded). A hit served before this instance's router has
   * handled that route is counted under it rather than as `unmatched`.
   */
  readonly route?: string | undefined;
}

/** A stored response with the replies built from it, reused across hits. */
export interface MemoryEntry extends StoredResponse {
  /** @internal the HIT reply and the Age (s) it was built for. */
  hit?: Reply;
  hitAge?: number;
  /** @internal the 304 reply and its Age. */
  notModified?: Reply;
  notModifiedAge?: number;
}

// Not replayed: per-connection (RFC 9110 §7.6.1), or recomputed per reply.
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'date',
  'age',
  'x-cache',
  'set-cookie',
  // Rate-limit state is the current client's, written fresh before every reply (a HIT included):
  // replaying the stored client's counters would override it.
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'retry-after',
]);

/** The headers of a finished response as they are stored. */
export function storedHeaders(headers: Record<string, number | string | string[] | undefined>, tagHeader: string): StoredHeaders {
  const out: StoredHeaders = {};
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || DROPPED.has(name) || name === tagHeader) continue;
    out[name] = typeof v === 'number' ? String(v) : v;
  }
  return out;
}

/** A strong validator from the body bytes: `"<length hex>-<sha1 base64url, 27 chars>"`. */
export function generateEtag(body: Buffer): string {
  return `"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64url').slice(0, 27)}"`;
}

// What a 304 carries (RFC 9110 §15.4.5): the validators and the caching headers.
const NOT_MODIFIED_HEADERS = ['cache-control', 'content-location', 'etag', 'expires', 'vary', 'last-modified'];

/** The reply of a hit (`x-cache` is HIT or STALE), reused while the Age in seconds is the same. */
export function hitReply(e: MemoryEntry, now: number, outcome: 'HIT' | 'STALE'): Reply {
  const age = ageOf(e, now);
  if (outcome === 'HIT' && e.hit !== undefined && e.hitAge === age) return e.hit;
  const reply: Reply = { status: e.status, headers: { ...e.headers, 'x-cache': outcome, age: String(age) }, body: e.body };
  if (outcome === 'HIT') {
    e.hit = reply;
    e.hitAge = age;
  }
  return reply;
}

/** The 304 answering a matching `If-None-Match`. */
export function notModifiedReply(e: MemoryEntry, now: number): Reply {
  const age = ageOf(e, now);
  if (e.notModified !== undefined && e.notModifiedAge === age) return e.notModified;
  const headers: Reply['headers'] = { 'x-cache': 'HIT', age: String(age) };
  for (const name of NOT_MODIFIED_HEADERS) {
    const v = e.headers[name];
    if (v !== undefined) headers[name] = v;
  }
  e.notModified = { status: 304, headers, body: '' };
  e.notModifiedAge = age;
  return e.notModified;
}

function ageOf(e: StoredResponse, now: number): number {
  const ms = now - e.storedAt;
  return ms <= 0 ? 0 : Math.floor(ms / 1000);
}

/** Bytes an entry holds in memory (body + headers + bookkeeping), for the byte bound. */
export function entrySize(e: StoredResponse, key: string): number {
  let n = e.body.length + key.length + 256;
  for (const name in e.headers) {
    const v = e.headers[name]!;
    n += name.length + (typeof v === 'string' ? v.length : v.join('').length + 8 * v.length);
  }
  for (const t of e.tags) n += t.length + 16;
  return n;
}

/**
 * Serialises an entry for the shared tier: a 4-byte length, the metadata as JSON, then the body.
 * Done once per stored miss, never on a hit.
 */
export function encodeEntry(e: StoredResponse): Buffer {
  const meta = Buffer.from(
    JSON.stringify({
      s: e.status,
      h: e.headers,
      e: e.etag,
      t0: e.storedAt,
      f: e.freshUntil,
      r: e.revalidateUntil,
      x: e.errorUntil,
      g: e.tags,
      v: e.vary,
      p: e.shareable ? 1 : 0,
      o: e.host,
      u: e.route,
    }),
  );
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(meta.length, 0);
  return Buffer.concat([head, meta, e.body]);
}

/** The inverse of {@link encodeEntry}; undefined for bytes that are not an entry. */
export function decodeEntry(buf: Buffer): StoredResponse | undefined {
  try {
    if (buf.length < 4) return undefined;
    const len = buf.readUInt32BE(0);
    if (4 + len > buf.length) return undefined;
    const m = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as {
      s: number;
      h: StoredHeaders;
      e?: string;
      t0: number;
      f: number;
      r: number;
      x: number;
      g: string[];
      v?: string[];
      p?: number;
      o?: string;
      u?: string;
    };
    if (typeof m.s !== 'number' || typeof m.h !== 'object' || m.h === null) return undefined;
    // whoever wrote the record, a cookie is never replayed from the cache
    if ('set-cookie' in m.h) delete m.h['set-cookie'];
    return {
      status: m.s,
      headers: m.h,
      body: Buffer.from(buf.subarray(4 + len)),
      etag: m.e,
      storedAt: m.t0,
      freshUntil: m.f,
      revalidateUntil: m.r,
      errorUntil: m.x,
      tags: Array.isArray(m.g) ? m.g : [],
      vary: m.v,
      shareable: m.p === 1,
      host: typeof m.o === 'string' ? m.o : undefined,
      ...(typeof m.u === 'string' && { route: m.u }),
    };
  } catch {
    return undefined;
  }
}
