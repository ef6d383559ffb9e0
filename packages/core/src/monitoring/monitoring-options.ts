import type { IncomingHttpHeaders } from 'node:http';
import type { RequestView } from '../pipeline/request-view.js';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';

/** What `monitoring.authorize` sees of a request to a monitoring endpoint. */
export interface MonitoringRequest {
  /** Upper-case method (`_OTHER` for methods autom8 does not know). */
  readonly method: string;
  /** Path without the query string, as received. */
  readonly path: string;
  /** Raw query string without `?` ('' when none). */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  /** The socket (peer address, TLS). */
  readonly socket: RequestView['socket'];
  /** The client's address under the `trustProxy` rule. */
  readonly clientAddress: string;
}

/**
 * Decides whether a request may read the monitoring endpoints: true lets it through, false answers
 * 401. A throw or a rejection answers 500 (fail closed) and is logged.
 */
export type MonitoringAuthorize = (request: MonitoringRequest) => boolean | Promise<boolean>;

/** The `monitoring` option. */
export interface MonitoringOptions {
  /** Serve `GET {prefix}/metrics`, `GET {prefix}/metrics/system` and the features' endpoints. Default true. */
  enabled?: boolean;
  /** Path prefix of the monitoring endpoints. Default `'/api/v1'`. */
  prefix?: string;
  /**
   * Answer the endpoints on the app's own requests. Default true. False: the app's port never
   * answers them (its requests go to the app), and `engine.monitoringHandler()` serves them on a
   * listener of your own, e.g. `http.createServer(mw.monitoringHandler()).listen(9464)`.
   */
  serveOnApp?: boolean;
  /**
   * Who may read the endpoints (every one of them, the dashboard and features' endpoints included).
   * Default: everyone. Checked before anything else is computed.
   * @example `authorize: (r) => r.headers.authorization === 'Bearer ' + process.env.METRICS_TOKEN`
   */
  authorize?: MonitoringAuthorize;
  /** `WWW-Authenticate` value sent with a 401. Default `'Bearer realm="autom8"'`. */
  challenge?: string;
  /**
   * How long one computed answer (the serialized JSON) is served to every reader, ms; 0 computes
   * each time. Default 1000, at most 3,600,000.
   */
  cacheMs?: number;
  /** Routes in a `/metrics` answer when the request gives no `?limit=`, busiest first. Default 50. */
  routeLimit?: number;
  /** Highest `?limit=` a request may ask for. Default 1000. */
  maxRouteLimit?: number;
  /**
   * One token bucket shared by every monitoring request (never by the app's clients): `perSecond`
   * refill, `burst` capacity; 429 beyond. Default `{ perSecond: 10, burst: 20 }`; `false`: none.
   */
  rateLimit?: { perSecond?: number; burst?: number } | false;
  /** Show exemplars (trace and span ids of the slowest requests) in `/metrics`. Default true. */
  exemplars?: boolean;
}

/** The `monitoring` option after validation. */
export interface ResolvedMonitoringOptions {
  enabled: boolean;
  prefix: string;
  serveOnApp: boolean;
  authorize: MonitoringAuthorize | undefined;
  challenge: string;
  cacheMs: number;
  routeLimit: number;
  maxRouteLimit: number;
  rateLimit: { perSecond: number; burst: number } | false;
  exemplars: boolean;
}

const KEYS = ['enabled', 'prefix', 'serveOnApp', 'authorize', 'challenge', 'cacheMs', 'routeLimit', 'maxRouteLimit', 'rateLimit', 'exemplars'];

/** Validates the `monitoring` section; throws naming the offending option. */
export function resolveMonitoringOptions(section: unknown): ResolvedMonitoringOptions {
  const mon = v.optionalObject('monitoring', section) ?? {};
  v.knownKeys('monitoring', mon, KEYS);
  let prefix = v.string('monitoring.prefix', mon.prefix, '/api/v1');
  if (!prefix.startsWith('/') || /[?#\s]/.test(prefix)) throw new InvalidOptionError('monitoring.prefix', "a path starting with '/'", prefix);
  if (prefix.length > 1 && prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  if (prefix === '/') prefix = '';
  const challenge = v.string('monitoring.challenge', mon.challenge, 'Bearer realm="autom8"');
  // A header value: no line breaks or other control characters.
  // eslint-disable-next-line no-control-regex -- control characters are what is rejected
  if (/[\0-\x1f\x7f]/.test(challenge)) throw new InvalidOptionError('monitoring.challenge', 'a header value without control characters', challenge);
  const routeLimit = v.positiveInteger('monitoring.routeLimit', mon.routeLimit, 50);
  const maxRouteLimit = v.positiveInteger('monitoring.maxRouteLimit', mon.maxRouteLimit, Math.max(1000, routeLimit));
  if (maxRouteLimit < routeLimit)
    throw new InvalidOptionError('monitoring.maxRouteLimit', `an integer of at least monitoring.routeLimit (${routeLimit})`, maxRouteLimit);
  return {
    enabled: v.boolean('monitoring.enabled', mon.enabled, true),
    prefix,
    serveOnApp: v.boolean('monitoring.serveOnApp', mon.serveOnApp, true),
    authorize: v.optionalFunction<MonitoringAuthorize>('monitoring.authorize', mon.authorize),
    challenge,
    cacheMs: v.numberInRange('monitoring.cacheMs', mon.cacheMs, 1000, 0, 3_600_000),
    routeLimit,
    maxRouteLimit,
    rateLimit: resolveRateLimit(mon.rateLimit),
    exemplars: v.boolean('monitoring.exemplars', mon.exemplars, true),
  };
}

function resolveRateLimit(input: unknown): { perSecond: number; burst: number } | false {
  if (input === false) return false;
  const r = v.optionalObject('monitoring.rateLimit', input) ?? {};
  v.knownKeys('monitoring.rateLimit', r, ['perSecond', 'burst']);
  const perSecond = v.positiveNumber('monitoring.rateLimit.perSecond', r.perSecond, 10);
  const burst = v.numberInRange('monitoring.rateLimit.burst', r.burst, Math.max(20, Math.ceil(perSecond)), 1, Number.MAX_SAFE_INTEGER);
  return { perSecond, burst };
}
