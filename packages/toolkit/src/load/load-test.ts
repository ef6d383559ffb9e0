import { performance } from 'node:perf_hooks';
import { HttpTarget, type HttpTargetOptions } from './http-target.js';
import { discoverIds } from './ids.js';
import { UsageError, type Slo } from './parse.js';
import { StepRecorder, type StepResult } from './step-recorder.js';

/** Options of {@link runLoadTest}. Give `rates` (open model) or `concurrency` (closed model). */
export interface LoadTestOptions extends Omit<HttpTargetOptions, 'ids'> {
  /** The URL; `:name` placeholders are filled with IDs (`http://127.0.0.1:3000/users/:id`). */
  url: string;
  /**
   * Open model: the arrival rates (req/s) of the steps, in order. Requests are sent on a fixed
   * schedule whether or not earlier ones answered, so a slow server cannot slow the test down and
   * hide its latency (coordinated omission).
   */
  rates?: number[];
  /** Closed model: the number of concurrent clients of each step (each waits for its response). */
  concurrency?: number[];
  /** Load at the first level for this long before measuring (opens connections, warms the JIT), ms. Default 0. */
  warmupMs?: number;
  /** Sending time of each step, ms. Default 5000. */
  stepDurationMs?: number;
  /** The objective that decides the knee. */
  slo?: Slo;
  /** Highest error rate (0–1) a step may have and still meet the SLO. Default 0.01. */
  maxErrorRate?: number;
  /** Stop after the first step that misses the SLO. Default true. */
  stopOnFail?: boolean;
  /** IDs for the URL's placeholders. */
  ids?: readonly string[];
  /** Discover IDs from this JSON list endpoint (absolute, or a path on the URL's origin). */
  idsFrom?: string;
  /** Where the IDs are in the list's JSON (`items.*.id`); see `extractIds`. */
  idsPath?: string;
  /** Called about 4 times a second while running. */
  onProgress?: (p: LoadProgress) => void;
  /** Aborts the run (the steps done so far are reported). */
  signal?: AbortSignal;
}

/** Live figures for a progress display. */
export interface LoadProgress {
  step: number;
  steps: number;
  level: number;
  mode: 'open' | 'closed';
  elapsedMs: number;
  stepDurationMs: number;
  sent: number;
  ok: number;
  failed: number;
  inFlight: number;
}

/** The outcome of a load test. */
export interface LoadReport {
  url: string;
  mode: 'open' | 'closed';
  /** The client's connection limit. */
  connections: number;
  startedAt: string;
  stepDurationMs: number;
  slo: Slo | null;
  maxErrorRate: number;
  /** Distinct IDs the URL rotated through (0 without placeholders). */
  ids: number;
  steps: StepResult[];
  /**
   * The highest level (rate or concurrency) meeting the SLO, every level below it meeting it too;
   * null without an SLO or when the first step already missed it.
   */
  knee: { level: number; achievedRate: number; latencyMs: number } | null;
  /** True when the run stopped at a step that missed the SLO, before the last level. */
  stoppedEarly: boolean;
  /** True when `signal` aborted the run (Ctrl-C in the CLI); the last step is partial. */
  interrupted: boolean;
}

/**
 * Runs a load test in steps (a ramp) and finds the knee. Steps are separated by a drain: a step's
 * figures include every response to its requests, and the next step starts on an empty queue.
 */
