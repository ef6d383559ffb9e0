import { announceRoute, type Autom8, type Exchange } from '@autom8/core/adapter';

const kBase = Symbol('autom8.express.base');
const kTemplate = Symbol('autom8.express.template');
/** Where the accessor keeps the value Express assigned to `req.route` (a pre-shaped slot too). */
export const kRoute = Symbol('autom8.express.route');

interface RouteLike {
  path?: unknown;
  [kBase]?: string;
  [kTemplate]?: string;
}
interface DispatchingRequest {
  method?: string;
  baseUrl?: string;
  params?: Record<string, string>;
  route?: RouteLike;
  [kRoute]?: unknown;
}

/**
 * Learns route templates from Express through its documented surface only: Express assigns
 * `req.route` when a route dispatches, and an app's request prototype (`app.request`) is where
 * Express's guide ("Overriding the Express API") has apps define accessors. A `route` accessor
 * there sees that assignment while `req.baseUrl` still holds the mount prefix of the router that
 * matched (by the end of the request Express may have restored it, which is how other
 * instrumentations lose nested-router prefixes), and keeps the full template on the Route object.
 *
 * Per app and reversible: the accessor goes on the app's own prototype, counted per autom8
 * instance using it, and is removed when the last one closes. Where it cannot go (the app defines
 * `route` itself, or the route is in a sub-app, whose requests have the sub-app's prototype),
 * `req.route` is read at the end of the request instead, with the `baseUrl` it has then.
 */
export class RouteCapture {
  private proto: object | undefined = undefined;
  private tried = false;

  /** Installs the accessor on `app.request` (once per instance; later calls do nothing). */
  attach(app: unknown): void {
    if (this.tried) return;
    this.tried = true;
    const proto = (app as { request?: unknown } | undefined)?.request;
    if (typeof proto !== 'object' || proto === null) return;
    let uses = installed.get(proto);
    if (uses === undefined) {
      // The app's own `route` property (or one higher on its chain) is left alone.
      if ('route' in proto) return;
      Object.defineProperty(proto, 'route', { configurable: true, enumerable: false, get: getRoute, set: setRoute });
      uses = 0;
    }
    installed.set(proto, uses + 1);
    this.proto = proto;
  }

  /** Removes the accessor when no other autom8 instance on the same app uses it. Idempotent. */
  detach(): void {
    const proto = this.proto;
    if (proto === undefined) return;
    this.proto = undefined;
    const uses = (installed.get(proto) ?? 1) - 1;
    if (uses > 0) {
      installed.set(proto, uses);
      return;
    }
    installed.delete(proto);
    // Only ours: if the app replaced it since, that one stays.
    if (Object.getOwnPropertyDescriptor(proto, 'route')?.set === setRoute) delete (proto as { route?: unknown }).route;
  }
}

/** Request prototypes carrying the accessor → how many autom8 instances use it. */
const installed = new WeakMap<object, number>();

function getRoute(this: DispatchingRequest): unknown {
  return this[kRoute];
}

function setRoute(this: DispatchingRequest, route: unknown): void {
  this[kRoute] = route;
  if (typeof route !== 'object' || route === null) return;
  try {
    const r = route as RouteLike;
    const base = this.baseUrl ?? '';
    if (base !== r[kBase] || r[kTemplate] === undefined) {
      r[kBase] = base;
      r[kTemplate] = routeTemplate(base, r.path, this.params);
    }
    const template = r[kTemplate];
    // The request whose chain autom8 is running synchronously gets its route now; a dispatch that
    // runs later (after an await in some middleware) is counted, and its request reads `req.route`
    // at the end instead (see dispatchedRoute).
    const ex = dispatch.current;
    if (ex !== undefined && ex.req === (this as unknown)) ex.setRoute(template);
    else dispatch.unattributed = (dispatch.unattributed + 1) & 0x3fffffff; // stays a small integer
    // An outer OTel http instrumentation ends its span on 'finish', before autom8's end: tell it now.
    announceRoute(this, template);
  } catch {
    // Express's dispatch must go on whatever happens here; the end-of-request read still names it.
  }
}

/**
 * Route dispatches handed to the request they belong to without touching it: the adapter names the
 * exchange whose middleware chain it is about to run synchronously (`current`), and a dispatch for
 * any other request (one that resumed after an await) is only counted (`unattributed`).
 */
export const dispatch: { current: Exchange | undefined; unattributed: number } = { current: undefined, unattributed: 0 };

/** Runs the rest of the chain in the request's OTel context, with route dispatches attributed to `ex`. */
export function runDispatching(engine: Autom8, ex: Exchange, proceed: () => unknown): void {
  const outer = dispatch.current;
  // A second autom8 on the same request (nested apps): neither takes the dispatch, both read it late.
  dispatch.current = outer !== undefined && outer.req === ex.req ? undefined : ex;
  try {
    engine.run(ex, proceed);
  } finally {
    dispatch.current = outer;
  }
}

/** Marks the start of an exchange for {@link dispatchedRoute} (adapters call it from begin). */
export function watchDispatches(ex: Exchange): void {
  ex.lateRoute = dispatchedRoute;
  ex.context = dispatch.unattributed;
}

/**
 * At the end of a request: the template of the route Express dispatched last, if any. When every
 * dispatch the accessor saw since the request began was attributed and one was this request's,
 * `ex.route` already holds it; otherwise `req.route` tells (with the template the accessor kept on
 * the Route object, or, for a route the accessor did not see, `req.baseUrl` as it is now).
 */
function dispatchedRoute(ex: Exchange): string | undefined {
  if (ex.route !== undefined && ex.context === dispatch.unattributed) return ex.route;
  const req = ex.req as DispatchingRequest;
  const route = req.route;
  if (typeof route !== 'object' || route === null) return ex.route;
  return route[kTemplate] ?? routeTemplate(req.baseUrl ?? '', route.path, req.params);
}

/**
 * `baseUrl` + the route's path. For a router mounted on a parametric path
 * (`app.use('/orgs/:org', router)`), `baseUrl` holds values (`/orgs/acme`); values present in
 * `req.params` (the router needs `mergeParams: true` to see its mount's params) become `:name` again.
 */
export function routeTemplate(baseUrl: string, path: unknown, params: Record<string, string> | undefined): string {
  let base = baseUrl;
  if (base.length > 0 && params !== undefined) base = restoreParams(base, params);
  const p = typeof path === 'string' ? path : Array.isArray(path) ? path.map(String).join('|') : String(path);
  if (base.length === 0) return p;
  return p === '/' ? base : base + p;
}

function restoreParams(base: string, params: Record<string, string>): string {
  let keys: string[] | undefined;
  for (const k in params) (keys ??= []).push(k);
  if (keys === undefined) return base;
  const segments = base.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    for (const k of keys) {
      const value = params[k];
      if (value !== undefined && value.length > 0 && (seg === value || seg === encodeURIComponent(value))) {
        segments[i] = `:${k}`;
        break;
      }
    }
  }
  return segments.join('/');
}
