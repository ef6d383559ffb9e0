/**
 * How long to wait before re-forking a worker slot whose worker died. A worker that crashes at
 * start (bad config, Redis DNS, a bug) would otherwise be re-forked in a tight loop, burning CPU
 * and flooding logs: each quick death doubles the wait, up to `maxMs`; a worker that lived
 * `stableMs` resets it.
 */
export class RespawnBackoff {
  private quickDeaths = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly maxMs = 30_000,
    private readonly stableMs = 10_000,
  ) {}

  /** The delay before the next fork, given how long the worker that just died had lived. */
  next(livedMs: number): number {
    if (livedMs >= this.stableMs) this.quickDeaths = 0;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** this.quickDeaths);
    this.quickDeaths++;
    return delay;
  }
}
