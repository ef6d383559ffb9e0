/** Most depth a feature's figures are walked to. */
const MAX_DEPTH = 6;

/** Breaker states as numbers, so that a state can be charted over time. */
const STATE_VALUE: Readonly<Record<string, number>> = { closed: 0, 'half-open': 1, open: 2 };

/** Sub-objects that describe configuration or stores, not what happened: not charted. */
const SKIPPED = new Set(['config', 'store', 'storeStatus', 'partitions']);

/**
 * Calls `visit(path, value)` for every number in a feature's figures (booleans as 0/1, a breaker's
 * `state` as 0 closed / 1 half-open / 2 open), with dotted paths such as
 * `rateLimit.limiters.default.limited`. Arrays of named objects (the SLO statuses) are keyed by
 * name. Stops after `max` leaves: the caller's memory stays bounded.
 */
export function forEachLeaf(name: string, value: unknown, max: number, visit: (path: string, value: number) => void): void {
  let seen = 0;
  const walk = (path: string, v: unknown, depth: number, key: string): void => {
    if (seen >= max) return;
    if (typeof v === 'number') {
      if (Number.isFinite(v)) {
        seen++;
        visit(path, v);
      }
    } else if (typeof v === 'boolean') {
      seen++;
      visit(path, v ? 1 : 0);
    } else if (typeof v === 'string') {
      const state = key === 'state' ? STATE_VALUE[v] : undefined;
      if (state !== undefined) {
        seen++;
        visit(path, state);
      }
    } else if (Array.isArray(v)) {
      if (depth >= MAX_DEPTH) return;
      for (const item of v as unknown[]) {
        const itemName = typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : undefined;
        if (typeof itemName === 'string') walk(`${path}.${itemName}`, item, depth + 1, itemName);
      }
    } else if (typeof v === 'object' && v !== null && depth < MAX_DEPTH) {
      for (const [k, child] of Object.entries(v)) if (!SKIPPED.has(k)) walk(`${path}.${k}`, child, depth + 1, k);
    }
  };
  walk(name, value, 0, name);
}
