import type { Attributes, Counter } from '@opentelemetry/api';
import { publish } from '../events/events.js';
import type { FeatureHost } from '../pipeline/feature-host.js';
import type { Exchange, ExchangeSlot } from '../pipeline/exchange.js';
import { Stage, type Feature } from '../pipeline/feature.js';
import type { Reply } from '../pipeline/request-view.js';
import { RouteTable } from '../routing/route-table.js';
import { ConcurrencyLimiter, Partition, Ticket } from './concurrency-limiter.js';
import { LoadShedder } from './load-shedder.js';
import type { LoadSampler } from './load-signal.js';
import { PRIORITIES, priorityIndex } from './priority.js';
import { resolveShedOptions, type ResolvedShedOptions } from './shed-options.js';

const CRITICAL = 0;
/** Shedding counts as stopped after this long without a shed request, ms. */
const QUIET_MS = 1000;
const REASONS = ['load', 'concurrency', 'queue_timeout', 'stale'] as const;
type Reason = (typeof REASONS)[number];
const OTHER_ROUTES = '(other)';
/**
 * Without the delay signal: two over-target batches this close together make a standing queue
 * (CoDel's interval), ms.
 */
const SUSTAIN_MS = 100;
/** Stale shedding, once armed by a smoothed lag at `maxQueueDelayMs`, stays armed while the lag is at least this share of it, */
const DISARM_SHARE = 0.5;
/**
 * or while batches would have lasted this many targets, and that share of `maxQueueDelayMs`, had
 * nothing been shed (the queue still stands, though shedding keeps the lag low). A closed loop of
 * clients whose whole batch takes less than that is never held.
 */
const HOLD_TARGETS = 2;
/**
 * or while a batch's first HOLD_FEW requests (at least HOLD_FEW_MIN of them) would have lasted
 * HOLD_FEW_TARGETS targets. A constant overload of a route of a few milliseconds, with shedding
 * holding it down, makes batches of a handful of requests, about two targets long at 2× (the
 * admitted part of each batch is two service times, and twice that arrives meanwhile): under the
 * absolute floor, so the rule above let it disarm, the queue came back, and every re-arm cost a few
 * hundred milliseconds of it. A healthy closed loop of many clients on a fast route makes batches
 * of many cheap requests, which this does not count, and one of two or three clients on a slow
 * route makes batches too small to count.
 */
const HOLD_FEW_MIN = 4;
const HOLD_FEW = 8;
const HOLD_FEW_TARGETS = 1.5;
/** Samples in a row without that evidence before stale shedding disarms (CoDel's interval). */
const DISARM_SAMPLES = 4;
/**
 * Stale shedding also arms when, in ARM_SAMPLES samples in a row, a batch would have lasted more
 * than the arming level and more than ARM_SERVICES service times (its requests at the measured
 * cost), and the smoothed lag is at least half the arming level. The smoothed delay reads about
 * half a batch's length, so behind a pool of connections on a route of a millisecond or two
 * (batches of 30–40 ms, every request in them waiting up to that) it hovered under the level. A
 * closed loop of ARM_SERVICES clients or fewer never arms it this way, and one of many clients
 * whose lag reads low (their batches' length is GC and preempted slices, not work) does not either.
 */
const ARM_SAMPLES = 4;
const ARM_SERVICES = 6;
/**
 * Or when such samples in a row hold ARM_LONG_MS of long batches (ARM_SAMPLES nominal intervals;
 * each sample counts its longest batch, at most its own length): the sampler's timer waits for
 * each batch, so when every batch is long, each sample is too. Behind a pool of 32 on a 20 ms
 * route at 3×, batches of 10 and then 30 requests (200 and 600 ms) made samples as long as them,
 * and counting samples left arming to the lag, now and then one 600 ms batch later, whose backlog
 * outlived the onset second (docs/load-shedding.md).
 */
const ARM_LONG_MS = 200;
/**
 * Either rule arms only if a batch of ARM_CROWD requests or more was read in the last
 * ARM_CROWD_MS. A queue the process can shed is many requests waiting at once, which the loop reads
 * together. Lag with small batches is work that is not requests (the app's own, a test driver's in
 * the same process, a neighbour taking the CPU), or a pool too small to queue in the process:
 * shedding its few requests saves nothing. Without this, in-process work lagging the loop armed it,
 * and light traffic after that work in a batch was shed as stale.
 */
