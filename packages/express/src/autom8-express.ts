import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAutom8, isPromise, type Autom8, type Autom8Options, type Reply } from '@autom8/core';
import { exchanges, installRouteCapture } from './route-capture.js';

type NextFunction = (err?: unknown) => void;
type ExpressRequest = IncomingMessage & { originalUrl?: string };

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

  const middleware = function autom8(req: ExpressRequest, res: ServerResponse, next: NextFunction): void {
    installRouteCapture(req);
    const ex = engine.begin(req, res, req.originalUrl ?? req.url ?? '/');
    exchanges.set(req, ex);
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
  res.statusCode = reply.status;
  for (const name in reply.headers) res.setHeader(name, reply.headers[name]!);
  res.end(reply.body);
}
