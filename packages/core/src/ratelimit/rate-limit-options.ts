import type { FeatureHost } from '../pipeline/feature-host.js';
import type { Exchange } from '../pipeline/exchange.js';
import { parsePattern } from '../routing/route-table.js';
import type { LimitPolicy, RateLimitStore } from '../store/contracts.js';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { capacityOf } from './algorithms.js';
import { compileClientKey, type ClientKeyFn, type ClientKeySpec } from './client-key.js';
import { resolveHeaderFormats, type HeaderFormat } from './headers.js';
import { MemoryRateLimitStore } from './memory-store.js';
import { checkPolicyName, checkStoreServes, resolvePolicy, type LimitSpec } from './policy.js';

/** One route's entry in `rateLimit.routes`. */
export interface RouteLimitSpec extends LimitSpec {
  /** Policy name in headers, keys and metrics. Default `'<METHOD>:<path>'`, e.g. `'POST:/login'`. */
  name?: string;
  /** Units one request to this route costs, against the global limit and the route's own. Default 1. */
  cost?: number;
}

/**
 * The `rateLimit` option of `autom8Express` / `autom8Koa`. `true` turns it on with the defaults: a
 * token bucket of 5,000 requests per minute per client (burst 5,000).
 */
export interface RateLimitOptions extends LimitSpec {
  /** Default true (when the section is present). */
  enabled?: boolean;
  /** Name of the global policy. Default `'default'`. */
  name?: string;
  /** Apply the global limit to every request. Default true; false keeps only the per-route limits. */
  global?: boolean;
  /** Per-route limits and costs, keyed by `'METHOD /template'` (`'POST /login'`, `'/search/*'`). */
  routes?: Record<string, RouteLimitSpec>;
  /** Who a request counts against. Default `'ip'`. */
  key?: ClientKeySpec;
  /** IPv6 addresses are grouped by this prefix length (multiple of 16; 128 = none). Default 64. */
  ipv6Prefix?: number;
  /** Requests for which this returns true are not counted or limited. */
  skip?: (ex: Exchange) => boolean;
  /** Header fields to send. Default `'draft-10'`. */
  headers?: HeaderFormat | HeaderFormat[] | false;
  /** Count, log and report decisions but reject nothing (size limits on real traffic first). */
  dryRun?: boolean;
  /** Counter store. Default: the memory store. `@autom8/redis` has one for fleets. */
  store?: RateLimitStore;
  /** Most client keys in the default memory store. Default 100 000. */
  maxKeys?: number;
}

/** The global default contract. */
export const DEFAULT_RATE = 5000;
export const DEFAULT_PER_MS = 60_000;

/** One limit as the feature runs it. */
export interface ResolvedLimit {
  readonly policy: LimitPolicy;
  /** The route template (path part of the pattern) of a per-route limit; undefined for the global one. */
  readonly route: string | undefined;
}

/** The limits and cost that apply to the requests of one route (or to all others). */
export interface ResolvedEntry {
  readonly limits: readonly ResolvedLimit[];
  readonly cost: number;
}

export interface ResolvedRateLimit {
  readonly dryRun: boolean;
  readonly store: RateLimitStore;
  readonly ownsStore: boolean;
  readonly keyOf: ClientKeyFn;
  readonly skip: ((ex: Exchange) => boolean) | undefined;
  readonly headers: readonly HeaderFormat[];
  /** For requests matching no entry of `routes`. */
  readonly fallback: ResolvedEntry;
  readonly routes: readonly { pattern: string; entry: ResolvedEntry }[];
}

const KEYS = [
  'enabled',
  'name',
  'global',
  'routes',
  'key',
  'ipv6Prefix',
  'skip',
  'headers',
  'dryRun',
  'store',
  'maxKeys',
  'algorithm',
  'rate',
  'per',
  'burst',
  'maxDelayMs',
];
const ROUTE_KEYS = ['name', 'cost', 'algorithm', 'rate', 'per', 'burst', 'maxDelayMs'];

