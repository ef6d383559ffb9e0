import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The version of the Express install `app` comes from, read from that install's package.json, or
 * undefined when it cannot be told (not an Express app, or Express not loaded through `require`).
 *
 * The app's request prototype (`app.request`) derives from the `request` object its Express module
 * exports, so the module whose exports hold that object is the app's Express, whichever copy or
 * alias of it (`express4`, a nested `node_modules/express`) the app loaded.
 */
export function expressVersionOf(app: unknown): string | undefined {
  const appRequest = (app as { request?: unknown } | undefined)?.request;
  if (typeof appRequest !== 'object' || appRequest === null) return undefined;
  const base: unknown = Object.getPrototypeOf(appRequest);
  if (typeof base !== 'object' || base === null) return undefined;
  if (versions.has(base)) return versions.get(base);
  let version: string | undefined;
  for (const mod of Object.values(require.cache)) {
    const exports: unknown = mod?.exports;
    if (typeof exports !== 'function' || (exports as { request?: unknown }).request !== base) continue;
    version = packageVersion(dirname(mod!.filename));
    if (version !== undefined) break;
  }
  versions.set(base, version);
  return version;
}

/** Express's shared request prototype → the version of its install (looked up once per install). */
const versions = new WeakMap<object, string | undefined>();

function packageVersion(dir: string): string | undefined {
  for (let d = dir, i = 0; i < 4; i++, d = dirname(d)) {
    try {
      const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'express' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: one level up
    }
  }
  return undefined;
}

/** True for a version inside `>=4.17.0 <6` (Express 4 from 4.17, and 5), what the adapter is tested against. */
export function inSupportedExpressRange(version: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (m === null) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major === 5 || (major === 4 && minor >= 17);
}

/** The range {@link inSupportedExpressRange} accepts, for messages. */
export const SUPPORTED_EXPRESS_RANGE = '>=4.17.0 <6';