const ARM_CROWD = 8;
const ARM_CROWD_MS = 1000;
/**
 * Disarmed, batches are tracked (to know the service time when an overload begins) only after a
 * sample in which the loop was busy this share of the time: an idle process pays no `setImmediate`
 * per request.
 */
const TRACK_UTILIZATION = 0.5;
/**
 * The adaptive target: a request may wait this many service times into its batch. Admitted
 * latency is then bounded by a few service times, whatever the route costs.
 */
const TARGET_SERVICES = 2;
/**
 * While armed, the loop idling part of a sample (utilisation under IDLE_UTILIZATION) means stale
 * shedding leaves the CPU unused: behind a small pool of connections every batch is the whole
 * pool, and admitting two service times of it per batch leaves the loop waiting for the clients'
 * next requests. The target then grows by TARGET_GROWTH per sample, up to MAX_TARGET_SERVICES
 * (and the ceiling), and shrinks back by TARGET_SHRINK per sample once the loop is busy again.
 */
const IDLE_UTILIZATION = 0.95;
const BUSY_UTILIZATION = 0.98;
const TARGET_GROWTH = 1.5;
const TARGET_SHRINK = 0.8;
const MAX_TARGET_SERVICES = 6;
/**
 * A route that defers its work (see DEFERRED_RATIO) grows its target only this far: its loop idles
 * while admitted requests wait on their dependency, not because too few were admitted, and a wider
 * target only lengthens the queue their continuations wait in for the CPU. Behind a small pool
 * that wait holds the pool's connections, and the clients' own backlog formed at onset never
 * drained (p99 8–16× the unloaded one from 1 s on, 3× over a pool of 32, Node 24).
 */
const MAX_DEFERRED_TARGET_SERVICES = 3;
/** Floor of the adaptive target, ms: below it, shedding churns more than it saves. */
const MIN_TARGET_MS = 2;
/**
 * Weights of a service-time sample below and above the estimate: it follows the cheap end of the
 * samples, not their mean, which a slice the OS gave to a neighbour (tens of ms inside one
 * request) would otherwise dominate on a busy host.
 */
const SERVICE_DOWN = 0.25;
const SERVICE_UP = 0.025;
/**
 * A route whose CPU per admitted request (the loop's busy time over a sample, less the shed
 * requests at their cost, over the admitted requests that ended) is more than DEFERRED_RATIO times
 * its service time does most of its work after an await, outside the batch that read it. Its
 * requests wait for the CPU between the await and the continuation, where no batch shows it.
 * Armed, it is admitted against what the loop owes (see owedMs): at most a target of that CPU, paid
 * at one millisecond per millisecond. Counted per batch, behind a pool of connections whose batches
 * were a few requests each, the first of every batch was admitted whatever was owed; the
 * continuations then waited 25–35 ms for the CPU, held their connections that long, and the
 * pool's backlog from the onset drained slowly. DEFERRED_MIN_ADMITTED ended requests in a busy
 * sample make an estimate; it is smoothed by DEFERRED_SMOOTHING.
 */
const DEFERRED_RATIO = 4;
const DEFERRED_MIN_ADMITTED = 3;
const DEFERRED_BUSY = 0.8;
const DEFERRED_SMOOTHING = 0.25;
/**
 * What the loop owes is paid down to OWED_CREDIT_TARGETS targets below zero. The continuations run
 * back to back in timer phases, where no request is read, so the gap before the next batch is
 * often longer than a target. Paid down to zero, the rest of that gap was lost, each batch admitted
 * at most a target of CPU, and the loop idled part of the time (on Node 20 goodput fell under the
 * bar). More credit admits more, but behind a small pool the continuations' longer queue holds
 * the connections longer, and at three targets the pool's backlog never drained (BENCHMARKS.md).
 */
