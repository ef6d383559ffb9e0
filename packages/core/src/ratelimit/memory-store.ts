import type { ConsumeResult, LimitPolicy, RateLimitStore } from '../store/contracts.js';
import { systemClock, type Clock } from '../util/clock.js';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { ALGORITHMS, newState, type AlgorithmFn, type LimitState } from './algorithms.js';

/** Options of {@link MemoryRateLimitStore}. */
export interface MemoryRateLimitStoreOptions {
  /** Most keys kept (all policies together); past it, expired then oldest keys are evicted. Default 100 000. */
  maxKeys?: number;
  /** Time source (tests pass a ManualClock). Default the system clock. */
  clock?: Clock;
}

interface PolicyTable {
  readonly fn: AlgorithmFn;
  readonly keys: Map<string, LimitState>;
}

// How many of the oldest entries one insert looks at for an expired one before evicting the oldest.
const EVICTION_SCAN = 8;

/**
 * The embedded rate-limit store: one Map per policy, O(1) per check, synchronous, no timers.
 *
 * Memory is bounded by `maxKeys`. Maps keep insertion order, and a key whose state expired is moved
 * to the back when it is used again, so the front holds the keys least recently started; a new key
 * over the cap evicts an expired key from the front if one is there, else the oldest. A flood of
 * distinct clients can therefore only reset counters of idle clients, never grow memory.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory';
  readonly maxKeys: number;
  private readonly clock: Clock;
  private readonly tables = new Map<LimitPolicy, PolicyTable>();
  private size_ = 0;
  private lastPolicy: LimitPolicy | undefined = undefined;
  private lastTable: PolicyTable = { fn: ALGORITHMS['fixed-window'], keys: new Map() };
  /** Keys evicted because the cap was reached (expired or not). */
  evictions = 0;

  constructor(options: MemoryRateLimitStoreOptions = {}, optionPath = 'store') {
    this.maxKeys = v.positiveInteger(`${optionPath}.maxKeys`, options.maxKeys, 100_000);
    if (options.clock !== undefined && typeof options.clock.now !== 'function') {
      throw new InvalidOptionError(`${optionPath}.clock`, 'an object with now()', options.clock);
    }
    this.clock = options.clock ?? systemClock;
  }

  /** Keys held now, all policies together. */
  get size(): number {
    return this.size_;
  }

  consume(key: string, policy: LimitPolicy, cost: number): ConsumeResult {
    // Most stores serve one or two policies: remember the last one and skip the Map lookup.
    let table = this.lastTable;
    if (this.lastPolicy !== policy) {
      table = this.tables.get(policy) ?? this.tableOf(policy);
      this.lastPolicy = policy;
      this.lastTable = table;
    }
    const now = this.clock.now();
    let state = table.keys.get(key);
    if (state === undefined) {
      if (this.size_ >= this.maxKeys) this.evict(table);
      state = newState();
      table.keys.set(key, state);
      this.size_++;
    } else if (state.exp <= now) {
      // Expired: it starts over, so it moves to the back of the eviction order.
      table.keys.delete(key);
      table.keys.set(key, state);
    }
    return table.fn(state, policy, now, cost);
  }

  reset(key: string, policy: LimitPolicy): void {
    const table = this.tables.get(policy);
    if (table !== undefined && table.keys.delete(key)) this.size_--;
  }

  /** Forgets everything. */
  clear(): void {
    this.tables.clear();
    this.lastPolicy = undefined;
    this.size_ = 0;
  }

  close(): void {
    this.clear();
  }

  private tableOf(policy: LimitPolicy): PolicyTable {
    const fn = ALGORITHMS[policy.algorithm];
    if (fn === undefined) throw new InvalidOptionError('algorithm', 'a known rate-limit algorithm', policy.algorithm);
    const table: PolicyTable = { fn, keys: new Map() };
    this.tables.set(policy, table);
    return table;
  }

  private evict(preferred: PolicyTable): void {
    // An expired key anywhere near the front of any policy's map goes first...
    const now = this.clock.now();
    for (const table of this.tables.values()) {
      let scanned = 0;
      for (const [k, s] of table.keys) {
        if (s.exp <= now) {
          this.drop(table, k);
          return;
        }
        if (++scanned >= EVICTION_SCAN) break;
      }
    }
    // ...else the oldest key of this policy (of the largest one when this one is empty).
    let table = preferred;
    if (table.keys.size === 0) for (const t of this.tables.values()) if (t.keys.size > table.keys.size) table = t;
    const oldest = table.keys.keys().next();
    if (oldest.done !== true) this.drop(table, oldest.value);
  }

  private drop(table: PolicyTable, key: string): void {
    table.keys.delete(key);
    this.size_--;
    this.evictions++;
  }
}
