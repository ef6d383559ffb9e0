import type { WindowSpec } from '../metrics/windowed-series.js';
import { parsePattern } from '../routing/route-table.js';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';

/**
 * One service-level objective. Give exactly one SLI: `latency`, `errorRate` or `cpu`.
 *
 * @example
 * ```ts
 * { name: 'api-latency', latency: { percentile: 95, thresholdMs: 150 } } // p95 < 150 ms
 * { name: 'login-errors', route: 'POST /login', errorRate: 0.01 }        // < 1 % 5xx
 * { name: 'cpu', cpu: { percentile: 99, maxShare: 0.6 } }                 // p99 CPU < 60 %
 * ```
 */
export interface SloObjective {
  /** Name in JSON, events and OTel attributes. Default: built from the route and the SLI. */
  name?: string;
  /** `'METHOD /template'` or `'/template'` (any method). Omitted: every request of the app. */
  route?: string;
  /** `percentile` % of requests finish within `thresholdMs` (e.g. p95 < 150 ms). */
  latency?: { percentile: number; thresholdMs: number };
  /** Largest share (0..1) of responses with a 5xx status. */
  errorRate?: number;
  /**
   * `percentile` % of process CPU samples (one per system sample interval) stay at or under
   * `maxShare` of one core (0..1). Not per route. Default percentile 99.
   */
  cpu?: { percentile?: number; maxShare: number };
  /** Name of one of `metrics.windows` to measure over. Default: the longest window. */
  window?: string;
  /** Fewer events than this in the window never count as a breach. Default 10. */
  minEvents?: number;
}

/** The `slo` option. */
export interface SloOptions {
  /** The objectives (at least one). */
  objectives: SloObjective[];
  /** How often windows are re-evaluated (events when bad events age out) and CPU sampled, ms. Default 5000. */
  evaluateEveryMs?: number;
}

/** An objective after validation. */
export interface ResolvedObjective {
  name: string;
  route: string | undefined;
  sli: 'latency' | 'errors' | 'cpu';
  /** Latency threshold in ms, or the CPU share threshold. */
  threshold: number;
  percentile: number | undefined;
  /** Allowed share of bad events: 1 - percentile/100, or the error-rate limit. */
  budget: number;
  /** Human-readable objective, e.g. `p95 < 150 ms`. */
  objective: string;
  window: WindowSpec;
  minEvents: number;
}

/** Validates the `slo` option against the engine's metrics windows. */
export function resolveSloOptions(section: unknown, windows: readonly WindowSpec[]): { objectives: ResolvedObjective[]; evaluateEveryMs: number } {
  const o = v.optionalObject('slo', section)!;
  v.knownKeys('slo', o, ['objectives', 'evaluateEveryMs']);
  if (!Array.isArray(o.objectives) || o.objectives.length === 0) {
    throw new InvalidOptionError('slo.objectives', 'a non-empty array of objectives', o.objectives);
  }
  const longest = windows.reduce((a, b) => (b.intervalMs * b.slots > a.intervalMs * a.slots ? b : a));
  const names = new Set<string>();
  const objectives = o.objectives.map((input, i) => {
    const path = `slo.objectives[${i}]`;
    const ob = v.optionalObject(path, input);
    if (ob === undefined) throw new InvalidOptionError(path, 'an objective object', input);
    v.knownKeys(path, ob, ['name', 'route', 'latency', 'errorRate', 'cpu', 'window', 'minEvents']);
    const given = (['latency', 'errorRate', 'cpu'] as const).filter((k) => ob[k] !== undefined);
    if (given.length !== 1) throw new InvalidOptionError(path, 'an objective with exactly one of latency, errorRate, cpu', input);
    let route: string | undefined;
    if (ob.route !== undefined) {
      const p = parsePattern(ob.route as string, `${path}.route`);
      route = p.method === '*' ? p.path : `${p.method} ${p.path}`;
    }
    const windowName = ob.window === undefined ? longest.name : v.string(`${path}.window`, ob.window, '');
    const window = windows.find((w) => w.name === windowName);
    if (window === undefined)
      throw new InvalidOptionError(`${path}.window`, `one of the metrics windows (${windows.map((w) => `'${w.name}'`).join(', ')})`, ob.window);
    const minEvents = v.positiveInteger(`${path}.minEvents`, ob.minEvents, 10);
    const where = route ?? 'all';
    let r: Omit<ResolvedObjective, 'name' | 'route' | 'window' | 'minEvents'>;
    if (ob.latency !== undefined) {
      const l = v.optionalObject(`${path}.latency`, ob.latency)!;
      v.knownKeys(`${path}.latency`, l, ['percentile', 'thresholdMs']);
      const pct = percentileOf(`${path}.latency.percentile`, l.percentile, undefined);
      const ms = v.positiveNumber(`${path}.latency.thresholdMs`, l.thresholdMs, NaN);
      if (Number.isNaN(ms)) throw new InvalidOptionError(`${path}.latency.thresholdMs`, 'a positive number', undefined);
      r = { sli: 'latency', threshold: ms, percentile: pct, budget: budgetOf(pct), objective: `p${pct} < ${ms} ms` };
    } else if (ob.errorRate !== undefined) {
      const max = v.numberInRange(`${path}.errorRate`, ob.errorRate, 0, 0, 1);
      if (max <= 0 || max >= 1) throw new InvalidOptionError(`${path}.errorRate`, 'a share between 0 and 1 (exclusive)', ob.errorRate);
      r = { sli: 'errors', threshold: max, percentile: undefined, budget: max, objective: `5xx rate < ${max * 100} %` };
    } else {
      if (route !== undefined) throw new InvalidOptionError(`${path}.route`, 'absent on a cpu objective (CPU is per process)', ob.route);
      const c = v.optionalObject(`${path}.cpu`, ob.cpu)!;
      v.knownKeys(`${path}.cpu`, c, ['percentile', 'maxShare']);
      const pct = percentileOf(`${path}.cpu.percentile`, c.percentile, 99);
      if (c.maxShare === undefined) throw new InvalidOptionError(`${path}.cpu.maxShare`, 'a share of one core (0..1]', undefined);
      const share = v.numberInRange(`${path}.cpu.maxShare`, c.maxShare, 1, 0, 1);
      r = { sli: 'cpu', threshold: share, percentile: pct, budget: budgetOf(pct), objective: `p${pct} CPU < ${share * 100} % of a core` };
    }
    const name = ob.name === undefined ? `${where} ${r.sli}` : v.string(`${path}.name`, ob.name, '');
    if (names.has(name)) throw new InvalidOptionError(`${path}.name`, 'a unique name', name);
    names.add(name);
    return { ...r, name, route, window, minEvents };
  });
  return { objectives, evaluateEveryMs: v.timerMs('slo.evaluateEveryMs', o.evaluateEveryMs, 5000, { integer: true }) };
}

function percentileOf(path: string, value: unknown, dflt: number | undefined): number {
  if (value === undefined && dflt !== undefined) return dflt;
  if (typeof value !== 'number' || !(value > 0 && value < 100))
    throw new InvalidOptionError(path, 'a percentile between 0 and 100 (exclusive), e.g. 95 or 99.9', value);
  return value;
}

// 1 - 95/100 is 0.050000000000000044 in binary floating point; budgets are compared with counts.
function budgetOf(percentile: number): number {
  return Math.round((1 - percentile / 100) * 1e9) / 1e9;
}
