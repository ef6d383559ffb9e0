import type { Attributes, ObservableGauge } from '@opentelemetry/api';
import { publish } from '../events/events.js';
import { WindowedSeries } from '../metrics/windowed-series.js';
import type { FeatureHost } from '../pipeline/feature-host.js';
import type { Exchange } from '../pipeline/exchange.js';
import type { Feature } from '../pipeline/feature.js';
import { CountRing } from './count-ring.js';
import { RouteKeyMap } from './finished-request.js';
import { resolveSloOptions, type ResolvedObjective } from './slo-options.js';

/** One objective's figures in `/metrics` (`features.slo`) and `/metrics/slo`. */
export interface SloStatus {
  name: string;
  route: string | null;
  sli: 'latency' | 'errors' | 'cpu';
  /** The objective in words, e.g. `p95 < 150 ms`. */
  objective: string;
  window: string;
  windowMs: number;
  /** `ok`, `breached` (burn rate > 1 with at least minEvents events), or `no-data`. */
  status: 'ok' | 'breached' | 'no-data';
  /** Requests (or CPU samples) in the window. */
  events: number;
  /** Of those, the bad ones (slow, 5xx, over the CPU share). */
  bad: number;
  /** Share of good events (0..1). */
  compliance: number;
  /** Allowed share of bad events (the error budget as a share). */
  budget: number;
  /** Bad share ÷ allowed share: 1 spends the budget exactly over the window. */
  burnRate: number;
  /** 1 − burn rate: the share of the window's budget left (negative when overspent). */
  errorBudgetRemaining: number;
  /** ISO time the current breach started, or null. */
  breachedSince: string | null;
  /** Latency objectives: the window's percentiles from the core histogram, ms. */
  observed?: { p50Ms: number; p95Ms: number; p99Ms: number; valueMs?: number };
}

/** The JSON of `GET {prefix}/metrics/slo`. */
export interface SloReport {
  instance: string;
  generatedAt: string;
  objectives: SloStatus[];
}

const STANDARD: Record<number, 'p50Ms' | 'p90Ms' | 'p95Ms' | 'p99Ms' | 'p999Ms'> = { 50: 'p50Ms', 90: 'p90Ms', 95: 'p95Ms', 99: 'p99Ms', 99.9: 'p999Ms' };

class ObjectiveState {
  readonly ring: CountRing;
  /** Latency objectives: the core's windowed histogram over the objective's window, for percentiles. */
  readonly latency: WindowedSeries | undefined;
  breachedSince = 0;
  /** `sampledAt` of the last CPU sample counted; -1 before the first. */
  lastCpuSample = -1;
  readonly attributes: Attributes;
  constructor(
    readonly o: ResolvedObjective,
    now: number,
  ) {
    this.ring = new CountRing(o.window.intervalMs, o.window.slots, now);
    this.latency = o.sli === 'latency' ? new WindowedSeries([o.window], now) : undefined;
    this.attributes = Object.freeze(o.route === undefined ? { 'autom8.slo.name': o.name } : { 'autom8.slo.name': o.name, 'autom8.slo.route': o.route });
  }
}

/**
 * Service-level objectives over the engine's metrics windows: compliance, error budget and burn
 * rate per objective, `slo.breached` / `slo.recovered` events at the request (or evaluation) that
 * crosses the line, OTel gauges, and the `/metrics/slo` view.
 *
 * Per request: for each objective that applies, one counter ring increment (and one histogram
 * record for latency objectives), then an O(1) comparison. No allocation.
 */
export class SloFeature implements Feature {
  readonly name = 'slo';
  readonly stage = 0;
  private readonly all: ObjectiveState[] = [];
  private readonly global: ObjectiveState[] = [];
  private readonly cpu: ObjectiveState[] = [];
  private readonly routed = new RouteKeyMap<ObjectiveState[]>();
  private readonly timer: NodeJS.Timeout;
  private instrumented = false;
  private gauges: ObservableGauge[] = [];

  constructor(
    private readonly engine: FeatureHost,
    objectives: readonly ResolvedObjective[],
    evaluateEveryMs: number,
  ) {
    const now = engine.clock.now();
    for (const o of objectives) {
      const s = new ObjectiveState(o, now);
      this.all.push(s);
      if (o.sli === 'cpu') this.cpu.push(s);
      else if (o.route === undefined) this.global.push(s);
      else {
        const list = this.routed.getPattern(o.route);
        if (list === undefined) this.routed.set(o.route, [s], 'slo.objectives.route');
        else list.push(s);
      }
    }
    if (engine.monitoringPrefix !== undefined) engine.addMonitoringEndpoint('/metrics/slo', () => this.report(), { cache: true });
    // Re-evaluates windows when no requests come (bad events ageing out) and samples CPU.
    this.timer = setInterval(() => this.evaluate(), evaluateEveryMs);
    this.timer.unref();
  }

  onResponse(ex: Exchange): void {
    if (ex.monitoring) return;
    if (!this.instrumented) this.instrument();
    const now = ex.endTime;
    const ms = now - ex.startTime;
    const status = ex.status;
    const g = this.global;
    for (let i = 0; i < g.length; i++) this.count(g[i]!, ms, status, now);
    if (this.routed.size === 0) return;
    const route = ex.finalRoute;
    if (route === undefined) return;
    const lists = this.routed.both(ex.method, route);
    if (lists === undefined) return;
    for (let k = 0; k < 2; k++) {
      const list = lists[k];
      if (list !== undefined) for (let i = 0; i < list.length; i++) this.count(list[i]!, ms, status, now);
    }
  }

