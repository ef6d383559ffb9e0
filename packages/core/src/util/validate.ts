import { InvalidOptionError } from './errors.js';

/** Option checks used by every factory. Each throws {@link InvalidOptionError} naming `path`. */

export function optionalObject(path: string, v: unknown): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidOptionError(path, 'an object', v);
  return v as Record<string, unknown>;
}

export function positiveNumber(path: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new InvalidOptionError(path, 'a positive number', v);
  return v;
}

export function positiveInteger(path: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new InvalidOptionError(path, 'a positive integer', v);
  return v;
}

export function nonNegativeNumber(path: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidOptionError(path, 'a non-negative number', v);
  return v;
}

/** The longest delay node's timers take: 2^31 − 1 ms (~24.8 days). Longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration autom8 waits with a timer: above 0 (or 0 with `allowZero`, which turns the thing off)
 * and at most {@link MAX_TIMER_MS}, so a long value cannot turn into a timer that fires every 1 ms.
 */
export function timerMs(path: string, v: unknown, dflt: number, { allowZero = false, integer = false } = {}): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (v === 0 && !allowZero) || v > MAX_TIMER_MS || (integer && !Number.isInteger(v))) {
    throw new InvalidOptionError(
      path,
      `a ${integer ? 'whole ' : ''}number of milliseconds ${allowZero ? 'from 0' : 'above 0'} up to ${MAX_TIMER_MS} (node's longest timer, ~24.8 days)`,
      v,
    );
  }
  return v;
}

export function numberInRange(path: string, v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new InvalidOptionError(path, `a number from ${min} to ${max}`, v);
  }
  return v;
}

export function boolean(path: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new InvalidOptionError(path, 'a boolean', v);
  return v;
}

export function string(path: string, v: unknown, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || v.length === 0) throw new InvalidOptionError(path, 'a non-empty string', v);
  return v;
}

export function optionalFunction<F extends (...args: never[]) => unknown>(path: string, v: unknown): F | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'function') throw new InvalidOptionError(path, 'a function', v);
  return v as F;
}

export function oneOf<T extends string>(path: string, v: unknown, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new InvalidOptionError(path, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
  }
  return v as T;
}

export function stringArray(path: string, v: unknown, dflt: readonly string[]): readonly string[] {
  if (v === undefined) return dflt;
  if (!Array.isArray(v)) throw new InvalidOptionError(path, 'an array of strings', v);
  v.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0) throw new InvalidOptionError(`${path}[${i}]`, 'a non-empty string', s);
  });
  return v as string[];
}

/** Rejects keys that are not in `known`, so that a typo fails loudly instead of being ignored. */
export function knownKeys(path: string, obj: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      const at = `${path ? `${path}.` : ''}${k}`;
      throw new InvalidOptionError(at, '', undefined, `autom8: unknown option ${at} (known: ${known.join(', ')})`);
    }
  }
}