const OWED_CREDIT_TARGETS = 1;
/**
 * What a shed request costs, from its start to the next request's in the same batch, smoothed by
 * SHED_SMOOTHING, each at most SHED_MAX_MS (more is a slice the OS gave to another process). The
 * CPU estimate above subtracts it: counted at the service time (a deferring route's is a fraction
 * of a 503's), the shed requests' CPU was charged to the admitted ones, and the estimate rose the
 * more was shed.
 */
const SHED_SMOOTHING = 0.05;
const SHED_MAX_MS = 5;
/** What `held` keeps for a request admitted while batches were tracked, without a concurrency limit: its end is counted. */
const TRACKED: unique symbol = Symbol('autom8.shed.tracked');

/**
 * Load shedding and adaptive concurrency at {@link Stage.SHED}: rejects with 503 + Retry-After
 * before any work when the smoothed load signal says so (probabilistic ramp by priority), and/or
 * holds requests to an adaptive concurrency limit with a bounded wait queue. Exempt and monitoring
 * requests never reach it (the engine's exempt rule).
 */
export class ShedFeature implements Feature {
  readonly name = 'shed';
  readonly stage = Stage.SHED;
  readonly shedder: LoadShedder | undefined;
  private readonly global: ConcurrencyLimiter | undefined;
  private readonly perRoute: Map<string, Map<string, ConcurrencyLimiter>> | undefined;
  private otherRoutes: ConcurrencyLimiter | undefined;
  private routeCount = 0;
  private readonly critical: RouteTable<true> | undefined;
  private readonly reply: Reply;
  private readonly counts = [0, 0, 0, 0];
  /** Start (clock ms) of the current batch of requests read in one poll phase; -1 between batches. */
  private batchStart = -1;
  /** The current batch ran over the target; the previous over-target batch was recent (standing queue). */
  private batchOver = false;
  private standing = false;
  private lastOverAt = -Infinity;
  /** Requests of the current batch so far. */
  private batchCount = 0;
  /** Start (clock ms) of the batch's previous request if it was admitted, else -1. */
  private admittedAt = -1;
  /** Longest batch since the last sample as if nothing had been shed, ms. */
  private demandMs = 0;
  /** The same over at most the first HOLD_FEW requests of each batch, ms. */
  private fewDemandMs = 0;
  /** Samples in a row whose batches would have run past the arming level (see ARM_SAMPLES). */
  private longSamples = 0;
  /** What those samples' longest batches add up to, each at most its sample's length, ms. */
  private longMs = 0;
  private quietSamples = 0;
  /** When (clock ms) a batch last reached ARM_CROWD requests. */
  private crowdAt = -Infinity;
  private readonly endBatch = (): void => {
    this.batchStart = -1;
  };
  /** Longest provable wait before a request is shed as stale, per priority (Infinity: never). */
  private readonly staleAfter: number[];
  /** The target adapts to the measured service time (maxQueueDelayMs not set), up to `ceilingMs`. */
  private readonly adaptive: boolean;
  private readonly ceilingMs: number;
  /**
   * Smoothed synchronous cost of an admitted request, ms: the time from its start to the next
   * request's start in the same batch. NaN until measured.
   */
  private serviceMs = NaN;
  /** Smoothed CPU per admitted request, its continuations included, ms (see DEFERRED_RATIO). NaN until measured. */
  private cpuMs = NaN;
  /** cpuMs when the route defers its work (see DEFERRED_RATIO), else 0. */
  private deferredMs = 0;
  /**
   * What an admitted request costs the loop, ms: its deferred CPU for a route that defers, else its
   * service time, or the CPU per admitted request where that is more. The service time follows the
   * cheap end of its samples, so where cheap requests (404s, health checks, a fast route) share the
   * process with a costly route it reads the cheap ones' cost: the target sat at its floor and the
   * batches' evidence of a standing queue read a fraction of their length. The CPU per admitted
   * request reads the mix's mean, and over one CPU-bound route about the service time
   * (docs/load-shedding.md).
   */
  private get costMs(): number {
    return this.deferredMs || (this.cpuMs > this.serviceMs ? this.cpuMs : this.serviceMs);
  }
  /**
   * A deferring route's CPU the loop still owes, ms: each admitted request adds its deferred CPU,
   * and each batch's start pays one millisecond per millisecond since the last one's (`owedAt`),
   * down to OWED_CREDIT_TARGETS targets below zero.
   */
  private owedMs = 0;
  private owedAt = 0;
  /** Start (clock ms) of the last tracked request, and of the previous one of its batch if it was shed, else -1. */
  private lastStart = -1;
  private shedAt = -1;
  /** Smoothed cost of a shed request, ms (see SHED_SMOOTHING). NaN until measured. */
  private shedMs = NaN;
  /** Since the last sample: requests shed while batches were tracked. */
  private sampleShed = 0;
  /** Since the last sample: admitted requests (see TRACKED) that ended. */
  private sampleEnded = 0;
  private lastSampleAt = NaN;
  /** Service times a request may wait into its batch (TARGET_SERVICES, more while the loop idles). */
  private targetServices = TARGET_SERVICES;
  /** Smoothed lag (ms) at which the load signal shows a standing queue; 0: no delay signal, use batch pairs. */
  private readonly armAtMs: number;
  private readonly disarmAtMs: number;
  /** Stale shedding is on: the lag shows a standing queue (or there is no delay signal to ask). */
  private staleArmed: boolean;
  /** Batches are tracked while disarmed: the loop was busy (see TRACK_UTILIZATION). */
  private tracking = false;
  private counter: Counter | undefined;
  private attrs: Attributes[] | undefined;
  private shedding = false;
  private shedSince = 0;
  private lastShedAt = 0;
  private shedInEpisode = 0;

