/**
 * Pre-shaping: gives node's request and response objects, before Express sees them, the own
 * properties Express and its router assign on every request (as `undefined`), so that Express's
 * assignments later are stores into existing slots instead of new properties.
 *
 * Why: Express swaps the prototype of every request and response, and V8 caches no map transitions
 * after `Object.setPrototypeOf`: each property added afterwards (`req.params`, `req.baseUrl`,
 * `res.locals`, …) gives that object a hidden class of its own, and every later property access on
 * it misses V8's inline caches (about 3k instructions each; bare Express 5 takes ~66 such misses per
 * request). Added before the swap, on node's objects, the same properties follow transitions V8 has
 * cached, and after the swap every request shares one hidden class again. Measured under callgrind
 * and over HTTP, this roughly halves Express's own per-request cost (see docs/architecture.md).
 *
 * What the app can observe: these properties exist (as own properties holding `undefined`) from the
 * start of the request, where before Express's first assignment they were absent; Express assigns
 * every one of them before the first middleware runs, except `route` and `params` outside a route
 * (`undefined` either way). A name is pre-shaped only if nothing on the app's request (response)
 * prototype chain defines it (Express 5's `req.query` is a getter there, so it is left alone;
 * Express 4 assigns it as data).
 */
export interface Preshape {
  readonly request: readonly string[];
  readonly response: readonly string[];
}

// What Express 4/5 (application `handle`/`expressInit`, `query`) and router assign on every request.
const REQUEST_SLOTS = ['next', 'baseUrl', 'originalUrl', '_parsedUrl', 'query', 'params', 'route'];
const RESPONSE_SLOTS = ['locals'];

const NONE: Preshape = { request: [], response: [] };

/**
 * The slots to pre-shape for `app`'s requests, given a request and response as node made them
 * (none that node itself already sets).
 */
export function preshapeFor(app: unknown, req: object, res: object): Preshape {
  const { request: reqProto, response: resProto } = (app ?? {}) as { request?: unknown; response?: unknown };
  if (typeof reqProto !== 'object' || reqProto === null || typeof resProto !== 'object' || resProto === null) return NONE;
  const request = REQUEST_SLOTS.filter((name) => !Object.prototype.hasOwnProperty.call(req, name) && isPlainSlot(reqProto, name));
  const response = RESPONSE_SLOTS.filter((name) => !Object.prototype.hasOwnProperty.call(res, name) && isPlainSlot(resProto, name));
  return { request, response };
}

/** Adds the slots, in a fixed order so that every request follows the same transitions. */
export function applyPreshape(shape: Preshape, req: object, res: object): void {
  const r = req as Record<string, unknown>;
  for (let i = 0; i < shape.request.length; i++) r[shape.request[i]!] = undefined;
  const s = res as Record<string, unknown>;
  for (let i = 0; i < shape.response.length; i++) s[shape.response[i]!] = undefined;
}

/**
 * True when nothing on `proto`'s chain defines `name`: an own slot would shadow an accessor (Express
 * 5's `req.query`), a read-only property, or a default the app put on its prototype
 * (`app.response.locals = {…}`, which Express keeps because it only creates `locals` when missing).
 */
function isPlainSlot(proto: object, name: string): boolean {
  return !(name in proto); // `in` walks the whole chain, accessors included
}
