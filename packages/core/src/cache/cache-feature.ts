import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Attributes } from '@opentelemetry/api';
import CachePolicy from 'http-cache-semantics';
import type { FeatureHost } from '../pipeline/feature-host.js';
import type { Exchange, ExchangeSlot } from '../pipeline/exchange.js';
import { Stage, type Feature } from '../pipeline/feature.js';
import type { Reply } from '../pipeline/request-view.js';
import { RouteTable } from '../routing/route-table.js';
import { isPromise, type CacheStore } from '../store/contracts.js';
import { OutageGuard, STORE_UNAVAILABLE } from '../store/outage-guard.js';
import { countStoreTransitions } from '../store/store-transitions.js';
import type { Clock } from '../util/clock.js';
import { publish } from '../events/events.js';
import { ObservedCounter, RouteTallies } from '../telemetry/observed-counter.js';
import { ResponseCapture, type CaptureOwner } from './response-capture.js';
import { resolveCacheOptions, type ResolvedCacheOptions, type ResolvedRule } from './cache-options.js';
import { decodeEntry, encodeEntry, generateEtag, hitReply, notModifiedReply, storedHeaders, type MemoryEntry, type StoredResponse } from './response-entry.js';
import { etagMatches, parseVary, primaryKey, requestDirectives, variantKey, type RequestDirectives } from './response-key.js';
import { isMarker, markerFor, ResponseMemory } from './response-memory.js';

/** The attribute the cache outcome adds to `http.server.request.duration`. */
export const CACHE_OUTCOME_ATTRIBUTE = 'autom8.cache.outcome';
const ATTR_HIT: Attributes = Object.freeze({ [CACHE_OUTCOME_ATTRIBUTE]: 'hit' });
const ATTR_MISS: Attributes = Object.freeze({ [CACHE_OUTCOME_ATTRIBUTE]: 'miss' });
const ATTR_STALE: Attributes = Object.freeze({ [CACHE_OUTCOME_ATTRIBUTE]: 'stale' });
const ATTR_BYPASS: Attributes = Object.freeze({ [CACHE_OUTCOME_ATTRIBUTE]: 'bypass' });
const OUTCOMES = [ATTR_HIT, ATTR_MISS, ATTR_STALE, ATTR_BYPASS];

const RESPONSE_STALE = /(?:^|,)\s*(stale-while-revalidate|stale-if-error)\s*=\s*"?(\d+)/g;
const EXPLICIT_FRESHNESS = /(?:^|,)\s*(?:s-maxage|max-age)\s*=/;
const MUST_REVALIDATE = /(?:^|,)\s*must-revalidate/;
// The response says it may be shared whoever asked (RFC 9111 §3.5).
const EXPLICITLY_PUBLIC = /(?:^|,)\s*(?:public\s*(?:,|$)|s-maxage\s*=)/i;
const MAX_TAGS = 32;

/**
 * Puts the cache outcome on the request-duration metric's attributes: the shared frozen object when
 * no other feature added attributes (no allocation), merged otherwise.
 */
function putOutcome(ex: Exchange, outcome: Attributes): void {
  const current = ex.metricAttributes;
  ex.metricAttributes =
    current === undefined || (CACHE_OUTCOME_ATTRIBUTE in current && Object.keys(current).length === 1) ? outcome : { ...current, ...outcome };
}

/** What to invalidate: one key (path and query), every key under a path prefix, or a tag. */
export type InvalidateTarget = { key: string } | { prefix: string } | { tag: string };

/** How many entries an invalidation removed, locally and in the shared tier (null: no tier, or it was down). */
export interface InvalidateResult {
  local: number;
  shared: number | null;
}

/** The response cache's figures in `/metrics` JSON (`features.cache`). */
export interface ResponseCacheSnapshot {
  entries: number;
  bytes: number;
  maxBytes: number;
  tags: number;
  hits: number;
  misses: number;
  stale: number;
  bypassed: number;
  notModified: number;
  stored: number;
  notStored: number;
  tooLarge: number;
  coalesced: number;
  evictions: number;
  sharedHits: number;
  invalidations: number;
  /** Invalidations broadcast by other instances and applied to this local tier. */
  remoteInvalidations: number;
  inflight: number;
  store: (ReturnType<OutageGuard['snapshot']> & { kind: string }) | null;
}