  /** What a request holds of the concurrency limit: its partition, or its ticket while it waits. */
  private readonly held: ExchangeSlot<Partition | Ticket | typeof TRACKED>;

  constructor(
    private readonly o: ResolvedShedOptions,
    private readonly engine: FeatureHost,
  ) {
    this.held = engine.slot();
    if (o.critical.length > 0) {
      const t = new RouteTable<true>();
      o.critical.forEach((r, i) => t.add(r, true, `shed.critical[${i}]`));
      this.critical = t;
    }
    // critical never; high at twice the target; normal at it; low at half
    const t = o.maxQueueDelayMs > 0 ? o.maxQueueDelayMs : Infinity;
    this.staleAfter = [Infinity, 2 * t, t, t / 2];
    this.ceilingMs = t;
    this.adaptive = o.adaptiveQueueDelay && t < Infinity;
    this.armAtMs = t < Infinity && o.load !== undefined && o.load.limits.maxEventLoopDelayMs > 0 ? t : 0;
    this.disarmAtMs = DISARM_SHARE * this.armAtMs;
    this.staleArmed = t < Infinity && this.armAtMs === 0;
    const c = o.concurrency;
    if (c !== undefined) {
      if (c.scope === 'route') this.perRoute = new Map();
      else this.global = new ConcurrencyLimiter('global', c, engine.clock);
    }
    this.reply = Object.freeze({
      status: o.status,
      headers: Object.freeze({
        'retry-after': String(Math.ceil(o.retryAfterSec)),
        'content-type': o.contentType,
        'content-length': Buffer.byteLength(o.body),
        'cache-control': 'no-store',
      }),
      body: o.body,
    });
    // Created last: a throw above must not leave a sampling timer behind.
    if (o.load !== undefined) {
      this.shedder = new LoadShedder(
        engine.name,
        o.load,
        () => engine.inFlight,
        (s) => this.onLoadSample(s),
      );
    }
  }

