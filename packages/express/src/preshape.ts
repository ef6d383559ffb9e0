import { InvalidOptionError } from '@autom8/core';
import { expressVersionOf, inSupportedExpressRange, SUPPORTED_EXPRESS_RANGE } from './express-version.js';
import { kRoute } from './route-capture.js';

/**
 * Pre-shaping: gives node's request and response objects, before Express sees them, the own
 * properties Express and its router assign on every request (as `undefined`), so that Express's
 * assignments later are stores into existing slots instead of new properties.
 *
 * Why: Express swaps the prototype of every request and response, and V8 before 13 (Node 20 to 23)
 * caches no map transitions after `Object.setPrototypeOf`: each property added afterwards
 * (`req.params`, `req.baseUrl`, `res.locals`, …) gives that object a hidden class of its own, and
 * every later property access on it misses V8's inline caches. Added before the swap, on node's
 * objects, the same properties follow transitions V8 has cached, and after the swap every request
 * shares one hidden class again. V8 13 on (Node 24, 26) keeps one hidden class by itself, and there
 * pre-shaping only costs (figures in BENCHMARKS.md).
 *
 * What the app can observe: these properties exist (as own properties holding `undefined`) from the
 * start of the request, where before Express's first assignment they were absent; Express assigns
 * every one of them before the first middleware runs, except `route` and `params` outside a route
 * (`undefined` either way). A name is pre-shaped only if nothing on the app's request (response)
 * prototype chain defines it (Express 5's `req.query` is a getter there, so it is left alone;
 * Express 4 assigns it as data).
 */
export interface Preshape {
  readonly request: readonly (string | symbol)[];
  readonly response: readonly string[];
}

/**
 * The `preshape` option of `autom8Express`: an explicit opt-in (default `false`), because it works
 * from Express's private details (the properties Express and its router assign on every request)
 * and pays off only on a V8 that splits hidden classes across Express's prototype swap (before 13:
 * Node 20 to 23; see docs/architecture.md and BENCHMARKS.md). Applied only to an Express inside
 * {@link SUPPORTED_EXPRESS_RANGE} (read from its package.json); outside it, autom8 says so once and
 * leaves the objects alone.
 *
 * `true` pre-shapes what Express itself assigns; an object adds the properties the app's other
 * middleware assign on every request (after Express's own), e.g.
 * `{ request: ['cookies', 'signedCookies', 'secret'] }` for cookie-parser or `{ request: ['body'] }`
 * for Express 4's body-parser, which sets `req.body` on every request. Each such property, added
 * after Express's prototype swap, gives every request a hidden class of its own again from that
 * middleware on. Only list properties the app's middleware assign before anything reads them: a
 * listed one exists (as `undefined`) from the start of the request, so `'name' in req` is true
 * there. Names that the app's request (response) prototype chain defines are skipped, as for
 * Express's own.
 */
export type PreshapeOption = boolean | { request?: readonly string[]; response?: readonly string[] };

/** What {@link preshapeFor} works from: the built-in slots plus the app's extra names, or nothing. */
export interface PreshapeSlots {
  readonly request: readonly string[];
  readonly response: readonly string[];
  /** Whether to add the router's symbol-keyed properties seen on a routed request (ROUTER_SYMBOLS). */
  readonly routerSymbols: boolean;
}

/** Validates the `preshape` option (throws naming it) into the slot names to try; unset is `false`. */
export function resolvePreshape(value: unknown): PreshapeSlots {
  if (value === undefined || value === false) return NONE;
  if (value === true) return BUILT_IN;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError('preshape', 'true, false or { request?: string[], response?: string[] }', value);
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'request' && key !== 'response') throw new InvalidOptionError(`preshape.${key}`, "not set: only 'request' and 'response' are options", o[key]);
  }
  const names = (side: 'request' | 'response', builtIn: readonly string[]): string[] => {
    const list = o[side];
    if (list === undefined) return [...builtIn];
    if (!Array.isArray(list)) throw new InvalidOptionError(`preshape.${side}`, 'an array of property names', list);
    list.forEach((name, i) => {
      // __proto__ would be a prototype assignment, not a property.
      if (typeof name !== 'string' || name === '' || name === '__proto__') throw new InvalidOptionError(`preshape.${side}[${i}]`, 'a property name', name);
    });
    // Express's own first, in their order, then the app's: every request follows the same transitions.
    return [...builtIn, ...(list as string[]).filter((name, i) => !builtIn.includes(name) && list.indexOf(name) === i)];
  };
  return { request: names('request', REQUEST_SLOTS), response: names('response', RESPONSE_SLOTS), routerSymbols: true };
}

// What Express 4/5 (application `handle`/`expressInit`, `query`) and router assign on every request.
const REQUEST_SLOTS = ['next', 'baseUrl', 'originalUrl', '_parsedUrl', 'query', 'params', 'route'];
const RESPONSE_SLOTS = ['locals'];

