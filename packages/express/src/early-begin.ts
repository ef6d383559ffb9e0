import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Autom8, Exchange } from '@autom8/core/adapter';
import type { Preshaper } from './preshape.js';

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
 * Why: Express swaps the prototype of every request and response, and V8 before 13 (Node 20 to 23)
 * then gives each of them a hidden class of its own, so every property access on them afterwards
 * misses V8's caches. Read before Express touches them, the same objects still share node's shapes,
 * and the response's 'close' listener is added while that is cheap too.
 *
 * The hand-off touches no property of `req`: node emits 'request' and Express runs up to its first
 * middleware synchronously, so the exchange begun by the listener is the one the middleware takes
 * next, within the same tick. The middleware still decides at its place in the chain, so nothing
 * the app can observe changes; only the clock starts a few microseconds earlier.
 *
 * Part of the `preshape` opt-in (it is how pre-shaping reaches node's objects in `app.use` mode, and
 * reading them before Express pays off only where pre-shaping does), and removed by `close()`.
 * Installed only when every request the listener begins reaches the middleware that way: the app
 * itself is the server's 'request' listener (`app.listen()` or `http.createServer(app)`), it is not
 * a sub-app, and autom8 is its first middleware, mounted at the root. Otherwise (or for a request
 * that arrives another way, e.g. node's 'checkContinue') the middleware begins the exchange itself.
 */
export class EarlyBegin {
  /** The exchange the listener began and the middleware has not taken yet. */
  private pending: Exchange | undefined = undefined;
  /** Decided once, on the first request: looking on every request would cost more than it saves. */
  private tried = false;
  /** The app the listener runs ahead of. */
  private app: ExpressLike | undefined = undefined;
  /** Where the listener is installed, to remove it on close. */
  private server: Server | undefined = undefined;
  private readonly listener = (req: IncomingMessage, res: ServerResponse): void => this.begin(req, res);
  constructor(
    private readonly engine: Autom8,
    private readonly watch: (ex: Exchange) => void,
    /** The properties Express assigns on every request, added by the listener first (preshape.ts). */
    private readonly preshaper: Preshaper,
  ) {}

  /**
   * The exchange the server listener began for this request, if any. A pending exchange of another
   * request (one that never reached the middleware, e.g. Express 4's query parser threw) is
   * dropped: its response's 'close' still records it.
   */
  take(req: IncomingMessage): Exchange | undefined {
    const ex = this.pending;
    if (ex === undefined) return undefined;
    this.pending = undefined;
    return ex.req === req ? ex : undefined;
  }

  /**
   * Called from the middleware on a request it began itself: on the first one, installs on that
   * request's server when the conditions above hold. (A second server serving the same app keeps
   * the middleware path.)
   */
  tryInstall(req: IncomingMessage, middleware: unknown): void {
    if (this.tried) return;
    this.tried = true;
    if (!this.preshaper.enabled) return;
    const r = req as unknown as MountedRequest;
    const server = r.socket?.server;
    const app = r.app;
    if (server == null || app === undefined || app.parent !== undefined || r.baseUrl !== '') return;
    if (!isFirstMiddleware(app, middleware)) return;
    if (!this.preshaper.checkApp(app)) return;
    if (typeof server.prependListener !== 'function' || !server.listeners('request').includes(app)) return;
    this.app = app;
    // Routed by the time the listener sees the next request: the router's symbols are learnt from it.
    this.preshaper.learnFrom(req);
    this.server = server;
    server.prependListener('request', this.listener);
  }

  /** Removes the server listener (the middleware begins every exchange again). Idempotent. */
  close(): void {
    this.tried = true;
    this.server?.removeListener('request', this.listener);
    this.server = undefined;
    this.pending = undefined;
  }

  private begin(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.preshaper.apply(this.app, req, res);
      const ex = this.engine.begin(req, res, req.url ?? '/');
      this.watch(ex);
      this.pending = ex;
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