  onRequest(ex: Exchange): Reply | undefined | Promise<Reply | undefined> {
    if (this.counter === undefined && this.engine.meter() !== undefined) this.instruments();
    const pi = this.priorityOf(ex);
    const tracked = this.staleArmed || this.tracking;
    if (tracked) {
      // Stale-request shedding (CoDel-style sojourn time). Requests the loop reads in one poll phase
      // were all waiting when it began, so a request seen t ms into the batch has waited ≥ t ms.
      // Past the target it is already late: answering 503 now costs microseconds, serving it would
      // cost its full work and delay every request behind it. As in CoDel, only a standing queue
      // counts, never a burst or a hiccup: it is armed only while the smoothed lag shows one (see
      // onLoadSample). Without the delay signal, a standing queue is a batch over the target after
      // another one within SUSTAIN_MS. Batches are tracked while disarmed too, once the loop is
      // busy, so the service time is known when an overload begins.
      const t = ex.startTime;
      const shedAt = this.shedAt;
      this.shedAt = -1;
      this.lastStart = t;
      if (this.batchStart < 0) {
        this.batchStart = t;
        this.batchOver = false;
        this.batchCount = 1;
        // Paid between batches: while a batch is read, the loop runs no continuation. And only
        // requests in flight owe any: at 1,024 connections the onset's first batches admitted
        // over a second of it by the estimate, which the loop had paid (or had not owed) by the
        // time stale shedding armed, and paying it down by the clock admitted nothing for ~1.5 s.
        // Paid down to a target in credit (see OWED_CREDIT_TARGETS), not to zero.
        if (this.deferredMs > 0 && this.armAtMs > 0) {
          const paid = Math.max(-OWED_CREDIT_TARGETS * this.staleAfter[2]!, this.owedMs - (t - this.owedAt));
          this.owedMs = Math.min(paid, this.engine.inFlight * this.deferredMs);
        }
        this.owedAt = t;
        setImmediate(this.endBatch);
        if (this.owes(pi)) return this.reject('stale', pi);
      } else {
        const waited = t - this.batchStart;
        // The time since the previous request started is what one costs if it was admitted, or what
        // a 503 costs if it was shed.
        if (this.admittedAt >= 0) this.learnService(t - this.admittedAt);
        else if (shedAt >= 0) this.learnShed(t - shedAt);
        // What the batch would last up to this request had nothing been shed (every request at the
        // admitted ones' cost): the evidence that keeps a standing queue armed while shedding
        // holds the lag down.
        const n = ++this.batchCount;
        if (n === ARM_CROWD) this.crowdAt = t;
        const demand = n * (this.costMs || 0);
        if (demand > this.demandMs) this.demandMs = demand;
        if (n >= HOLD_FEW_MIN && n <= HOLD_FEW && demand > this.fewDemandMs) this.fewDemandMs = demand;
        if (this.owes(pi)) return this.reject('stale', pi);
        if (this.staleArmed && waited > this.staleAfter[pi]!) {
          if (this.armAtMs > 0) return this.reject('stale', pi);
          if (!this.batchOver) {
            this.batchOver = true;
            this.standing = t - this.lastOverAt <= SUSTAIN_MS;
            this.lastOverAt = t;
          }
          if (this.standing) return this.reject('stale', pi);
        }
      }
      this.admittedAt = t; // reset by reject() if a later check sheds it
    }
    if (this.shedder !== undefined && !this.shedder.decide(pi)) return this.reject('load', pi);
    if (tracked) this.owedMs += this.deferredMs;
    if (this.shedding) this.checkStopped();
    if (pi === CRITICAL || (this.global === undefined && this.perRoute === undefined)) {
      if (tracked) this.held.set(ex, TRACKED);
      return undefined;
    }
    const limiter = this.global ?? this.routeLimiter(ex);
    const c = this.o.concurrency!;
    const part = c.partition === undefined ? limiter.partitions[0]! : limiter.partition(this.partitionOf(c.partition, ex));
    // The request's start time stands in for "now" (same clock, microseconds old): no clock read.
    const r = limiter.acquire(part, ex.startTime);
    if (r === true) {
      this.held.set(ex, part);
      return undefined;
    }
    if (r === false) return this.reject('concurrency', pi);
    this.held.set(ex, r);
    return new Promise<Reply | undefined>((resolve) => {
      r.settle = (granted) => resolve(granted ? undefined : r.abandoned ? this.reply : this.reject('queue_timeout', pi));
    });
  }

  onResponse(ex: Exchange): void {
    const held = this.held.get(ex);
    if (held === undefined) return;
    this.held.set(ex, undefined);
    if (held === TRACKED) {
      this.sampleEnded++;
      return;
    }
    const dropped = !ex.finished || ex.status >= 500;
    if (held instanceof Partition) {
      this.sampleEnded++;
      held.limiter.release(held, ex.startTime, ex.endTime, dropped);
    } else if (held instanceof Ticket) {
      if (held.granted) {
        this.sampleEnded++;
        held.partition.limiter.release(held.partition, held.acquiredAt, ex.endTime, dropped);
      } else if (held.waiting) {
        // The client went away while waiting: free its place; the adapter's reply goes nowhere.
        held.abandoned = true;
        held.partition.limiter.cancel(held);
        held.settle?.(false);
      }
    }
  }

