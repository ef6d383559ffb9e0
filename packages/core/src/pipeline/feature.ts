import type { Exchange } from './exchange.js';
import type { Reply } from './request-view.js';

/**
 * Where a feature runs in the request-start decision, lowest first. The order is the one the design
 * fixes: exempt (always first, in the engine) → shed → rate limit → cache.
 */
export const Stage = Object.freeze({
  SHED: 100,
  RATE_LIMIT: 200,
  CACHE: 300,
});

/**
 * A feature plugged into the per-request pipeline. Every feature is written once, here in core; the
 * adapters only drive the pipeline.
 */
export interface Feature {
  /** Short name; also the key of the feature's section in `/metrics` JSON. */
  readonly name: string;
  /** Position in the request-start decision (see {@link Stage}). */
  readonly stage: number;
  /**
   * Decides at request start, for requests that are not exempt. Return a {@link Reply} to answer
   * without calling the app (429, 503, cache hit), or undefined to go on. Return a Promise only when
   * the decision really waits on I/O (a network store): the in-memory path stays synchronous.
   */
  onRequest?(ex: Exchange): Reply | undefined | Promise<Reply | undefined>;
  /** Called once when the response is over (finished or aborted), exempt requests included. */
  onResponse?(ex: Exchange): void;
  /** The feature's figures for `/metrics` JSON. */
  snapshot?(): unknown;
  /** Stops timers and releases resources. */
  close?(): void | Promise<void>;
}