/**
 * How a fill ended, for the requests waiting on it: the complete response the app produced (its
 * entry, and the key of its Vary variant), nothing storable, or aborted (the followers fill again).
 */
type FlightResult = { readonly entry: StoredResponse; readonly at: string } | undefined | typeof ABORTED;
const ABORTED = 'aborted';

/** One key being filled. */
interface Inflight {
  readonly done: Promise<FlightResult>;
  resolve(result: FlightResult): void;
}

/**
 * The response cache (stage CACHE): answers GET/HEAD requests from stored 2xx responses, following
 * RFC 9111 for a shared cache (storability and freshness by http-cache-semantics), with ETag/304,
 * Vary, stale-while-revalidate, stale-if-error, request coalescing, tag/prefix/key invalidation and
 * an optional shared tier (a {@link CacheStore}) behind a local byte-bounded LRU.
 */
export class ResponseCache implements Feature {
  readonly name = 'cache';
  readonly stage = Stage.CACHE;
  private readonly o: ResolvedCacheOptions;
  private readonly clock: Clock;
  private readonly memory: ResponseMemory;
  private readonly rules: RouteTable<ResolvedRule | false> | undefined;
  private readonly inflight = new Map<string, Inflight>();
  /** The request's fill, while the app produces a response to store. */
  private readonly fillOf: ExchangeSlot<Fill>;
  /** The request's outcome (hit, miss, stale, bypass), once decided. */
  private readonly outcomeOf: ExchangeSlot<Attributes>;
  private readonly store: CacheStore | undefined;
  private readonly guard: OutageGuard | undefined;
  private readonly Policy: typeof CachePolicy;
  /** `autom8.cache.requests` by route and outcome (created on first use). */
  private tallies: RouteTallies | undefined;
  /** Bumped by every invalidation; a response begun before one is not stored. */
  generation = 0;
  /** Tells this instance's broadcasts from the others'. */
  private readonly instanceId = randomUUID();
  private stopListening: (() => void) | undefined;
  private readonly n = {
    hits: 0,
    misses: 0,
    stale: 0,
    bypassed: 0,
    notModified: 0,
    stored: 0,
    notStored: 0,
    tooLarge: 0,
    coalesced: 0,
    sharedHits: 0,
    invalidations: 0,
    remoteInvalidations: 0,
  };

  constructor(
    private readonly engine: FeatureHost,
    options: ResolvedCacheOptions,
  ) {
    this.o = options;
    const clock = (this.clock = engine.clock);
    this.memory = new ResponseMemory(options.maxEntries, options.maxBytes, options.maxEntryBytes);
    if (options.routes.length > 0) {
      const table = new RouteTable<ResolvedRule | false>();
      for (const [pattern, rule] of options.routes) table.add(pattern, rule, `cache.routes['${pattern}']`);
      this.rules = table;
    }
    this.store = options.store;
    if (options.store !== undefined) {
      options.store.attach?.(engine.storeHost());
      const name = `cache:${options.store.kind}`;
      this.guard = new OutageGuard({
        name,
        ...options.storeOutage,
        clock,
        logger: engine.logger,
        onTransition: countStoreTransitions(() => engine.meter(), name, options.storeOutage.policy),
      });
      // Other instances' invalidations reach this local tier through the store's broadcast.
      if (typeof options.store.onInvalidation === 'function') {
        this.stopListening = options.store.onInvalidation((message) => this.onRemoteInvalidation(message));
      }
    }
    // http-cache-semantics reads time through now(); give it the engine's clock.
    this.Policy = class ClockedPolicy extends CachePolicy {
      now(): number {
        return clock.now();
      }
    };
    this.fillOf = engine.slot();
    this.outcomeOf = engine.slot();
  }

  onRequest(ex: Exchange): Reply | undefined | Promise<Reply | undefined> {
    const method = ex.method;
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    const rule = this.ruleOf(ex);
    if (rule === undefined) return undefined;
    // `GET http://evil/p` and `/p#x` reach /p's handler, which may reflect the target it was given
    // (links, redirects): never shared with, nor served from, the entry of `/p`.
    if (!ex.plainTarget) return this.bypass(ex);
    const h = ex.headers;
    if (h.range !== undefined) return this.bypass(ex);
    const d = requestDirectives(h);
    if (d !== undefined && d.noStore) return this.bypass(ex);
    // A request with credentials may get a personalised answer (Varnish's default passes it): it
    // shares only entries whose response said they may be shared, unless the route opts in.
    const cred = (h.authorization !== undefined && !rule.allowAuthorization) || (h.cookie !== undefined && !rule.ignoreCookies);
    return this.lookup(ex, primaryKey(ex.path, ex.query), rule, d, cred);
  }