  /**
   * Armed, on a deferring route: the loop owes a target of CPU to requests already admitted, so this
   * one's continuation would wait past it, where no batch shows the wait.
   */
  private owes(pi: number): boolean {
    return this.staleArmed && this.deferredMs > 0 && this.armAtMs > 0 && this.owedMs >= this.staleAfter[pi]!;
  }

  private priorityOf(ex: Exchange): number {
    if (this.critical !== undefined && this.critical.lookup(ex) === true) return CRITICAL;
    const hook = this.o.priority;
    if (hook === undefined) return 2;
    try {
      return priorityIndex(hook(ex.req, ex));
    } catch (err) {
      this.engine.logger.warn({ err: String(err) }, 'autom8: shed.priority threw; using normal');
      return 2;
    }
  }

  private partitionOf(hook: (req: Exchange['req'], ex: Exchange) => string | undefined, ex: Exchange): string | undefined {
    try {
      return hook(ex.req, ex);
    } catch (err) {
      this.engine.logger.warn({ err: String(err) }, 'autom8: shed.concurrency.partition threw; using the largest partition');
      return undefined;
    }
  }

  // Keyed method → template, so finding the limiter builds no string per request.
  private routeLimiter(ex: Exchange): ConcurrencyLimiter {
    const route = this.engine.knownRoute(ex);
    let byTemplate = route === undefined ? undefined : this.perRoute!.get(ex.method);
    let l = byTemplate?.get(route!);
    if (l !== undefined) return l;
    if (route === undefined || this.routeCount >= this.o.concurrency!.maxRoutes) {
      return (this.otherRoutes ??= new ConcurrencyLimiter(OTHER_ROUTES, this.o.concurrency!, this.engine.clock));
    }
    if (byTemplate === undefined) this.perRoute!.set(ex.method, (byTemplate = new Map<string, ConcurrencyLimiter>()));
    l = new ConcurrencyLimiter(`${ex.method} ${route}`, this.o.concurrency!, this.engine.clock);
    byTemplate.set(route, l);
    this.routeCount++;
    return l;
  }

  /** Every per-route limiter, the shared one for other routes last. */
  private routeLimiters(): ConcurrencyLimiter[] {
    const out: ConcurrencyLimiter[] = [];
    for (const m of this.perRoute!.values()) for (const l of m.values()) out.push(l);
    if (this.otherRoutes !== undefined) out.push(this.otherRoutes);
    return out;
  }

  private reject(reason: Reason, pi: number): Reply {
    const ri = reason === 'load' ? 0 : reason === 'concurrency' ? 1 : reason === 'queue_timeout' ? 2 : 3;
    this.counts[ri]!++;
    const now = this.engine.clock.now();
    this.lastShedAt = now;
    this.shedInEpisode++;
    this.sampleShed++;
    this.admittedAt = -1;
    this.shedAt = this.lastStart;
    if (!this.shedding) {
      this.shedding = true;
      this.shedSince = now;
      this.shedInEpisode = 1;
      publish('shed.started', this.engine.name, { reason, load: this.shedder?.load ?? 0, limit: this.currentLimit() });
    }
    this.counter?.add(1, this.attrs![ri * 4 + pi]);
    return this.reply;
  }