// Symbol-keyed properties the router assigns on every routed request, by description: router 2.3
// (Express 5) keeps the matched pattern under a module-private Symbol('router.tracing.matchedRoute'),
// set when a layer matches and restored to its earlier value (undefined) when the router is done.
// The symbol itself is only reachable from a request the router has handled.
const ROUTER_SYMBOLS = ['router.tracing.matchedRoute'];

const NONE: Preshape & PreshapeSlots = { request: [], response: [], routerSymbols: false };
const BUILT_IN: PreshapeSlots = { request: REQUEST_SLOTS, response: RESPONSE_SLOTS, routerSymbols: true };

/**
 * The slots to pre-shape for `app`'s requests, given a request and response as node made them
 * (none that node itself already sets), out of `slots` (Express's own by default). `routed`, an
 * earlier request of the app that its router has handled, is where the router's symbol-keyed
 * properties are found (ROUTER_SYMBOLS); without it they are left out.
 */
export function preshapeFor(app: unknown, req: object, res: object, slots: PreshapeSlots = BUILT_IN, routed?: object): Preshape {
  const { request: reqProto, response: resProto } = (app ?? {}) as { request?: unknown; response?: unknown };
  if (typeof reqProto !== 'object' || reqProto === null || typeof resProto !== 'object' || resProto === null) return NONE;
  const own = (o: object, key: string | symbol) => Object.prototype.hasOwnProperty.call(o, key);
  const request: (string | symbol)[] = slots.request.filter((name) => !own(req, name) && isPlainSlot(reqProto, name));
  // Where autom8's own `route` accessor (route-capture.ts) keeps the value Express assigns.
  if (!own(req, kRoute)) request.push(kRoute);
  if (slots.routerSymbols && routed !== undefined) {
    for (const sym of Object.getOwnPropertySymbols(routed)) {
      if (ROUTER_SYMBOLS.includes(sym.description ?? '') && !own(req, sym) && isPlainSlot(reqProto, sym)) request.push(sym);
    }
  }
  const response = slots.response.filter((name) => !own(res, name) && isPlainSlot(resProto, name));
  return { request, response };
}

/**
 * Pre-shapes one app's requests: plans the slots once, from the first routed request it has seen
 * (the router's symbols are learnt from it), and adds them to every request after. Until then each
 * request gets what can be planned without that request (the string-named slots), and the first one
 * is kept to learn from.
 */
export class Preshaper {
  private shape: Preshape | undefined = undefined;
  /** A request the router has handled (or is about to) by the time the next one arrives. */
  private routed: object | undefined = undefined;
  private checked = false;

  constructor(
    private slots: PreshapeSlots,
    /** Told once when the app's Express is outside the range the slot lists were taken from. */
    private readonly warn: (message: string, version: string | undefined) => void,
  ) {}

  /** Whether pre-shaping is on (it turns off at the first request for an Express outside the range). */
  get enabled(): boolean {
    return this.slots !== NONE;
  }

  /**
   * Checks, once, that `app`'s Express is one the slot lists were taken from (they are its private
   * details); otherwise turns pre-shaping off and says so once. Returns whether it is on.
   */
  checkApp(app: unknown): boolean {
    if (this.checked || this.slots === NONE) return this.slots !== NONE;
    this.checked = true;
    const version = expressVersionOf(app);
    if (version === undefined || !inSupportedExpressRange(version)) {
      this.slots = NONE;
      this.warn(`autom8: preshape is off: it needs Express ${SUPPORTED_EXPRESS_RANGE}`, version);
    }
    return this.slots !== NONE;
  }

  /** Remembers `req`, about to be routed, to learn the router's symbols from. */
  learnFrom(req: object): void {
    if (this.slots !== NONE) this.routed ??= req;
  }

  /** Gives `req` and `res` (node's, before `app` sees them) their slots. */
  apply(app: unknown, req: object, res: object): void {
    if (this.slots === NONE) return;
    let shape = this.shape;
    if (shape === undefined) {
      if (!this.checked && !this.checkApp(app)) return;
      if (this.routed === undefined) {
        this.routed = req;
        applyPreshape(preshapeFor(app, req, res, this.slots), req, res);
        return;
      }
      shape = this.shape = preshapeFor(app, req, res, this.slots, this.routed);
      this.routed = undefined;
    }
    applyPreshape(shape, req, res);
  }
}

/** Adds the slots, in a fixed order so that every request follows the same transitions. */
export function applyPreshape(shape: Preshape, req: object, res: object): void {
  const r = req as Record<string | symbol, unknown>;
  for (let i = 0; i < shape.request.length; i++) r[shape.request[i]!] = undefined;
  const s = res as Record<string, unknown>;
  for (let i = 0; i < shape.response.length; i++) s[shape.response[i]!] = undefined;
}

/**
 * True when nothing on `proto`'s chain defines `name`: an own slot would shadow an accessor (Express
 * 5's `req.query`), a read-only property, or a default the app put on its prototype
 * (`app.response.locals = {…}`, which Express keeps because it only creates `locals` when missing).
 */
function isPlainSlot(proto: object, name: string | symbol): boolean {
  return !(name in proto); // `in` walks the whole chain, accessors included
}
