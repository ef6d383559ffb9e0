import type { Reply } from '../pipeline/request-view.js';
import type { Clock } from '../util/clock.js';

/** Distinct request URLs kept at once; past it the oldest interval's answers are dropped. */
const MAX_ENTRIES = 64;

/**
 * The serialized answers of the monitoring endpoints, each served to every reader for `ttlMs`:
 * however many clients read `/metrics`, the snapshot and its JSON are built at most once per
 * interval and URL.
 */
export class ReplyCache {
  private readonly entries = new Map<string, { at: number; reply: Reply }>();
  /** Answers computed (misses), for tests and figures. */
  computed = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  /** The fresh answer for `key`, or undefined. */
  get(key: string): Reply | undefined {
    if (this.ttlMs === 0) return undefined;
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    const age = this.clock.now() - e.at;
    // A clock that stepped back makes the entry stale too.
    if (age >= 0 && age < this.ttlMs) return e.reply;
    this.entries.delete(key);
    return undefined;
  }

  /** Stores a freshly computed answer. */
  set(key: string, reply: Reply): void {
    this.computed++;
    if (this.ttlMs === 0) return;
    if (this.entries.size >= MAX_ENTRIES) this.evict();
    this.entries.set(key, { at: this.clock.now(), reply });
  }

  private evict(): void {
    const now = this.clock.now();
    for (const [k, e] of this.entries) if (!(now - e.at >= 0 && now - e.at < this.ttlMs)) this.entries.delete(k);
    // All fresh (many distinct URLs within one interval): drop the oldest.
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }
}
