import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAutom8, isPromise, type Autom8, type Autom8Options, type Exchange, type Reply } from '@autom8/core';

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

/** The Koa middleware returned by {@link autom8Koa}, with its engine attached. */
export interface Autom8KoaMiddleware {
  (ctx: KoaContext, next: Next): Promise<void>;
  /** The core engine: metrics snapshot, custom metrics, `close()`. */
  readonly engine: Autom8;
  /** Stops autom8's timers and closes its stores. */
  close(): Promise<void>;
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
  const engine = createAutom8(options);

  const middleware = async function autom8(ctx: KoaContext, next: Next): Promise<void> {
    const ex = engine.begin(ctx.req, ctx.res, ctx.originalUrl);
    // A client that leaves mid-request ends the exchange before `next()` settles: the end then asks.
    ex.context = ctx;
    ex.lateRoute = matchedRoute;
    ex.defaultStatus = 404;
    let decision = engine.admit(ex);
    if (isPromise(decision)) decision = await decision;
    if (decision !== undefined) {
      send(ctx, decision);
      return;
    }
    try {
      await engine.run(ex, next);
    } finally {
      const route = ctx._matchedRoute;
      if (typeof route === 'string') ex.setRoute(route);
    }
  } as Autom8KoaMiddleware;
  Object.defineProperty(middleware, 'engine', { value: engine, enumerable: true });
  Object.defineProperty(middleware, 'close', { value: () => engine.close() });
  return middleware;
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