  /**
   * Arms stale shedding once the smoothed, utilisation-weighted event-loop delay reaches
   * `maxQueueDelayMs`. A standing queue keeps the loop that late; a saturated but healthy process
   * (a closed loop of fast requests, batches now and then running over after a GC pause or a
   * preempted slice) does not, though single batches of it do run over the target. The smoothing
   * is the CoDel interval here: it takes sustained lag, not one slow batch, to arm, and lag the
   * loop's batches were crowded for (see ARM_CROWD).
   *
   * Once armed, shedding itself keeps the lag low (that is its job), so the lag alone would disarm
   * it while the queue still stands, and the queue would build again. It stays armed while either
   * the lag stays over half the arming level or batches would have run past HOLD_TARGETS targets
   * (and past half the arming level)
   * had nothing been shed, and disarms after DISARM_SAMPLES samples in a row with neither.
   */
  private onLoadSample(s: LoadSampler): void {
    if (this.armAtMs > 0) {
      const now = this.engine.clock.now();
      const elapsed = now - this.lastSampleAt; // NaN on the first sample
      this.lastSampleAt = now;
      this.learnCpu(s.lastUtilization, elapsed);
      const target = this.staleAfter[2]!;
      const long = this.demandMs > this.armAtMs && this.demandMs > ARM_SERVICES * this.costMs;
      this.longSamples = long ? this.longSamples + 1 : 0;
      this.longMs = long ? this.longMs + Math.min(this.demandMs, elapsed || 0) : 0;
      const longEnough = this.longSamples >= ARM_SAMPLES || this.longMs >= ARM_LONG_MS;
      if (!this.staleArmed) {
        const crowded = now - this.crowdAt <= ARM_CROWD_MS;
        if (crowded && (s.lagMs >= this.armAtMs || (longEnough && s.lagMs >= this.disarmAtMs))) {
          this.staleArmed = true;
          this.quietSamples = 0;
        }
      } else if (
        s.lagMs >= this.disarmAtMs ||
        this.demandMs >= Math.max(HOLD_TARGETS * target, this.disarmAtMs) ||
        this.fewDemandMs >= HOLD_FEW_TARGETS * target
      ) {
        this.quietSamples = 0;
      } else if (++this.quietSamples >= DISARM_SAMPLES) {
        this.staleArmed = false;
        this.targetServices = TARGET_SERVICES;
      }
      this.tracking = s.lastUtilization >= TRACK_UTILIZATION;
      if (this.staleArmed && this.adaptive) {
        const elu = s.lastUtilization;
        let n = this.targetServices;
        if (elu < IDLE_UTILIZATION) n *= TARGET_GROWTH;
        else if (elu > BUSY_UTILIZATION) n = Math.max(TARGET_SERVICES, n * TARGET_SHRINK);
        this.targetServices = Math.min(this.deferredMs > 0 ? MAX_DEFERRED_TARGET_SERVICES : MAX_TARGET_SERVICES, n);
      }
      this.demandMs = 0;
      this.fewDemandMs = 0;
    }
    this.checkStopped();
  }

  /**
   * The CPU per admitted request over the last sample, continuations included: the loop's busy time
   * less the shed requests (at their measured cost) over the admitted requests that ended in it.
   * A sample's CPU is the continuations of requests admitted up to a dependency's wait before; over
   * the requests admitted in it, the estimate doubled or tripled in the sample shedding began, when
   * admissions fell and the requests already in flight still ran. Only a busy sample with a few of
   * them tells; the route defers its work when this is DEFERRED_RATIO times its service time.
   */
  private learnCpu(utilization: number, elapsed: number): void {
    const ended = this.sampleEnded;
    const shed = this.sampleShed;
    this.sampleEnded = 0;
    this.sampleShed = 0;
    // Armed, a less busy sample tells too: admitted against what it owes, a route whose estimate
    // read high idles the loop, and were that sample ignored the estimate would stay high.
    if (!(elapsed > 0) || !(this.serviceMs > 0) || ended < DEFERRED_MIN_ADMITTED || (utilization < DEFERRED_BUSY && !this.staleArmed)) return;
    const shedCost = this.shedMs >= 0 ? this.shedMs : this.serviceMs;
    const ms = Math.max(0, utilization * elapsed - shed * shedCost) / ended;
    const e = this.cpuMs;
    this.cpuMs = e >= 0 ? e + DEFERRED_SMOOTHING * (ms - e) : ms;
    this.deferredMs = this.cpuMs > DEFERRED_RATIO * this.serviceMs ? this.cpuMs : 0;
    this.retarget();
  }

