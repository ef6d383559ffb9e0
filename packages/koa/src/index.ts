/**
 * @autom8/koa: autom8 for Koa 2 and 3 with @koa/router. See {@link autom8Koa}.
 * @packageDocumentation
 */
export { autom8Koa } from './autom8-koa.js';
export type { Autom8KoaMiddleware } from './autom8-koa.js';
export type { Autom8Options } from '@autom8/core';
