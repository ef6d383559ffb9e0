import type { Autom8 } from '@autom8/core/adapter';
import { expressVersionOf } from './express-version.js';

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
 * `app.router` (documented); Express 4 keeps it in `app._router` (its `app.router` getter throws),
 * read only when the app's Express is a 4.x (its package.json says so): on anything else, the
 * documented `app.enabled()` answers.
 * An option `routing` given to autom8 wins over both (the engine ignores this then).
 */
export function adoptAppRouting(engine: Autom8, app: unknown): void {
  if (typeof app !== 'function' && (typeof app !== 'object' || app === null)) return;
  const a = app as AppLike;
  let router: RouterLike | undefined;
  try {
    const major = Number.parseInt(expressVersionOf(app) ?? '', 10);
    router = major === 4 ? a._router : major === 5 ? a.router : undefined;
  } catch {
    router = undefined;
  }
  if (router != null && (typeof router === 'object' || typeof router === 'function')) {
    engine.adoptRouting({ caseSensitive: router.caseSensitive === true, strict: router.strict === true });
  } else if (typeof a.enabled === 'function') {
    engine.adoptRouting({ caseSensitive: a.enabled('case sensitive routing') === true, strict: a.enabled('strict routing') === true });
  }
}
