import type { ConsumeResult, LimitPolicy } from '@autom8/core';

/**
 * One hot key's local state in leased mode: the units of its current lease, the rate it has shown,
 * and a cached refusal. Plain fields, one shape, so the table's entries stay monomorphic. Only keys
 * the {@link HotFilter} found hot get one: a cold key allocates and keeps nothing.
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
    /** The client key and its {@link hashKey} under the policy (what the filter finds it by). */
    readonly key: string,
    readonly hash: number,
    /** The policy the key is limited by (what a give-back call needs). */
    readonly policy: LimitPolicy,
    since: number,
    used: number,
  ) {
    this.since = since;
    this.used = used;
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

/** FNV-1a of a string, from `seed`: 32 bits, never 0 (0 marks an empty slot). */
export function hashKey(key: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h | 1;
}

/**
 * Which keys are hot enough to lease, found without keeping cold keys: fixed typed arrays indexed
 * by {@link hashKey}, two slots a bucket. Counter slots hold a key's hash, the start of its rate
 * sample and the units asked since; a key seen for the first time takes the staler slot of its
 * bucket (a cold key overwrites another cold key's count: no allocation, no Map, nothing for the GC
 * to keep). A key that asks `minRequests` units within `ttlMs` is hot: its {@link LeaseEntry} goes
 * into a free entry slot of its bucket, where the store finds it by hash and key on every check.
 * A hot key finding both entry slots held by live entries stays exact (always safe); so may a key
 * whose count is overwritten before it turns hot under a flood of cold keys.
 */
export class HotFilter {
  /** Buckets − 1 (a power of two minus one). */
  private readonly mask: number;
  private readonly hashes: Int32Array;
  private readonly since: Float64Array;
  private readonly used: Float64Array;
  private readonly entries: (LeaseEntry | undefined)[];
  /** After {@link count} said hot: the key's rate sample. */
  sampleSince = 0;
  sampleUsed = 0;

  constructor(
    maxKeys: number,
    private readonly ttlMs: number,
    private readonly minRequests: number,
  ) {
    let buckets = 32;
    while (buckets < maxKeys && buckets < 1 << 20) buckets *= 2;
    this.mask = buckets - 1;
    this.hashes = new Int32Array(buckets * 2);
    this.since = new Float64Array(buckets * 2);
    this.used = new Float64Array(buckets * 2);
    this.entries = new Array<LeaseEntry | undefined>(buckets * 2).fill(undefined);
  }

  private bucketOf(hash: number): number {
    return ((hash ^ (hash >>> 15)) & this.mask) << 1;
  }

  /** The live entry of `key` under `policy`, if it is hot. */
  find(hash: number, key: string, policy: LimitPolicy): LeaseEntry | undefined {
    const b = this.bucketOf(hash);
    let e = this.entries[b];
    if (e !== undefined && e.hash === hash && e.key === key && !e.evicted && samePolicy(e.policy, policy)) return e;
    e = this.entries[b + 1];
    if (e !== undefined && e.hash === hash && e.key === key && !e.evicted && samePolicy(e.policy, policy)) return e;
    return undefined;
  }

  /**
   * Counts `cost` units asked for a key with no entry; true when it turns hot (its sample is then in
   * {@link sampleSince} and {@link sampleUsed}, this request's cost included, and its count cleared).
   */
  count(hash: number, cost: number, now: number): boolean {
    const b = this.bucketOf(hash);
    const s = this.hashes[b] === hash ? b : this.hashes[b + 1] === hash ? b + 1 : this.since[b]! <= this.since[b + 1]! ? b : b + 1;
    if (this.hashes[s] !== hash || now - this.since[s]! >= this.ttlMs) {
      this.hashes[s] = hash;
      this.since[s] = now;
      this.used[s] = cost;
    } else {
      this.used[s]! += cost;
    }
    if (this.used[s]! < this.minRequests) return false;
    this.sampleSince = this.since[s]!;
    this.sampleUsed = this.used[s]!;
    this.hashes[s] = 0;
    this.used[s] = 0;
    return true;
  }

  /** Puts a hot key's entry in a free slot of its bucket; false when both hold live entries. */
  place(e: LeaseEntry): boolean {
    const b = this.bucketOf(e.hash);
    for (let s = b; s < b + 2; s++) {
      const old = this.entries[s];
      if (old === undefined || old.evicted) {
        this.entries[s] = e;
        return true;
      }
    }
    return false;
  }

  /** Forgets every entry and count (close). */
  clear(): void {
    this.entries.fill(undefined);
    this.hashes.fill(0);
    this.used.fill(0);
  }
}

/** Policies that name the same Redis key (two objects may describe one limit). */
function samePolicy(a: LimitPolicy, b: LimitPolicy): boolean {
  return a === b || (a.name === b.name && a.algorithm === b.algorithm);
}
