import { IncomingMessage } from 'node:http';

/**
 * The Exchange of each request autom8 is handling, by request object. A WeakMap rather than a
 * property on `req`: adding properties to Express's request objects slows every access to them.
 */
export const exchanges = new WeakMap<object, { setRoute(template: string): void }>();
const kRoute = Symbol('autom8.express.route');
const kInstalled = Symbol('autom8.express.routeCapture');

interface RouteLike {
  path?: unknown;
}
interface CapturingRequest {
  baseUrl?: string;
  params?: Record<string, string>;
  [kRoute]?: RouteLike;
}

/**
 * Learns the route template the moment Express's router assigns `req.route`, while `req.baseUrl`
 * still holds the mount prefix of the router that matched (by the 'finish' event Express has
 * already restored it, which is how other instrumentations lose nested-router prefixes).
 *
 * It defines an accessor for `route` once on Express's base request prototype (shared by every app
 * and mounted sub-app of that Express install). Requests not seen by autom8 just store the value.
 */
export function installRouteCapture(req: object): void {
  let proto = Object.getPrototypeOf(req) as object | null;
  while (proto !== null && Object.getPrototypeOf(proto) !== IncomingMessage.prototype) proto = Object.getPrototypeOf(proto);
  if (proto === null || Object.prototype.hasOwnProperty.call(proto, kInstalled)) return;
  Object.defineProperty(proto, kInstalled, { value: true });
  Object.defineProperty(proto, 'route', {
    configurable: true,
    enumerable: true,
    get(this: CapturingRequest) {
      return this[kRoute];
    },
    set(this: CapturingRequest, route: RouteLike) {
      this[kRoute] = route;
      const ex = exchanges.get(this);
      if (ex !== undefined && route != null) ex.setRoute(routeTemplate(this.baseUrl ?? '', route.path, this.params));
    },
  });
}

/**
 * `baseUrl` + the route's path. When the router was mounted on a parametric path
 * (`app.use('/orgs/:org', router)`), `baseUrl` holds values (`/orgs/acme`); at this moment
 * `req.params` still holds the mount's params, so values are put back as `:name`.
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
