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
 * The local lease table: key → {@link LeaseEntry}, at most `maxKeys` entries; the oldest entry is
 * evicted first (Map insertion order; a key is re-inserted when it takes a new lease, so hot keys
 * stay). Evicted entries with unserved units are handed to `onEvict`, which gives them back.
 */
export class LeaseTable {
  private readonly map = new Map<string, LeaseEntry>();

  constructor(
    private readonly maxKeys: number,
    private readonly onEvict: (key: string, entry: LeaseEntry) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): LeaseEntry | undefined {
    return this.map.get(key);
  }

  /** Inserts (or moves to the young end) `key`, evicting the oldest entry past the cap. */
  put(key: string, entry: LeaseEntry): void {
    this.map.delete(key);
    this.map.set(key, entry);
    if (this.map.size > this.maxKeys) {
      const oldest = this.map.keys().next().value as string;
      const e = this.map.get(oldest)!;
      this.map.delete(oldest);
      e.evicted = true;
      if (e.units > 0) this.onEvict(oldest, e);
    }
  }

  /** Unserved leased units over every key (counts expired leases too: their units are not back yet). */
  units(): number {
    let n = 0;
    for (const e of this.map.values()) n += e.units;
    return n;
  }

  /** Every entry, emptying the table (close). */
  drain(): [string, LeaseEntry][] {
    const all = [...this.map];
    this.map.clear();
    for (const [, e] of all) e.evicted = true;
    return all;
  }
}
