/**
 * @autom8/express: autom8 for Express 4 and 5. See {@link autom8Express}.
 * @packageDocumentation
 */
export { autom8Express } from './autom8-express.js';
export type { Autom8ExpressMiddleware, Autom8ExpressOptions } from './autom8-express.js';
export type { PreshapeOption } from './preshape.js';
export type { Autom8Options } from '@autom8/core';