  /**
   * Folds one admitted request's cost into the service time and moves the adaptive target to
   * targetServices of it (between MIN_TARGET_MS and the ceiling), per priority as the fixed one.
   */
  private learnService(ms: number): void {
    if (ms > this.ceilingMs) ms = this.ceilingMs;
    const e = this.serviceMs;
    this.serviceMs = e >= 0 ? e + (ms < e ? SERVICE_DOWN : SERVICE_UP) * (ms - e) : ms;
    this.retarget();
  }

  /** Folds one shed request's cost into shedMs. */
  private learnShed(ms: number): void {
    if (ms > SHED_MAX_MS) ms = SHED_MAX_MS;
    const e = this.shedMs;
    this.shedMs = e >= 0 ? e + SHED_SMOOTHING * (ms - e) : ms;
  }

  /** Moves the adaptive target to targetServices of what a request costs (the deferred CPU for a route that defers). */
  private retarget(): void {
    if (!this.adaptive) return;
    const cost = this.costMs;
    if (!(cost >= 0)) return;
    const t = Math.min(this.ceilingMs, Math.max(MIN_TARGET_MS, this.targetServices * cost));
    const a = this.staleAfter;
    a[1] = 2 * t;
    a[2] = t;
    a[3] = t / 2;
  }

  private checkStopped(): void {
    if (!this.shedding) return;
    const now = this.engine.clock.now();
    if (now - this.lastShedAt < QUIET_MS) return;
    this.shedding = false;
    publish('shed.stopped', this.engine.name, { shed: this.shedInEpisode, durationMs: Math.round(this.lastShedAt - this.shedSince) });
  }

  private currentLimit(): number {
    return this.global !== undefined ? Math.floor(this.global.limit) : 0;
  }

  /** OTel instruments, created once on first use (the SDK is often registered after the app). */
  private instruments(): void {
    const meter = this.engine.meter()!;
    this.counter = meter.createCounter('autom8.shed.requests', {
      description: 'Requests rejected by load shedding or the concurrency limit.',
      unit: '{request}',
    });
    this.attrs = [];
    for (const reason of REASONS)
      for (const priority of PRIORITIES) this.attrs.push(Object.freeze({ 'autom8.shed.reason': reason, 'autom8.shed.priority': priority }));
    if (this.shedder !== undefined) {
      meter
        .createObservableGauge('autom8.shed.load', { description: 'Smoothed load signal (0..1) load shedding acts on.', unit: '1' })
        .addCallback((r) => r.observe(this.shedder!.load));
    }
    if (this.o.concurrency !== undefined) {
      meter
        .createObservableGauge('autom8.shed.concurrency_limit', { description: 'Current adaptive concurrency limit.', unit: '{request}' })
        .addCallback((r) => {
          if (this.global !== undefined) r.observe(Math.floor(this.global.limit));
          else for (const l of this.routeLimiters()) r.observe(Math.floor(l.limit), { 'autom8.shed.route': l.name });
        });
    }
  }

  snapshot(): unknown {
    if (this.shedding) this.checkStopped();
    const out: Record<string, unknown> = {
      shedding: this.shedding,
      shed: { load: this.counts[0], concurrency: this.counts[1], queueTimeout: this.counts[2], stale: this.counts[3] },
    };
    if (this.staleAfter[2]! < Infinity) {
      out.staleArmed = this.staleArmed;
      out.queueDelayTargetMs = Math.round(this.staleAfter[2]! * 1000) / 1000;
    }
    if (this.shedder !== undefined) out.load = this.shedder.snapshot();
    if (this.global !== undefined) out.concurrency = this.global.snapshot();
    else if (this.perRoute !== undefined) {
      const routes: Record<string, unknown> = {};
      for (const l of this.routeLimiters()) routes[l.name] = l.snapshot();
      out.concurrency = { scope: 'route', routes };
    }
    return out;
  }

  close(): void {
    this.shedder?.close();
    this.global?.close();
    if (this.perRoute !== undefined) for (const l of this.routeLimiters()) l.close();
  }
}

/** The `shed` entry of the feature registry: builds the feature from `options.shed`. */
export function createShedFeature(section: unknown, engine: FeatureHost): Feature | undefined {
  const o = resolveShedOptions(section);
  if (o === undefined) return undefined;
  return new ShedFeature(o, engine);
}
