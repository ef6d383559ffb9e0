import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAutom8, isPromise, type Autom8, type Autom8Options, type Reply } from '@autom8/core';
import { dispatchedRoute, patchRouteDispatch } from './route-capture.js';

type NextFunction = (err?: unknown) => void;
type ExpressRequest = IncomingMessage & { originalUrl?: string; app?: unknown };

/** The Express middleware returned by {@link autom8Express}, with its engine attached. */
export interface Autom8ExpressMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** The core engine: metrics snapshot, custom metrics, `close()`. */
  readonly engine: Autom8;
  /** Stops autom8's timers and closes its stores. */
  close(): Promise<void>;
}

/**
 * autom8 for Express 4 and 5: `app.use(autom8Express(options))`, before your routes.
 *
 * Everything happens in `@autom8/core`; this adapter only hands Express's request to the engine,
 * sends the engine's replies, and reports the route template when Express's router matches.
 *
 * @example
 * ```ts
 * const app = express();
 * app.use(autom8Express({ exempt: ['/health'] }));
 * app.get('/users/:id', handler);
 * // GET /api/v1/metrics → per-route latency JSON
 * ```
 */
export function autom8Express(options?: Autom8Options): Autom8ExpressMiddleware {
  const engine = createAutom8(options);
  let routesPatched = false;

  const middleware = function autom8(req: ExpressRequest, res: ServerResponse, next: NextFunction): void {
    // Until the app has a route to learn Express's Route class from (usually the first request).
    if (!routesPatched) routesPatched = patchRouteDispatch(req.app);
    const ex = engine.begin(req, res, req.originalUrl ?? req.url ?? '/');
    ex.lateRoute = dispatchedRoute;
    let decision: Reply | undefined | Promise<Reply | undefined>;
    try {
      decision = engine.admit(ex);
    } catch (err) {
      next(err);
      return;
    }
    if (decision === undefined) {
      engine.run(ex, next);
    } else if (isPromise(decision)) {
      decision.then((reply) => (reply === undefined ? engine.run(ex, next) : send(res, reply)), next);
    } else {
      send(res, decision);
    }
  } as Autom8ExpressMiddleware;
  Object.defineProperty(middleware, 'engine', { value: engine, enumerable: true });
  Object.defineProperty(middleware, 'close', { value: () => engine.close() });
  return middleware;
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) return;
  // One writeHead with every header: each separate call on an Express response costs a V8 cache miss.
  res.writeHead(reply.status, reply.headers as Record<string, string | number | string[]>);
  res.end(reply.body);
}
