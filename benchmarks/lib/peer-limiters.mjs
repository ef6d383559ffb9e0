// The single-purpose rate limiters autom8 is compared with, each wired as its README shows, with a
// memory store and a limit of `limit` requests per minute per client IP. Shared by the stacks
// servers (servers/stacks.mjs) and the in-process harness (tools/inproc.mjs), so both measure the
// same middleware.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** rate-limiter-flexible as its README wires it: one RateLimiterMemory, a promise per request. */
function flexibleLimiter(limit) {
  const { RateLimiterMemory } = require('rate-limiter-flexible');
  return new RateLimiterMemory({ points: limit, duration: 60 });
}

/** rate-limiter-flexible as Express middleware (no headers). */
export function flexibleExpress(limit) {
  const limiter = flexibleLimiter(limit);
  return (req, res, next) => {
    limiter
      .consume(req.ip)
      .then(() => next())
      .catch(() => res.status(429).send('Too Many Requests'));
  };
}

/** rate-limiter-flexible as Koa middleware (no headers). */
export function flexibleKoa(limit) {
  const limiter = flexibleLimiter(limit);
  return async (ctx, next) => {
    try {
      await limiter.consume(ctx.ip);
    } catch {
      ctx.status = 429;
      ctx.body = 'Too Many Requests';
      return;
    }
    await next();
  };
}

/** express-rate-limit, memory store, draft-8 `RateLimit` headers. */
export function expressRateLimit(limit) {
  const { rateLimit } = require('express-rate-limit');
  return rateLimit({ windowMs: 60_000, limit, standardHeaders: 'draft-8', legacyHeaders: false });
}

/** koa-ratelimit, memory driver (X-RateLimit headers). */
export function koaRateLimit(limit) {
  return require('koa-ratelimit')({ driver: 'memory', db: new Map(), duration: 60_000, max: limit, id: (ctx) => ctx.ip });
}