  private lookup(
    ex: Exchange,
    key: string,
    rule: ResolvedRule,
    d: RequestDirectives | undefined,
    cred: boolean,
  ): Reply | undefined | Promise<Reply | undefined> {
    let stale: MemoryEntry | undefined;
    if (d === undefined || !d.noCache) {
      const e = this.memory.lookup(key, ex.headers);
      if (e !== undefined && usableFor(e, ex, cred)) {
        const r = this.serve(ex, e, key, this.clock.now(), d);
        if (r !== undefined) return r;
        stale = e;
      }
    }
    return this.miss(ex, key, rule, d, stale, cred);
  }

  /** A reply from `e` if it may be used for this request now; undefined otherwise. */
  private serve(ex: Exchange, e: MemoryEntry, key: string, now: number, d: RequestDirectives | undefined): Reply | undefined {
    if (now < e.freshUntil && (d === undefined || acceptable(e, now, d))) {
      this.setOutcome(ex, ATTR_HIT);
      routeFromEntry(ex, e);
      this.n.hits++;
      const inm = ex.headers['if-none-match'];
      if (inm !== undefined && e.etag !== undefined && etagMatches(inm, e.etag)) {
        this.n.notModified++;
        return notModifiedReply(e, now);
      }
      return hitReply(e, now, 'HIT');
    }
    // Stale: while one request refreshes the entry, the others get the stale copy at once.
    const staleOk = now < e.revalidateUntil || (d?.maxStale !== undefined && (now - e.freshUntil) / 1000 <= d.maxStale);
    if (staleOk && (this.inflight.has(key) || (d?.maxStale !== undefined && !d.noCache))) return this.staleReply(ex, e, now);
    return undefined;
  }

  private staleReply(ex: Exchange, e: MemoryEntry, now: number): Reply {
    this.setOutcome(ex, ATTR_STALE);
    routeFromEntry(ex, e);
    this.n.stale++;
    return hitReply(e, now, 'STALE');
  }

