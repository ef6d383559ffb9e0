import { announceRoute, type Autom8, type Exchange } from '@autom8/core/adapter';

const kPatched = Symbol('autom8.express.dispatchPatched');
const kBase = Symbol('autom8.express.base');
const kTemplate = Symbol('autom8.express.template');

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
}
interface LayerLike {
  route?: RouteLike;
  handle?: { stack?: LayerLike[] };
}

/**
 * Learns route templates from Express's router without touching request objects.
 *
 * Express's router hands a matched route layer the request (`Layer.prototype.handle_request` in
 * Express 4, `handleRequest` in Express 5's router) while `req.baseUrl` still holds the mount prefix
 * of the router that matched (by the end of the request Express has restored it, which is how other
 * instrumentations lose nested-router prefixes). We wrap that method, once per Express install, and
 * keep the full template on the Route object itself; at the end of the request, `req.route` (set by
 * Express) leads to it. (Express 4 binds `Route.prototype.dispatch` when a route is created, so
 * patching `dispatch` would miss routes created before the first request.)
 *
 * Why not a property or accessor on `req`: Express gives every request object a fresh hidden class
 * (it swaps its prototype), so each extra property access on `req` misses V8's caches; measured
 * under callgrind, an accessor plus a WeakMap cost more than the whole core pipeline. The two reads
 * that remain (`baseUrl` here, `route` at the end) go through `Reflect.get`, which looks the
 * property up without an inline cache: about 1k instructions against 3.4k for a plain read's miss.
 *
 * Returns true once the Layer class of this app's Express is patched.
 */
export function patchRouteDispatch(app: unknown): boolean {
  const proto = findLayerPrototype(app);
  if (proto === undefined) return false;
  if (Object.prototype.hasOwnProperty.call(proto, kPatched)) return true;
  const name = typeof proto.handle_request === 'function' ? 'handle_request' : typeof proto.handleRequest === 'function' ? 'handleRequest' : undefined;
  if (name === undefined) return false;
  const original = proto[name]!;
  Object.defineProperty(proto, kPatched, { value: true });
  proto[name] = function handleRequest(this: LayerLike, req: DispatchingRequest, res: unknown, next: unknown) {
    const route = this.route;
    if (route !== undefined) {
      // Reflect.get: no inline cache to miss on Express's per-request hidden classes (see above).
      const base = Reflect.get(req, 'baseUrl') ?? '';
      if (base !== route[kBase] || route[kTemplate] === undefined) {
        route[kBase] = base;
        route[kTemplate] = routeTemplate(base, route.path, req.params);
      }
      const template = route[kTemplate];
      // The request whose chain autom8 is running synchronously gets its route now; a dispatch
      // that runs later (after an await in some middleware) is counted, and its request reads
      // `req.route` at the end instead (see dispatchedRoute).
      const ex = dispatch.current;
      if (ex !== undefined && ex.req === (req as unknown)) ex.setRoute(template);
      else dispatch.unattributed = (dispatch.unattributed + 1) & 0x3fffffff; // stays a small integer
      // An outer OTel http instrumentation ends its span on 'finish', before autom8's end: tell it now.
      announceRoute(req, template);
    }
    return original.call(this, req, res, next);
  };
  return true;
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
 * dispatch since the request began was attributed, `ex.route` already holds it (or no route was
 * dispatched); otherwise one of them may have been this request's, and `req.route` tells.
 */
function dispatchedRoute(ex: Exchange): string | undefined {
  if (ex.context === dispatch.unattributed) return ex.route;
  return (Reflect.get(ex.req, 'route') as RouteLike | undefined)?.[kTemplate];
}

type Handler = (this: LayerLike, req: DispatchingRequest, res: unknown, next: unknown) => unknown;

function findLayerPrototype(app: unknown): (LayerLike & { handle_request?: Handler; handleRequest?: Handler }) | undefined {
  const a = app as { router?: { stack?: LayerLike[] }; _router?: { stack?: LayerLike[] } } | undefined;
  // Express 4 keeps its router as `app._router` (and `app.router` throws); Express 5 as `app.router`.
  let stack: LayerLike[] | undefined;
  try {
    stack = a?._router !== undefined ? a._router.stack : a?.router?.stack;
  } catch {
    return undefined; // Express 4 before its router exists
  }
  if (!Array.isArray(stack) || stack.length === 0) return undefined;
  // Only once a route exists: the app is set up, and its Layer class is the one routes use.
  if (!hasRoute(stack, 0)) return undefined;
  return Object.getPrototypeOf(stack[0]) as LayerLike & { handle_request?: Handler; handleRequest?: Handler };
}

function hasRoute(stack: LayerLike[], depth: number): boolean {
  for (const layer of stack) if (layer.route !== undefined) return true;
  if (depth > 8) return false;
  for (const layer of stack) {
    const inner = layer.handle?.stack;
    if (Array.isArray(inner) && hasRoute(inner, depth + 1)) return true;
  }
  return false;
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