/** Validates the `rateLimit` section; undefined when it turns the feature off. */
export function resolveRateLimitOptions(section: unknown, engine: FeatureHost): ResolvedRateLimit | undefined {
  if (section === undefined || section === false) return undefined;
  const o = section === true ? {} : v.optionalObject('rateLimit', section)!;
  v.knownKeys('rateLimit', o, KEYS);
  if (!v.boolean('rateLimit.enabled', o.enabled, true)) return undefined;

  const globalName = checkPolicyName('rateLimit.name', o.name ?? 'default');
  const global = resolvePolicy(globalName, 'rateLimit', o, { rate: DEFAULT_RATE, perMs: DEFAULT_PER_MS });
  const useGlobal = v.boolean('rateLimit.global', o.global, true);
  const globalLimit: ResolvedLimit = { policy: global, route: undefined };
  const names = new Set([globalName]);

  const routes: { pattern: string; entry: ResolvedEntry }[] = [];
  // Each limit in use and its option path, for the store's say once the store is known.
  const inUse: [LimitPolicy, string][] = useGlobal ? [[global, 'rateLimit']] : [];
  const r = v.optionalObject('rateLimit.routes', o.routes) ?? {};
  for (const pattern of Object.keys(r)) {
    const at = `rateLimit.routes[${JSON.stringify(pattern)}]`;
    const { method, path } = parsePattern(pattern, at);
    const spec = v.optionalObject(at, r[pattern]);
    if (spec === undefined) throw new InvalidOptionError(at, 'an object { rate, per, cost, ... }', r[pattern]);
    v.knownKeys(at, spec, ROUTE_KEYS);
    const cost = v.positiveInteger(`${at}.cost`, spec.cost, 1);
    const limits: ResolvedLimit[] = [];
    if (spec.rate !== undefined) {
      const name = checkPolicyName(`${at}.name`, spec.name ?? (method === '*' ? path : `${method}:${path}`).slice(0, 64));
      if (names.has(name)) throw new InvalidOptionError(`${at}.name`, 'a policy name not used twice', name);
      names.add(name);
      const policy = resolvePolicy(name, at, spec, { rate: 1, perMs: DEFAULT_PER_MS });
      checkCost(`${at}.cost`, cost, policy);
      limits.push({ policy, route: path });
      inUse.push([policy, at]);
    } else if (spec.algorithm !== undefined || spec.per !== undefined || spec.burst !== undefined || spec.name !== undefined) {
      throw new InvalidOptionError(`${at}.rate`, 'a positive number when the route has its own limit', undefined);
    }
    if (useGlobal) {
      checkCost(`${at}.cost`, cost, global);
      // The route's own (smaller) limit is consumed first: a request it refuses costs nothing globally.
      limits.push(globalLimit);
    }
    routes.push({ pattern, entry: { limits, cost } });
  }

  let store: RateLimitStore;
  let ownsStore = false;
  if (o.store !== undefined) {
    const s = o.store as RateLimitStore;
    if (typeof s !== 'object' || s === null || typeof s.consume !== 'function' || typeof s.reset !== 'function') {
      throw new InvalidOptionError('rateLimit.store', 'a RateLimitStore (consume, reset)', o.store);
    }
    if (o.maxKeys !== undefined) throw new InvalidOptionError('rateLimit.maxKeys', 'unset when rateLimit.store is given (configure the store)', o.maxKeys);
    store = s;
  } else {
    store = new MemoryRateLimitStore({ maxKeys: o.maxKeys as number | undefined, clock: engine.clock }, 'rateLimit');
    ownsStore = true;
  }
  for (const [policy, at] of inUse) checkStoreServes(store, policy, at);

  const ipv6Prefix = v.positiveInteger('rateLimit.ipv6Prefix', o.ipv6Prefix, 64);
  if (ipv6Prefix % 16 !== 0 || ipv6Prefix > 128) throw new InvalidOptionError('rateLimit.ipv6Prefix', 'a multiple of 16 up to 128', ipv6Prefix);

  return {
    dryRun: v.boolean('rateLimit.dryRun', o.dryRun, false),
    store,
    ownsStore,
    keyOf: compileClientKey(o.key, ipv6Prefix, engine, 'rateLimit.key'),
    skip: v.optionalFunction<(ex: Exchange) => boolean>('rateLimit.skip', o.skip),
    headers: resolveHeaderFormats('rateLimit.headers', o.headers),
    fallback: { limits: useGlobal ? [globalLimit] : [], cost: 1 },
    routes,
  };
}

function checkCost(path: string, cost: number, p: LimitPolicy): void {
  const bucket = p.algorithm === 'token-bucket' || p.algorithm === 'gcra' || (p.algorithm === 'leaky-bucket' && !p.maxDelayMs);
  const capacity = bucket ? capacityOf(p) : p.limit;
  if (cost > capacity) throw new InvalidOptionError(path, `at most the capacity (${capacity}) of policy "${p.name}"`, cost);
}
