import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Autom8, Exchange } from '@autom8/core';

interface LayerLike {
  name?: string;
  handle?: unknown;
}
type ExpressLike = ((req: IncomingMessage, res: ServerResponse) => unknown) & {
  parent?: unknown;
  router?: { stack?: LayerLike[] };
  _router?: { stack?: LayerLike[] };
};
interface MountedRequest {
  app?: ExpressLike;
  baseUrl?: string;
  socket?: { server?: Server | null } | null;
}

/**
 * Early begin: after the first request, autom8 starts each request's exchange from the HTTP
 * server's 'request' event, one listener ahead of the Express app, instead of from its middleware.
 *
 * Why: Express swaps the prototype of every request and response, and V8 then gives each of them
 * a hidden class of its own, so every property read on them afterwards misses V8's caches (about
 * 0.5-1 µs each). Read before Express touches them, the same objects still share node's shapes.
 * The middleware then only picks the exchange up (one property read) and decides at its place in
 * the chain, so ordering with the app's other middleware is unchanged.
 *
 * Installed only when that changes nothing else: every request of the server goes to this app (the
 * app itself is a 'request' listener of the server: `app.listen()` or `http.createServer(app)`),
 * it is not a sub-app, and autom8 is its first middleware, mounted at the root — so every request
 * the listener begins reaches the middleware. Otherwise the middleware keeps beginning exchanges
 * itself.
 */
export class EarlyBegin {
  /** Per-instance key, so two autom8 instances on one server never take each other's exchange. */
  readonly key = Symbol('autom8.express.exchange');
  /** Decided once, on the first request: looking on every request would cost more than it saves. */
  private tried = false;

  constructor(
    private readonly engine: Autom8,
    private readonly lateRoute: (ex: Exchange) => string | undefined,
  ) {}

  /**
   * The exchange the server listener began for this request, the first time the middleware asks
   * (a request dispatched through the app again begins a new one, as without early begin). Marked
   * on the exchange, not on `req`: a write to Express's request objects costs a V8 cache miss.
   */
  take(req: IncomingMessage): Exchange | undefined {
    const ex = (req as unknown as Record<symbol, Exchange | undefined>)[this.key];
    if (ex === undefined || ex.claimed) return undefined;
    ex.claimed = true;
    return ex;
  }

  /**
   * Called from the middleware on a request it began itself: on the first one, installs on that
   * request's server when the conditions above hold. (A second server serving the same app keeps
   * the middleware path.)
   */
  tryInstall(req: IncomingMessage, middleware: unknown): void {
    if (this.tried) return;
    this.tried = true;
    const r = req as unknown as MountedRequest;
    const server = r.socket?.server;
    const app = r.app;
    if (server == null || app === undefined || app.parent !== undefined || r.baseUrl !== '') return;
    if (!isFirstMiddleware(app, middleware)) return;
    if (typeof server.prependListener !== 'function' || !server.listeners('request').includes(app)) return;
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.begin(req, res));
  }

  private begin(req: IncomingMessage, res: ServerResponse): void {
    try {
      const ex = this.engine.begin(req, res, req.url ?? '/');
      ex.lateRoute = this.lateRoute;
      (req as unknown as Record<symbol, Exchange>)[this.key] = ex;
    } catch (err) {
      // Never let our listener break the server: the middleware begins the exchange instead.
      this.engine.options.logger.error({ err: String(err) }, 'autom8: early begin failed');
    }
  }
}

// Express 4 puts its own `query` and `expressInit` layers first; they answer nothing.
const EXPRESS_INTERNAL_LAYERS = new Set(['query', 'expressInit']);

function isFirstMiddleware(app: ExpressLike, middleware: unknown): boolean {
  let stack: LayerLike[] | undefined;
  try {
    stack = app._router !== undefined ? app._router.stack : app.router?.stack;
  } catch {
    return false;
  }
  if (!Array.isArray(stack)) return false;
  for (const layer of stack) {
    if (layer.handle === middleware) return true;
    if (!EXPRESS_INTERNAL_LAYERS.has(layer.name ?? '')) return false;
  }
  return false;
}
