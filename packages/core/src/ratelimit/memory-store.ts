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

/**
 * One policy's keys in two generations, both in the order they were started. New and restarted keys
 * go to `young`; eviction takes from `old`, and when `old` is spent `young` becomes `old`. Two
 * generations, not one Map with "move to the back on restart", because of how V8 Maps behave:
 * - a deleted entry stays in its hash bucket's chain until the Map is rehashed, so deleting and
 *   re-adding the same key on every restart made that bucket's chain grow with every restart:
 *   40 µs per check for often-restarting keys among 1M (a key restarts whenever its state expired
 *   between two requests, e.g. every request of a client far below a token-bucket limit);
 * - a fresh iterator starts at the first slot and steps over every entry deleted since the last
 *   rehash, so reading the oldest key per eviction was O(cap): 60 µs per new key at 100k keys.
 * Here a key moves at most once per generation, and eviction reads `old` through one iterator that
 * only moves forward (`old` never grows, so it never misses an entry).
 */
interface PolicyTable {
  readonly fn: AlgorithmFn;
  young: Map<string, LimitState>;
  old: Map<string, LimitState>;
  /** Reads `old` from its oldest entry on; undefined until the first eviction after a flip. */
  cursor: IterableIterator<[string, LimitState]> | undefined;
  /** Entries the cursor has passed and not evicted, oldest first (some may since have moved or been reset). */
  readonly front: [string, LimitState][];
}

// How many of the oldest entries one insert looks at for an expired one before evicting the oldest.
const EVICTION_SCAN = 8;

const newTable = (fn: AlgorithmFn): PolicyTable => ({ fn, young: new Map(), old: new Map(), cursor: undefined, front: [] });

/**
 * The embedded rate-limit store: one table per policy, O(1) per check, synchronous, no timers.
 *
 * Memory is bounded by `maxKeys`. Keys are kept in the order they were last started (first seen,
 * or used again after their state expired), to within one generation; a new key over the cap evicts
 * an expired key from among the oldest few if one is there, else the oldest. A flood of distinct
 * clients can therefore only reset counters of the least recently started clients, never grow
 * memory.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory';
  readonly maxKeys: number;
  private readonly clock: Clock;
  private readonly tables = new Map<LimitPolicy, PolicyTable>();
  private size_ = 0;
  private lastPolicy: LimitPolicy | undefined = undefined;
  private lastTable: PolicyTable = newTable(ALGORITHMS['fixed-window']);
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
    let state = table.young.get(key);
    if (state === undefined) {
      state = table.old.get(key);
      if (state === undefined) {
        if (this.size_ >= this.maxKeys) this.evict(table);
        state = newState();
        table.young.set(key, state);
        this.size_++;
      } else if (state.exp <= now) {
        // Expired: it starts over, so it joins the young generation. (A young key that restarts
        // stays where it is: it is among the most recently started already.)
        table.old.delete(key);
        table.young.set(key, state);
      }
    }
    return table.fn(state, policy, now, cost);
  }

  reset(key: string, policy: LimitPolicy): void {
    const table = this.tables.get(policy);
    if (table !== undefined && (table.young.delete(key) || table.old.delete(key))) this.size_--;
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
    const table = newTable(fn);
    this.tables.set(policy, table);
    return table;
  }

  private evict(preferred: PolicyTable): void {
    // An expired key among the oldest few of any policy goes first...
    const now = this.clock.now();
    for (const table of this.tables.values()) {
      const front = this.frontOf(table);
      for (let i = 0; i < front.length; i++) {
        const [k, s] = front[i]!;
        if (s.exp > now) continue;
        front.splice(i--, 1);
        if (table.old.get(k) === s) {
          this.drop(table, k);
          return;
        }
      }
    }
    // ...else the oldest key of this policy (of the largest one when this one is empty).
    let table = preferred;
    if (sizeOf(table) === 0) for (const t of this.tables.values()) if (sizeOf(t) > sizeOf(table)) table = t;
    for (;;) {
      const e = this.frontOf(table).shift();
      if (e === undefined) return; // every table is empty
      if (table.old.get(e[0]) === e[1]) {
        this.drop(table, e[0]);
        return;
      }
    }
  }

  /** Up to EVICTION_SCAN of the table's oldest entries; turns `young` into `old` when `old` is spent. */
  private frontOf(table: PolicyTable): [string, LimitState][] {
    const front = table.front;
    if (table.old.size === 0 && table.young.size > 0) {
      table.old = table.young;
      table.young = new Map();
      table.cursor = table.old.entries();
      front.length = 0;
    }
    while (front.length < EVICTION_SCAN && table.cursor !== undefined) {
      const next = table.cursor.next();
      if (next.done === true) table.cursor = undefined;
      else front.push(next.value);
    }
    return front;
  }

  private drop(table: PolicyTable, key: string): void {
    table.old.delete(key);
    this.size_--;
    this.evictions++;
  }
}

function sizeOf(table: PolicyTable): number {
  return table.young.size + table.old.size;
}