  private miss(
    ex: Exchange,
    key: string,
    rule: ResolvedRule,
    d: RequestDirectives | undefined,
    stale: MemoryEntry | undefined,
    cred: boolean,
  ): Reply | undefined | Promise<Reply | undefined> {
    // A request with credentials does not wait on another's fill: that response is likely not one it may share.
    const pending = cred ? undefined : this.inflight.get(key);
    if (pending !== undefined) {
      this.n.coalesced++;
      // the leader's client hung up: nothing was stored, so the followers fill again (one leads)
      return pending.done.then((result) => (result === ABORTED ? this.lookup(ex, key, rule, d, false) : this.afterWait(ex, key, d, result)));
    }
    if (d?.onlyIfCached) {
      this.setOutcome(ex, ATTR_MISS);
      this.n.misses++;
      return { status: 504, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-cache': 'MISS' }, body: 'Gateway Timeout: not in cache' };
    }
    const h = ex.headers;
    // A conditional request or a HEAD cannot fill the cache (the app may answer 304, or no body).
    if (ex.method === 'HEAD' || h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) {
      this.setOutcome(ex, ATTR_MISS);
      this.n.misses++;
      if (this.guard === undefined) return undefined;
      return this.fromShared(ex, key, d, cred).then((r) => r ?? undefined);
    }
    if (cred) {
      // fills (if the response says it is public) without making anyone wait on it
      if (this.guard === undefined) return this.startFill(ex, key, rule, undefined, stale, true);
      return this.fromShared(ex, key, d, true).then((r) => r ?? this.startFill(ex, key, rule, undefined, stale, true));
    }
    let resolve!: (result: FlightResult) => void;
    const done = new Promise<FlightResult>((r) => (resolve = r));
    const flight: Inflight = { done, resolve };
    this.inflight.set(key, flight);
    if (this.guard === undefined) return this.startFill(ex, key, rule, flight, stale, false);
    return this.fromShared(ex, key, d, false).then((r) => {
      if (r === undefined) return this.startFill(ex, key, rule, flight, stale, false);
      this.finishFlight(key, flight, undefined);
      return r;
    });
  }

  /**
   * After waiting for another request's fill: a hit (from the cache, or from the response the
   * leader's app completed, which is stored only once it has been sent), or go to the app uncaptured.
   */
  private afterWait(ex: Exchange, key: string, d: RequestDirectives | undefined, result: FlightResult): Reply | undefined {
    const now = this.clock.now();
    let e: MemoryEntry | undefined;
    if (result !== undefined && result !== ABORTED) {
      const vary = result.entry.vary;
      if (vary === undefined || variantKey(key, vary, ex.headers) === result.at) e = result.entry;
    }
    e ??= this.memory.lookup(key, ex.headers);
    if (e !== undefined && usableFor(e, ex, false)) {
      const r = this.serve(ex, e, key, now, d);
      if (r !== undefined) return r;
      if (now < e.errorUntil || now < e.revalidateUntil) return this.staleReply(ex, e, now);
    }
    this.setOutcome(ex, ATTR_MISS);
    this.n.misses++;
    const res = ex.res as unknown as ServerResponse;
    if (typeof res.setHeader === 'function' && !res.headersSent) res.setHeader('x-cache', 'MISS');
    return undefined;
  }

  /** Looks the key up in the shared tier; a usable entry is copied to the local tier and served. */
  private async fromShared(ex: Exchange, key: string, d: RequestDirectives | undefined, cred: boolean): Promise<Reply | undefined> {
    const store = this.store!;
    const h = ex.headers;
    const found = await this.guard!.run(async () => {
      let e = decodeOrUndefined(await store.get(key));
      let at = key;
      if (e !== undefined && isMarker(e)) {
        at = variantKey(key, e.vary!, h);
        e = decodeOrUndefined(await store.get(at));
      }
      return e === undefined || isMarker(e) ? undefined : { e, at };
    });
    if (found === STORE_UNAVAILABLE || found === undefined) return undefined;
    const now = this.clock.now();
    if (now >= Math.max(found.e.errorUntil, found.e.revalidateUntil, found.e.freshUntil)) return undefined;
    this.memory.put(key, found.e, h);
    const e = this.memory.lookup(key, h) ?? found.e;
    const r = now < e.freshUntil && usableFor(e, ex, cred) ? this.serve(ex, e, key, now, d) : undefined;
    if (r !== undefined) this.n.sharedHits++;
    return r;
  }

  private startFill(ex: Exchange, key: string, rule: ResolvedRule, flight: Inflight | undefined, stale: MemoryEntry | undefined, cred: boolean): undefined {
    this.setOutcome(ex, ATTR_MISS);
    this.n.misses++;
    const res = ex.res as unknown as ServerResponse;
    if (typeof res.write !== 'function' || typeof res.end !== 'function' || typeof res.once !== 'function') {
      this.finishFlight(key, flight, undefined);
      return undefined;
    }
    res.setHeader('x-cache', 'MISS');
    const fill = new Fill(this, ex, key, rule, flight, stale, this.generation, cred);
    fill.capture = new ResponseCapture(res, key, this.o.maxEntryBytes, fill);
    // 'finish': every byte was handed to the connection. An aborted exchange emits only 'close'.
    res.once('finish', () => (fill.finished = true));
    this.fillOf.set(ex, fill);
    return undefined;
  }

  /** @internal the app is about to answer a fill request: stale-if-error swap, tag header removal. */
  beforeFirstWrite(fill: Fill, capture: ResponseCapture): boolean {
    const res = capture.res;
    const tags = res.getHeader(this.o.tagHeader);
    if (tags !== undefined) {
      fill.headerTags = (Array.isArray(tags) ? tags.join(',') : String(tags))
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t.length > 0);
      res.removeHeader(this.o.tagHeader);
    }
    const stale = fill.stale;
    if (res.statusCode >= 500 && stale !== undefined) {
      const now = this.clock.now();
      if (now < stale.errorUntil) {
        this.setOutcome(fill.ex, ATTR_STALE);
        this.n.stale++;
        this.n.misses--;
        const r = hitReply(stale, now, 'STALE');
        capture.replace(r.status, r.headers, stale.body);
        return true;
      }
    }
    return false;
  }

