import type { ConsumeResult, LimitPolicy } from '@autom8/core';

/**
 * One key's local state in leased mode: the units of its current lease, the rate it has shown,
 * and a cached refusal. Plain fields, one shape, so the table's entries stay monomorphic.
 */
export class LeaseEntry {
  /** Units of the current lease not yet served. */
  units = 0;
  /** Local ms after which the lease's units may no longer be served. */
  expiresAt = 0;
  /** Redis ms of the current lease (tells the script which window given-back units belong to). */
  redisAt = 0;
  /** Local ms the current lease (or the rate sample before the first one) started. */
  since: number;
  /** Units asked for since `since`: the key's rate, which sizes the next lease. */
  used = 0;
  /** Whether the key has shown enough requests per lease interval to lease. */
  hot = false;
  /** Figures of the last reply, for the headers of locally served requests. */
  remaining = 0;
  limit = 0;
  resetMs = 0;
  /** Local ms until which a refusal is repeated without asking Redis, and for which cost and up. */
  deniedUntil = 0;
  deniedCost = 0;
  /** The lease call in flight, which concurrent requests for the key wait for instead of asking too. */
  pending: Promise<unknown> | undefined = undefined;
  /** Set when evicted: its units were given back, so waiters must not serve from it. */
  evicted = false;

  constructor(
    now: number,
    /** The policy the key is limited by (what a give-back call needs). */
    readonly policy: LimitPolicy,
  ) {
    this.since = now;
  }

  /** Serves `cost` units from the lease, or returns undefined when it cannot. */
  take(cost: number, now: number): ConsumeResult | undefined {
    if (this.units < cost || now >= this.expiresAt) return undefined;
    this.units -= cost;
    this.used += cost;
    // Remaining as the fleet sees it: what Redis had left after the lease, plus what is unserved here.
    return { allowed: true, remaining: this.remaining + this.units, limit: this.limit, resetMs: this.resetMs, retryAfterMs: 0, delayMs: 0 };
  }

  /** The cached refusal for `cost`, or undefined when Redis must be asked. */
  refusal(cost: number, now: number): ConsumeResult | undefined {
    if (now >= this.deniedUntil || cost < this.deniedCost) return undefined;
    const wait = Math.ceil(this.deniedUntil - now);
    return { allowed: false, remaining: 0, limit: this.limit, resetMs: Math.max(wait, this.resetMs), retryAfterMs: wait, delayMs: 0 };
  }
}

/**
 * The local lease table: key → {@link LeaseEntry}, at most `maxKeys` entries, in two generations
 * as core's memory store keeps its keys (and for the same V8 reasons: a fresh Map iterator steps
 * over every entry deleted since the last rehash, so "evict the first key of one Map" costs O(cap)
 * per eviction). New keys and keys taking a new lease go to `young`; eviction takes the oldest of
 * `old` through one forward-only iterator, and when `old` is spent `young` becomes `old`. Evicted
 * entries with unserved units are handed to `onEvict`, which gives them back.
 */
export class LeaseTable {
  private young = new Map<string, LeaseEntry>();
  private old = new Map<string, LeaseEntry>();
  private cursor: IterableIterator<[string, LeaseEntry]> | undefined = undefined;

  constructor(
    private readonly maxKeys: number,
    private readonly onEvict: (key: string, entry: LeaseEntry) => void,
  ) {}

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: string): LeaseEntry | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  /** Adds a key not in the table, evicting the oldest entry past the cap. */
  add(key: string, entry: LeaseEntry): void {
    if (this.size >= this.maxKeys) this.evictOne();
    this.young.set(key, entry);
  }

  /** Keeps a key that took a new lease among the young (it moves at most once per generation). */
  touch(key: string, entry: LeaseEntry): void {
    if (this.old.get(key) === entry) {
      this.old.delete(key);
      this.young.set(key, entry);
    }
  }

  /** Forgets `key` without giving its units back (the key itself is being reset). */
  delete(key: string): void {
    const e = this.get(key);
    if (e === undefined) return;
    if (!this.young.delete(key)) this.old.delete(key);
    e.evicted = true;
    e.units = 0;
  }

  /** Unserved leased units over every key (counts expired leases too: their units are not back yet). */
  units(): number {
    let n = 0;
    for (const e of this.young.values()) n += e.units;
    for (const e of this.old.values()) n += e.units;
    return n;
  }

  /** Every entry, emptying the table (close). */
  drain(): [string, LeaseEntry][] {
    const all = [...this.old, ...this.young];
    this.young = new Map();
    this.old = new Map();
    this.cursor = undefined;
    for (const [, e] of all) e.evicted = true;
    return all;
  }

  private evictOne(): void {
    for (;;) {
      if (this.cursor === undefined) {
        if (this.old.size === 0) {
          if (this.young.size === 0) return;
          this.old = this.young;
          this.young = new Map();
        }
        this.cursor = this.old.entries();
      }
      const next = this.cursor.next();
      if (next.done === true) {
        this.cursor = undefined;
        // Spent (every entry moved or evicted): flip on the next turn.
        if (this.old.size !== 0) this.old = new Map([...this.old]);
        continue;
      }
      const [k, e] = next.value;
      if (this.old.get(k) !== e) continue;
      this.old.delete(k);
      e.evicted = true;
      if (e.units > 0) this.onEvict(k, e);
      return;
    }
  }
}