  private count(s: ObjectiveState, ms: number, status: number, now: number): void {
    const bad = s.o.sli === 'latency' ? ms > s.o.threshold : status >= 500;
    s.ring.record(now, bad, false);
    if (s.latency !== undefined) s.latency.record(ms * 1000, -1, now);
    this.check(s, now);
  }

  /** Publishes a transition if the objective crossed its budget. */
  private check(s: ObjectiveState, now: number): void {
    const { sumTotal: total, sumA: bad } = s.ring;
    const breached = total >= s.o.minEvents && bad > s.o.budget * total;
    if (breached === (s.breachedSince !== 0)) return;
    const o = s.o;
    const burnRate = round(total === 0 ? 0 : bad / total / o.budget);
    if (breached) {
      s.breachedSince = now;
      publish('slo.breached', this.engine.name, {
        slo: o.name,
        route: o.route,
        sli: o.sli,
        burnRate,
        errorBudgetRemaining: round(1 - burnRate),
        compliance: round(1 - bad / total),
        window: o.window.name,
      });
    } else {
      const breachedForMs = Math.round(now - s.breachedSince);
      s.breachedSince = 0;
      publish('slo.recovered', this.engine.name, { slo: o.name, route: o.route, sli: o.sli, burnRate, breachedForMs });
    }
  }

  /** Rotates every window to now, samples CPU, and publishes transitions. The timer calls this. */
  evaluate(): void {
    if (!this.instrumented) this.instrument();
    const now = this.engine.clock.now();
    const system = this.engine.systemSnapshot();
    for (const s of this.all) {
      if (s.o.sli === 'cpu' && system !== undefined && system.sampledAt !== s.lastCpuSample) {
        // The first sample seen is the one taken at start-up, over an interval of ~0: skip it.
        if (s.lastCpuSample !== -1) s.ring.record(now, system.cpuPercent / 100 > s.o.threshold, false);
        else s.ring.rotate(now);
        s.lastCpuSample = system.sampledAt;
      } else {
        s.ring.rotate(now);
      }
      this.check(s, now);
    }
  }

  /** Every objective's status now. */
  statuses(): SloStatus[] {
    this.evaluate();
    const now = this.engine.clock.now();
    return this.all.map((s) => {
      const o = s.o;
      const { sumTotal: total, sumA: bad } = s.ring;
      const burnRate = total === 0 ? 0 : bad / total / o.budget;
      const out: SloStatus = {
        name: o.name,
        route: o.route ?? null,
        sli: o.sli,
        objective: o.objective,
        window: o.window.name,
        windowMs: s.ring.windowMs,
        status: total === 0 ? 'no-data' : s.breachedSince !== 0 ? 'breached' : 'ok',
        events: total,
        bad,
        compliance: round(total === 0 ? 1 : 1 - bad / total),
        budget: round(o.budget),
        burnRate: round(burnRate),
        errorBudgetRemaining: round(1 - burnRate),
        breachedSince: s.breachedSince === 0 ? null : new Date(s.breachedSince).toISOString(),
      };
      if (s.latency !== undefined) {
        const w = s.latency.snapshot(now).windows[o.window.name]!;
        out.observed = { p50Ms: w.p50Ms, p95Ms: w.p95Ms, p99Ms: w.p99Ms };
        const key = STANDARD[o.percentile!];
        if (key !== undefined) out.observed.valueMs = w[key];
      }
      return out;
    });
  }

  /** The `/metrics/slo` JSON. */
  report(): SloReport {
    const objectives = this.statuses();
    return { instance: this.engine.name, generatedAt: new Date(this.engine.clock.now()).toISOString(), objectives };
  }

  snapshot(): SloStatus[] {
    return this.statuses();
  }

  /**
   * OTel gauges, created on first use (the app usually starts the SDK after building middleware):
   * autom8.slo.compliance, autom8.slo.burn_rate, autom8.slo.error_budget.remaining.
   */
  private instrument(): void {
    this.instrumented = true;
    const meter = this.engine.meter();
    if (meter === undefined) return;
    const compliance = meter.createObservableGauge('autom8.slo.compliance', { description: 'Share of good events in the SLO window.', unit: '1' });
    const burn = meter.createObservableGauge('autom8.slo.burn_rate', {
      description: 'Error-budget burn rate over the SLO window (1 = exactly on budget).',
      unit: '1',
    });
    const remaining = meter.createObservableGauge('autom8.slo.error_budget.remaining', {
      description: 'Share of the SLO window error budget left.',
      unit: '1',
    });
    this.gauges = [compliance, burn, remaining];
    meter.addBatchObservableCallback((result) => {
      const statuses = this.statuses();
      for (let i = 0; i < statuses.length; i++) {
        const st = statuses[i]!;
        const attrs = this.all[i]!.attributes;
        result.observe(compliance, st.compliance, attrs);
        result.observe(burn, st.burnRate, attrs);
        result.observe(remaining, st.errorBudgetRemaining, attrs);
      }
    }, this.gauges);
  }

  close(): void {
    clearInterval(this.timer);
  }
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

/** Builds the SLO feature from the `slo` option (undefined: off). */
export function createSloFeature(section: unknown, engine: FeatureHost): SloFeature | undefined {
  if (section === undefined) return undefined;
  const { objectives, evaluateEveryMs } = resolveSloOptions(section, engine.windows);
  return new SloFeature(engine, objectives, evaluateEveryMs);
}