  /**
   * @internal the app ended a fill response: build the entry now (so a generated ETag can still go
   * out with the miss), and keep it until the response has been completely sent ({@link settle}).
   */
  complete(fill: Fill, capture: ResponseCapture): void {
    if (fill.settled) return; // the client left before the app ended: nothing to store
    let entry: StoredResponse | undefined;
    try {
      if (!this.neverCached(fill.ex)) entry = this.entryOf(fill, capture);
    } catch (err) {
      this.engine.logger.error({ err: String(err) }, 'autom8: response cache could not build an entry');
    }
    if (entry === undefined) this.n.notStored++;
    else fill.entry = entry;
    // The followers get the complete response now: a leader whose client reads slowly must not hold
    // them until its last byte is sent. The cache itself stores it only then.
    const h = fill.ex.headers;
    this.finishFlight(
      fill.key,
      fill.flight,
      entry === undefined ? undefined : { entry, at: entry.vary === undefined ? fill.key : variantKey(fill.key, entry.vary, h) },
    );
    fill.released = true;
  }

  /**
   * The exchange is over ('close'): store the entry only if the response was completely sent
   * ('finish' came first), then release the requests waiting on it. An exchange the client
   * aborted stores nothing, whatever the app wrote afterwards, and its followers fill again.
   */
  private settle(fill: Fill): void {
    fill.settled = true;
    const built = fill.entry;
    fill.entry = undefined;
    // Built when the body ended; the route the engine counted the request under is known only now.
    const route = fill.ex.finalRoute;
    const entry = built === undefined || route === undefined ? built : { ...built, route };
    const aborted = !fill.finished && !fill.capture!.replaced;
    try {
      if (entry === undefined) return;
      if (aborted || fill.generation !== this.generation) {
        this.n.notStored++;
        return;
      }
      const h = fill.ex.headers;
      this.memory.put(fill.key, entry, h);
      this.n.stored++;
      this.toShared(fill.key, entry, h);
    } finally {
      // not released at end(): the client left first (followers fill again), or stale-if-error answered
      if (!fill.released) this.finishFlight(fill.key, fill.flight, aborted ? ABORTED : undefined);
    }
  }

  private entryOf(fill: Fill, capture: ResponseCapture): StoredResponse | undefined {
    const res = capture.res;
    const status = res.statusCode;
    if (status < 200 || status >= 300 || status === 206 || capture.rawHead || fill.generation !== this.generation) return undefined;
    if (capture.overflow) {
      this.n.tooLarge++;
      return undefined;
    }
    const raw = res.getHeaders() as Record<string, number | string | string[] | undefined>;
    // a body shorter (or longer) than it said it was is not the response
    const declared = raw['content-length'];
    if (declared !== undefined && status !== 204 && Number(declared) !== capture.bytes) return undefined;
    const rule = fill.rule;
    if (raw['set-cookie'] !== undefined && !rule.allowSetCookie) return undefined;
    let vary = parseVary(raw.vary);
    if (this.o.varyByHost && !vary?.includes('host')) vary = [...(vary ?? []), 'host'].sort();
    if (vary !== undefined && vary.includes('*')) return undefined;

    // RFC 9111 storability and freshness, by http-cache-semantics. A response that states no
    // freshness gets the route's TTL, as if it had said `s-maxage`.
    const policyHeaders: Record<string, string> = {};
    for (const name in raw) {
      const v = raw[name];
      if (v !== undefined && name !== 'set-cookie') policyHeaders[name] = Array.isArray(v) ? v.join(', ') : String(v);
    }
    const cc = policyHeaders['cache-control'];
    const shareable = cc !== undefined && EXPLICITLY_PUBLIC.test(cc);
    if (fill.cred && !shareable) return undefined;
    const explicit = (cc !== undefined && EXPLICIT_FRESHNESS.test(cc)) || policyHeaders.expires !== undefined;
    const ttlSec = Math.max(1, Math.ceil(rule.ttl / 1000));
    if (!explicit) policyHeaders['cache-control'] = cc === undefined ? `s-maxage=${ttlSec}` : `${cc}, s-maxage=${ttlSec}`;
    const reqHeaders = { ...fill.ex.headers };
    delete reqHeaders.authorization; // the route allows it, or the response is explicitly public
    const policy = new this.Policy({ method: 'GET', url: fill.key, headers: reqHeaders }, { status, headers: policyHeaders }, { shared: true });
    if (!policy.storable()) return undefined;
    const maxAge = policy.maxAge();
    if (maxAge <= 0) return undefined;
    const now = this.clock.now();
    const freshMs = explicit ? (maxAge - policy.age()) * 1000 : rule.ttl;
    if (freshMs <= 0) return undefined;

    let swr = rule.staleWhileRevalidate;
    let sie = rule.staleIfError;
    if (cc !== undefined) {
      if (MUST_REVALIDATE.test(cc)) swr = sie = 0;
      else {
        RESPONSE_STALE.lastIndex = 0;
        for (let m = RESPONSE_STALE.exec(cc); m !== null; m = RESPONSE_STALE.exec(cc)) {
          if (m[1] === 'stale-while-revalidate') swr = Number(m[2]) * 1000;
          else sie = Number(m[2]) * 1000;
        }
      }
    }
    const body = capture.body();
    const headers = storedHeaders(raw, this.o.tagHeader);
    let etag = typeof raw.etag === 'string' ? raw.etag : undefined;
    if (etag === undefined && this.o.etag) {
      etag = generateEtag(body);
      headers.etag = etag;
      if (!res.headersSent) res.setHeader('etag', etag); // sent in one piece: the miss carries it too
    }
    if (headers['content-length'] === undefined && status !== 204) headers['content-length'] = String(body.length);
    const freshUntil = now + freshMs;
    return {
      status,
      headers,
      body,
      etag,
      storedAt: now,
      freshUntil,
      revalidateUntil: freshUntil + swr,
      errorUntil: freshUntil + sie,
      tags: this.tagsOf(fill),
      vary,
      shareable,
      host: hostWithoutPort(fill.ex.headers.host ?? ''),
    };
  }

