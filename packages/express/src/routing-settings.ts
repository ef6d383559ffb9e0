import type { Autom8 } from '@autom8/core/adapter';

interface RouterLike {
  caseSensitive?: unknown;
  strict?: unknown;
}
interface AppLike {
  enabled?: (setting: string) => boolean;
  _router?: RouterLike;
  router?: RouterLike;
}

/**
 * Tells the engine how this Express app's router matches paths, so every autom8 rule matches the
 * requests the router sends to its handlers (`POST /LOGIN` reaches `app.post('/login')` unless
 * `case sensitive routing` is on).
 *
 * The router itself is asked first: Express reads the two app settings once, when it creates the
 * router (usually at the first `app.use`, often autom8's own), so a setting changed later is what
 * `app.enabled()` reports but not what the router does. Express 5 exposes the router as
 * `app.router`; Express 4 keeps it in `app._router` (its `app.router` getter throws).
 * An option `routing` given to autom8 wins over both (the engine ignores this then).
 */
export function adoptAppRouting(engine: Autom8, app: unknown): void {
  if (typeof app !== 'function' && (typeof app !== 'object' || app === null)) return;
  const a = app as AppLike;
  let router: RouterLike | undefined;
  try {
    router = Object.prototype.hasOwnProperty.call(a, '_router') ? a._router : a.router;
  } catch {
    router = undefined;
  }
  if (router != null && (typeof router === 'object' || typeof router === 'function')) {
    engine.adoptRouting({ caseSensitive: router.caseSensitive === true, strict: router.strict === true });
  } else if (typeof a.enabled === 'function') {
    engine.adoptRouting({ caseSensitive: a.enabled('case sensitive routing') === true, strict: a.enabled('strict routing') === true });
  }
}
