import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Autom8Controls, Autom8Options } from '@autom8/core';
import { attachControls, createEngine, isPromise, type Autom8, type Exchange, type Reply } from '@autom8/core/adapter';
import { RouteCapture, runDispatching, watchDispatches } from './route-capture.js';
import { EarlyBegin } from './early-begin.js';
import { Preshaper, resolvePreshape, type PreshapeOption } from './preshape.js';
import { adoptAppRouting } from './routing-settings.js';

type NextFunction = (err?: unknown) => void;
type ExpressRequest = IncomingMessage & { originalUrl?: string; app?: unknown };
/** An Express app (or any `(req, res)` handler with Express's router on it). */
type ExpressApp = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Options of {@link autom8Express}: the engine's, plus how the adapter treats Express's objects. */
export interface Autom8ExpressOptions extends Autom8Options {
  /**
   * Pre-shaping of node's request and response before Express sees them: an explicit opt-in
   * (default `false`) that works from Express's private details, for Express 4.17+ and 5 only
   * (outside that range autom8 logs once and leaves it off). It pays off only on Node 20 to 23
   * (V8 before 13), where Express's prototype swap gives every request a hidden class of its own;
   * on Node 24 and later it only costs (figures in BENCHMARKS.md, mechanism in docs/architecture.md).
   * `true` pre-shapes the properties Express itself assigns; `{ request: [...], response: [...] }`
   * adds the ones your other middleware assign on every request. Also turns on early begin: autom8
   * then starts each request from the server's 'request' event, ahead of the app (undone by `close()`).
   * @example `autom8Express({ preshape: { request: ['cookies', 'signedCookies', 'secret'] } })` (cookie-parser, Node 20 to 23)
   */
  preshape?: PreshapeOption;
}

/**
 * The Express middleware returned by {@link autom8Express}, carrying autom8's runtime controls
 * ({@link Autom8Controls}): `mw.metrics()`, `mw.recordLatency()`, `mw.cache.invalidate({ tag })`,
 * `mw.monitoringHandler()`, `mw.close()`.
 */
export interface Autom8ExpressMiddleware extends Autom8Controls {
  (req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /**
   * Front mode: returns a request handler that runs autom8 in front of `app`, for
   * `http.createServer(mw.front(app))`, instead of `app.use(mw)`. Same features and figures, but
   * autom8 decides (monitoring, shed, 429, cache hit) before Express touches the request, so those
   * answers skip Express's own per-request work. Use one mode or the other; once `front` is called,
   * the middleware passes requests straight through.
   */
  front(app: ExpressApp): (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * autom8 for Express 4 and 5: `app.use(autom8Express(options))`, before your routes — or, faster,
 * `http.createServer(mw.front(app))` (see {@link Autom8ExpressMiddleware.front}).
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
export function autom8Express(options?: Autom8ExpressOptions): Autom8ExpressMiddleware {
  // `preshape` is the adapter's; the engine rejects keys it does not know. Checked first: the engine
  // starts timers once built.
  const isObject = typeof options === 'object' && options !== null && !Array.isArray(options);
  const slots = resolvePreshape(isObject ? options.preshape : undefined);
  let engineOptions: unknown = options;
  if (isObject && 'preshape' in options) {
    const { preshape: _adapterOnly, ...rest } = options;
    engineOptions = rest;
  }
  const engine = createEngine(engineOptions as Autom8Options | undefined);
  const warn = (message: string, version: string | undefined) => engine.options.logger.warn({ express: version ?? 'unknown' }, message);
  const routes = new RouteCapture();
  let routingRead = false;
  let fronted = false;
  const early = new EarlyBegin(engine, watchDispatches, new Preshaper(slots, warn));

  const middleware = function autom8(req: ExpressRequest, res: ServerResponse, next: NextFunction): void {
    if (fronted) {
      next();
      return;
    }
    let ex: Exchange | undefined;
    try {
      ex = early.take(req);
      if (ex === undefined) {
        if (!routingRead) {
          routingRead = true;
          routes.attach(req.app);
          adoptAppRouting(engine, req.app);
        }
        ex = engine.begin(req, res, req.originalUrl ?? req.url ?? '/');
        watchDispatches(ex);
        early.tryInstall(req, middleware);
      }
    } catch (err) {
      // autom8 failed (a bug, or a user's propagator): the app serves the request without it.
      engine.reportFailure('request start', err);
      next();
      return;
    }
    decide(engine, ex, res, next, next);
  } as Autom8ExpressMiddleware;

  const front = (app: ExpressApp) => {
    fronted = true;
    const preshaper = new Preshaper(slots, warn);
    // The server's 'request' listener: a throw here would crash the process, so anything autom8
    // fails at is reported and the app serves the request without it.
    return function autom8Front(req: IncomingMessage, res: ServerResponse): void {
      let ex: Exchange;
      try {
        if (!routingRead) {
          routingRead = true;
          routes.attach(app);
          adoptAppRouting(engine, app);
        }
        // Ahead of Express here too: the properties it assigns get their slots on node's objects.
        preshaper.apply(app, req, res);
        ex = engine.begin(req, res, req.url ?? '/');
        watchDispatches(ex);
      } catch (err) {
        engine.reportFailure('request start', err);
        app(req, res);
        return;
      }
      decide(
        engine,
        ex,
        res,
        () => app(req, res),
        () => {
          if (!res.headersSent) app(req, res);
        },
      );
    };
  };
  Object.defineProperty(middleware, 'front', { value: front });
  // close() takes back what autom8 did to Express: the `route` accessor on the app's request
  // prototype, and early begin's server listener (`preshape`).
  engine.onClose(() => {
    routes.detach();
    early.close();
  });
  return attachControls(middleware, engine);
}

/**
 * Runs the engine's request-start decision, then either `proceed`s or sends the reply. When the
 * decision itself fails, the failure is reported once and `withoutAutom8` serves the request.
 */
function decide(engine: Autom8, ex: Exchange, res: ServerResponse, proceed: () => unknown, withoutAutom8: () => void): void {
  let decision: Reply | undefined | Promise<Reply | undefined>;
  try {
    decision = engine.admit(ex);
  } catch (err) {
    decisionFailed(engine, err, withoutAutom8);
    return;
  }
  if (decision === undefined) {
    runDispatching(engine, ex, proceed);
  } else if (isPromise(decision)) {
    decision.then(
      (reply) => (reply === undefined ? runDispatching(engine, ex, proceed) : send(res, reply)),
      (err: unknown) => decisionFailed(engine, err, withoutAutom8),
    );
  } else {
    send(res, decision);
  }
}

// Not a closure made in decide(): that would cost an allocation on every request, failing or not.
function decisionFailed(engine: Autom8, err: unknown, withoutAutom8: () => void): void {
  engine.reportFailure('request-start decision', err);
  withoutAutom8();
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) return;
  // One writeHead with every header, rather than a setHeader call per header.
  res.writeHead(reply.status, reply.headers as Record<string, string | number | string[]>);
  res.end(reply.body);
}