  private tagsOf(fill: Fill): string[] {
    const t = fill.rule.tags;
    const fromRule = t === undefined ? [] : typeof t === 'function' ? safeTags(() => t(fill.ex)) : t;
    const all = fill.headerTags === undefined ? [...fromRule] : [...fromRule, ...fill.headerTags];
    return all.length > MAX_TAGS ? all.slice(0, MAX_TAGS) : all;
  }

  /** Writes an entry to the shared tier in the background (through the outage guard, never fatal). */
  private toShared(key: string, e: StoredResponse, headers: Exchange['req']['headers']): void {
    const store = this.store;
    if (store === undefined) return;
    const staleUntil = Math.max(e.revalidateUntil, e.errorUntil);
    const writes: [string, StoredResponse][] =
      e.vary === undefined
        ? [[key, e]]
        : [
            [key, markerFor(e)],
            [variantKey(key, e.vary, headers), e],
          ];
    void this.guard!.run(async () => {
      for (const [k, entry] of writes) {
        const r = store.set(k, { value: encodeEntry(entry), expiresAt: entry.freshUntil, staleUntil, tags: entry.tags });
        if (isPromise(r)) await r;
      }
    });
  }

  private finishFlight(key: string, flight: Inflight | undefined, result: FlightResult): void {
    if (flight === undefined) return;
    if (this.inflight.get(key) === flight) this.inflight.delete(key);
    flight.resolve(result);
  }

  /**
   * The route the router matched has a `false` rule, though the request's raw path did not (the
   * router also dispatches `/PRIVATE` or `http://host/private` to `/private`): not stored.
   */
  private neverCached(ex: Exchange): boolean {
    // Koa's adapter reports the route at the end of the request; the router has run by now
    const route = ex.route ?? ex.lateRoute?.(ex);
    return this.rules !== undefined && route !== undefined && route !== ex.path && this.rules.match('GET', route) === false;
  }

  private bypass(ex: Exchange): undefined {
    this.setOutcome(ex, ATTR_BYPASS);
    this.n.bypassed++;
    return undefined;
  }

  /** Keeps the request's outcome and puts it on the request-duration metric. */
  private setOutcome(ex: Exchange, outcome: Attributes): void {
    this.outcomeOf.set(ex, outcome);
    putOutcome(ex, outcome);
  }

  private ruleOf(ex: Exchange): ResolvedRule | undefined {
    if (this.rules !== undefined) {
      const r = this.rules.lookup(ex, 'GET');
      if (r === false) return undefined;
      if (r !== undefined) return r;
    }
    return this.o.global ? this.o.defaults : undefined;
  }