export async function runLoadTest(o: LoadTestOptions): Promise<LoadReport> {
  const open = o.concurrency === undefined;
  const levels = open ? o.rates : o.concurrency;
  if (levels === undefined || levels.length === 0) throw new UsageError('give rates (open model) or concurrency (closed model)');
  if (o.rates !== undefined && o.concurrency !== undefined) throw new UsageError('give either a rate or a concurrency, not both');
  if (levels.some((l) => !(l > 0) || !Number.isFinite(l))) throw new UsageError('rates and concurrency levels must be positive');
  if (!open && levels.some((l) => !Number.isInteger(l))) throw new UsageError('concurrency levels must be whole numbers');
  const stepMs = o.stepDurationMs ?? 5000;
  if (!(stepMs > 0)) throw new UsageError('the step duration must be positive');
  const maxErrorRate = o.maxErrorRate ?? 0.01;

  let ids = o.ids;
  if (o.idsFrom !== undefined) {
    const listUrl = new URL(o.idsFrom, o.url.replace(/:[A-Za-z_]\w*/g, 'x')).toString();
    ids = await discoverIds(listUrl, o.idsPath, o.headers);
  }
  const target = new HttpTarget(o.url, { ...o, ids });
  const report: LoadReport = {
    url: o.url,
    connections: target.connections,
    mode: open ? 'open' : 'closed',
    startedAt: new Date().toISOString(),
    stepDurationMs: stepMs,
    slo: o.slo ?? null,
    maxErrorRate,
    ids: target.templated ? target.pathCount : 0,
    steps: [],
    knee: null,
    stoppedEarly: false,
    interrupted: false,
  };
  let counter = 0;
  let current: StepRecorder | undefined;
  let stepIndex = 0;
  const progress =
    o.onProgress === undefined
      ? undefined
      : setInterval(() => {
          if (current === undefined) return;
          o.onProgress!({
            step: stepIndex + 1,
            steps: levels.length,
            level: current.level,
            mode: report.mode,
            elapsedMs: performance.now() - current.startedAt,
            stepDurationMs: stepMs,
            sent: current.sent,
            ok: current.ok,
            failed: current.failed,
            inFlight: current.outstanding,
          });
        }, 250);
  progress?.unref();
  let failedYet = false;
  try {
    const warmupMs = o.warmupMs ?? 0;
    if (warmupMs > 0) {
      const rec = new StepRecorder(levels[0]!, open, performance.now(), open ? Math.ceil((levels[0]! * warmupMs) / 1000) : 1024);
      if (open) await runOpenStep(target, rec, levels[0]!, warmupMs, () => counter++, o.signal);
      else await runClosedStep(target, rec, levels[0]!, warmupMs, () => counter++, o.signal);
      await drained(rec);
    }
    for (stepIndex = 0; stepIndex < levels.length; stepIndex++) {
      if (o.signal?.aborted) break;
      const level = levels[stepIndex]!;
      const start = performance.now();
      const rec = (current = new StepRecorder(level, open, start, open ? Math.ceil((level * stepMs) / 1000) : 1024));
      if (open) await runOpenStep(target, rec, level, stepMs, () => counter++, o.signal);
      else await runClosedStep(target, rec, level, stepMs, () => counter++, o.signal);
      await drained(rec);
      const step = rec.result(stepMs);
      if (o.signal?.aborted === true) {
        // A partial step is reported but never judged: its figures cover less than a step.
        report.steps.push(step);
        report.interrupted = true;
        break;
      }
      if (o.slo !== undefined) {
        const observed = o.slo.percentile >= 100 ? step.latency.max : rec.latencyAt(o.slo.percentile);
        const latencyOk = step.completed > 0 && observed <= o.slo.thresholdMs;
        const errorsOk = step.errorRate <= maxErrorRate;
        step.slo = {
          pass: latencyOk && errorsOk,
          observedMs: Math.round(observed * 1000) / 1000,
          ...(latencyOk && errorsOk
            ? {}
            : { reason: !errorsOk ? `error rate ${(step.errorRate * 100).toFixed(1)}%` : `${o.slo.text.split('<')[0]} ${observed.toFixed(1)}ms` }),
        };
        if (step.slo.pass && !failedYet) report.knee = { level, achievedRate: step.achievedRate, latencyMs: step.slo.observedMs };
        if (!step.slo.pass) failedYet = true;
      }
      report.steps.push(step);
      if (failedYet && (o.stopOnFail ?? true)) {
        report.stoppedEarly = stepIndex < levels.length - 1;
        break;
      }
    }
  } finally {
    current = undefined;
    if (progress !== undefined) clearInterval(progress);
    target.close();
  }
  return report;
}

/** Open model: request i of the step is due at start + i/rate, sent then whatever happened before. */
async function runOpenStep(target: HttpTarget, rec: StepRecorder, rate: number, stepMs: number, next: () => number, signal?: AbortSignal): Promise<void> {
  const total = Math.max(1, Math.round((rate * stepMs) / 1000));
  const interval = 1000 / rate;
  const start = rec.startedAt;
  let i = 0;
  while (i < total && signal?.aborted !== true) {
    const now = performance.now();
    while (i < total) {
      const due = start + i * interval;
      if (due > now) break;
      if (now - due > rec.maxLag) rec.maxLag = now - due;
      fire(target, rec, due, next());
      i++;
    }
    if (i < total) await sleep(start + i * interval - performance.now());
  }
  if (signal?.aborted !== true) await sleep(start + stepMs - performance.now());
}

function fire(target: HttpTarget, rec: StepRecorder, due: number, n: number): void {
  const sentAt = performance.now();
  rec.sent++;
  if (++rec.outstanding > rec.maxOutstanding) rec.maxOutstanding = rec.outstanding;
  target.send(n, (status, error) => {
    rec.outstanding--;
    const now = performance.now();
    // Measured from when the request was *due*, not when it left: queueing anywhere counts.
    if (error === undefined) rec.response(now - due, status, now, now - sentAt);
    else rec.error(error);
    if (rec.outstanding === 0) rec.onIdle?.();
  });
}

/** Closed model: `clients` loops, each sending its next request when the previous one answered. */
async function runClosedStep(target: HttpTarget, rec: StepRecorder, clients: number, stepMs: number, next: () => number, signal?: AbortSignal): Promise<void> {
  const end = rec.startedAt + stepMs;
  const client = async () => {
    while (performance.now() < end && signal?.aborted !== true) {
      await new Promise<void>((resolve) => {
        const sentAt = performance.now();
        rec.sent++;
        if (++rec.outstanding > rec.maxOutstanding) rec.maxOutstanding = rec.outstanding;
        target.send(next(), (status, error) => {
          rec.outstanding--;
          const now = performance.now();
          if (error === undefined) rec.response(now - sentAt, status, now);
          else rec.error(error);
          // A client that got a transport error pauses briefly rather than spinning on a dead server.
          if (error !== undefined) setTimeout(resolve, 10);
          else resolve();
        });
      });
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
}

function drained(rec: StepRecorder): Promise<void> {
  if (rec.outstanding === 0) return Promise.resolve();
  return new Promise((resolve) => {
    rec.onIdle = resolve;
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
