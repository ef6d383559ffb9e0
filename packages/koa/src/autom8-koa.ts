import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Autom8Controls, Autom8Options } from '@autom8/core';
import { attachControls, createEngine, isPromise, type Autom8, type Exchange, type Reply } from '@autom8/core/adapter';

/** The part of Koa's context this adapter uses (Koa 2 and 3 alike). */
interface KoaContext {
  req: IncomingMessage;
  res: ServerResponse;
  originalUrl: string;
  status: number;
  body: unknown;
  set(field: string, value: string | string[]): void;
  /** Set by @koa/router to the matched layer's full path (router prefixes included). */
  _matchedRoute?: unknown;
}
type Next = () => Promise<unknown>;

/**
 * The Koa middleware returned by {@link autom8Koa}, carrying autom8's runtime controls
 * ({@link Autom8Controls}): `mw.metrics()`, `mw.recordLatency()`, `mw.cache.invalidate({ tag })`,
 * `mw.monitoringHandler()`, `mw.close()`.
 */
export interface Autom8KoaMiddleware extends Autom8Controls {
  (ctx: KoaContext, next: Next): Promise<void>;
}

/**
 * autom8 for Koa 2 and 3: `app.use(autom8Koa(options))`, first, before @koa/router.
 *
 * Everything happens in `@autom8/core`; this adapter only hands Koa's request to the engine, sends
 * the engine's replies through Koa, and reports @koa/router's matched route template.
 *
 * @example
 * ```ts
 * const app = new Koa();
 * app.use(autom8Koa({ exempt: ['/health'] }));
 * app.use(router.routes());
 * ```
 */
export function autom8Koa(options?: Autom8Options): Autom8KoaMiddleware {
  const engine = createEngine(options);
  // Koa answers 404 until the app sets a status.
  engine.defaultResponseStatus = 404;

  // Not an async function: on the usual path it returns the app's own promise, without a promise,
  // an await and a `finally` of its own on every request.
  const middleware = function autom8(ctx: KoaContext, next: Next): Promise<void> {
    let ex: Exchange;
    try {
      ex = engine.begin(ctx.req, ctx.res, ctx.originalUrl);
    } catch (err) {
      // autom8 failed (a bug, or a user's propagator): the app serves the request without it.
      engine.reportFailure('request start', err);
      return next() as Promise<void>;
    }
    // The route is read at the end (also when the client leaves before `next()` settles).
    ex.context = ctx;
    ex.lateRoute = matchedRoute;
    let decision: Reply | undefined | Promise<Reply | undefined>;
    try {
      decision = engine.admit(ex);
    } catch (err) {
      return decisionFailed(engine, ex, next, err);
    }
    if (decision === undefined) return proceed(engine, ex, next);
    if (isPromise(decision)) {
      return decision.then(
        (reply) => (reply === undefined ? proceed(engine, ex, next) : send(ctx, reply)),
        (err: unknown) => decisionFailed(engine, ex, next, err),
      );
    }
    send(ctx, decision);
    return Promise.resolve();
  } as Autom8KoaMiddleware;
  return attachControls(middleware, engine);
}

// autom8's decision failed: reported once, and the app serves the request without it. A function of
// its own, not a closure made per request.
function decisionFailed(engine: Autom8, ex: Exchange, next: Next, err: unknown): Promise<void> {
  engine.reportFailure('request-start decision', err);
  return proceed(engine, ex, next);
}

function proceed(engine: Autom8, ex: Exchange, next: Next): Promise<void> {
  const done = engine.run(ex, next) as Promise<void>;
  // An outer OTel http instrumentation owns the span and ends it on 'finish', before autom8's end:
  // give it the route as soon as the router has run.
  if (ex.span === undefined || ex.ownsSpan) return done;
  const announce = () => {
    const route = matchedRoute(ex);
    if (route !== undefined) ex.setRoute(route);
  };
  return done.then(announce, (err: unknown) => {
    announce();
    throw err;
  });
}

function matchedRoute(ex: Exchange): string | undefined {
  const route = (ex.context as KoaContext)._matchedRoute;
  return typeof route === 'string' ? route : undefined;
}

function send(ctx: KoaContext, reply: Reply): void {
  ctx.status = reply.status;
  for (const name in reply.headers) {
    const v = reply.headers[name]!;
    ctx.set(name, typeof v === 'number' ? String(v) : (v as string | string[]));
  }
  ctx.body = reply.body;
}