  onResponse(ex: Exchange): void {
    const outcome = this.outcomeOf.get(ex);
    if (outcome === undefined) return;
    const fill = this.fillOf.get(ex);
    if (fill !== undefined) {
      this.fillOf.set(ex, undefined);
      this.settle(fill);
    }
    this.count(ex, outcome[CACHE_OUTCOME_ATTRIBUTE]);
  }

  /** OTel counter `autom8.cache.requests` by outcome and route. */
  private count(ex: Exchange, outcome: unknown): void {
    const meter = this.tallies === undefined ? this.engine.meter() : undefined;
    if (this.tallies === undefined && meter === undefined) return;
    this.tallies ??= new RouteTallies(
      new ObservedCounter(meter!, 'autom8.cache.requests', {
        description: 'Requests the response cache decided on, by outcome (hit, miss, stale, bypass).',
        unit: '{request}',
      }),
      (route) => OUTCOMES.map((o) => Object.freeze(route === '' ? { ...o } : { ...o, 'http.route': route })),
    );
    const tallies = this.tallies.of(ex.route ?? this.engine.knownRoute(ex) ?? '');
    const i = outcome === 'hit' ? 0 : outcome === 'miss' ? 1 : outcome === 'stale' ? 2 : 3;
    tallies[i]!.n++;
  }

  private onRemoteInvalidation(message: string): void {
    let m: { from?: unknown; target?: unknown };
    try {
      m = JSON.parse(message) as { from?: unknown; target?: unknown };
    } catch {
      return;
    }
    if (m.from === this.instanceId || m.target === null || typeof m.target !== 'object') return;
    this.n.remoteInvalidations++;
    this.invalidateLocal(m.target as InvalidateTarget);
  }

  /** Deletes matching entries from the local tier; undefined for a malformed target. */
  private invalidateLocal(target: InvalidateTarget): number | undefined {
    this.generation++;
    if ('tag' in target && typeof target.tag === 'string') return this.memory.deleteTag(target.tag);
    if ('prefix' in target && typeof target.prefix === 'string') return this.memory.deletePrefix(target.prefix);
    if ('key' in target && typeof target.key === 'string') return this.memory.deleteKey(normalizeKey(target.key));
    return undefined;
  }

  /**
   * Removes entries: `{ key: '/products/1?lang=en' }` (one path and query, all its Vary variants),
   * `{ prefix: '/products/' }`, or `{ tag: 'product:1' }`; locally and in the shared tier.
   */
  async invalidate(target: InvalidateTarget): Promise<InvalidateResult> {
    const local = target === null || typeof target !== 'object' ? undefined : this.invalidateLocal(target);
    if (local === undefined) throw new TypeError('autom8: invalidate() expects { key }, { prefix } or { tag }');
    this.n.invalidations++;
    let shared: (() => Promise<number>) | undefined;
    const store = this.store;
    if ('tag' in target) {
      if (store !== undefined) shared = async () => store.deleteByTag(target.tag);
    } else if ('prefix' in target) {
      if (store?.deleteByPrefix !== undefined) shared = async () => store.deleteByPrefix!(target.prefix);
    } else {
      const key = normalizeKey(target.key);
      if (store !== undefined) {
        shared = async () => {
          const marker = decodeOrUndefined(await store.get(key));
          await store.delete(key);
          // variants of a Vary marker are tagged with nothing we can find them by: delete by prefix when possible
          if (marker !== undefined && isMarker(marker) && store.deleteByPrefix !== undefined) return 1 + (await store.deleteByPrefix(`${key}\n`));
          return 1;
        };
      }
    }
    let sharedCount: number | null = null;
    if (shared !== undefined) {
      const r = await this.guard!.run(shared);
      sharedCount = r === STORE_UNAVAILABLE ? null : r;
    }
    const json = JSON.stringify(target);
    if (store?.publishInvalidation !== undefined) {
      const message = `{"from":"${this.instanceId}","target":${json}}`;
      await this.guard!.run(async () => store.publishInvalidation!(message));
    }
    publish('cache.invalidated', this.engine.name, { target: json, local, shared: sharedCount });
    return { local, shared: sharedCount };
  }

  /** Empties the local tier (not the shared one). */
  clear(): void {
    this.generation++;
    this.memory.clear();
  }

  snapshot(): ResponseCacheSnapshot {
    return {
      entries: this.memory.size,
      bytes: this.memory.bytes,
      maxBytes: this.o.maxBytes,
      tags: this.memory.tagCount,
      ...this.n,
      evictions: this.memory.evictions,
      inflight: this.inflight.size,
      store: this.guard === undefined ? null : { kind: this.store!.kind, ...this.guard.snapshot() },
    };
  }

  close(): void {
    this.stopListening?.();
    this.stopListening = undefined;
    for (const f of this.inflight.values()) f.resolve(undefined);
    this.inflight.clear();
    this.memory.clear();
  }
}

/** One request filling the cache: its capture and what storing it needs. */
class Fill implements CaptureOwner {
  capture: ResponseCapture | undefined;
  headerTags: string[] | undefined;
  /** Built when the app ended the response; stored once the response has finished. */
  entry: StoredResponse | undefined = undefined;
  /** The response emitted 'finish'. */
  finished = false;
  /** The exchange is over ('close'). */
  settled = false;
  /** The requests waiting on it were released. */
  released = false;
  constructor(
    private readonly cache: ResponseCache,
    readonly ex: Exchange,
    readonly key: string,
    readonly rule: ResolvedRule,
    /** The coalescing flight it leads; none for a request with credentials. */
    readonly flight: Inflight | undefined,
    readonly stale: MemoryEntry | undefined,
    readonly generation: number,
    /** The request carried credentials: only an explicitly public response may be stored. */
    readonly cred: boolean,
  ) {}
  beforeFirstWrite(capture: ResponseCapture): boolean {
    return this.cache.beforeFirstWrite(this, capture);
  }
  complete(capture: ResponseCapture): void {
    this.cache.complete(this, capture);
  }
}

/** A `{ key }` target as stored: path plus the normalised query. */
function normalizeKey(key: string): string {
  const q = key.indexOf('?');
  return q === -1 ? key : primaryKey(key.slice(0, q), key.slice(q + 1));
}

/**
 * Whether `e` may answer this request at all: a request with credentials only an explicitly public
 * entry; any request only an entry stored for the same Host (an unkeyed Host reflected in the body
 * would otherwise let one request poison the entry for every host). The port is not compared, so
 * instances reached on different ports share the shared tier.
 */
function usableFor(e: StoredResponse, ex: Exchange, cred: boolean): boolean {
  return (!cred || e.shareable) && (e.host === undefined || sameHost(e.host, ex.headers.host ?? ''));
}

/** True when `host` is `stored`, or `stored` plus a `:port`; no allocation. */
function sameHost(stored: string, host: string): boolean {
  if (!host.startsWith(stored)) return false;
  return host.length === stored.length || portFrom(host, stored.length);
}

/** True when `host` from `at` is `:` and one or more digits. */
function portFrom(host: string, at: number): boolean {
  if (host.charCodeAt(at) !== 58 /* : */ || at + 1 === host.length) return false;
  for (let i = at + 1; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** `host` without a trailing `:port` (`[::1]:80` → `[::1]`). */
/**
 * A reply from the cache never reaches the router: the request is counted under the route its
 * entry was filled for, which this instance's router may not have handled yet (a fleet's shared tier).
 */
function routeFromEntry(ex: Exchange, e: StoredResponse): void {
  if (ex.route === undefined && e.route !== undefined) ex.setRoute(e.route);
}

function hostWithoutPort(host: string): string {
  const i = host.lastIndexOf(':');
  return i !== -1 && portFrom(host, i) ? host.slice(0, i) : host;
}

function acceptable(e: StoredResponse, now: number, d: RequestDirectives): boolean {
  if (d.maxAge !== undefined && (now - e.storedAt) / 1000 > d.maxAge) return false;
  if (d.minFresh !== undefined && (e.freshUntil - now) / 1000 < d.minFresh) return false;
  return true;
}

function decodeOrUndefined(r: { value: Buffer } | undefined): StoredResponse | undefined {
  return r === undefined ? undefined : decodeEntry(r.value);
}

function safeTags(fn: () => readonly string[]): readonly string[] {
  try {
    const t = fn();
    return Array.isArray(t) ? (t as unknown[]).filter((x): x is string => typeof x === 'string' && x.length > 0) : [];
  } catch {
    return [];
  }
}

/** The `cache` feature factory (registered in features.ts). */
export function createResponseCacheFeature(section: unknown, engine: FeatureHost): Feature | undefined {
  const options = resolveCacheOptions(section);
  return options === undefined ? undefined : new ResponseCache(engine, options);
}
