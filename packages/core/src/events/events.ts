import diagnosticsChannel from 'node:diagnostics_channel';

/**
 * Performance events, one typed stream. Each event type is published on its own
 * `node:diagnostics_channel` channel named `autom8:<type>` (Node's convention for library
 * instrumentation: publishing with no subscriber costs nothing), and {@link subscribe} listens to
 * them with types.
 *
 * Features add their event types to {@link Autom8EventMap}.
 */
export interface Autom8EventMap {
  /** A store call failed or timed out and its outage policy took over. */
  'store.degraded': { store: string; policy: string; reason: string };
  /** The store answered again for long enough (hysteresis) and is used again. */
  'store.recovered': { store: string; downForMs: number };
  /** A rate limit refused a request (or would have, in dry run). */
  'ratelimit.limited': { limiter: string; key: string; route: string | undefined; dryRun: boolean; retryAfterMs: number };
  /** An SLO's error budget is burning faster than it allows over its window (burn rate > 1). */
  'slo.breached': { slo: string; route: string | undefined; sli: string; burnRate: number; errorBudgetRemaining: number; compliance: number; window: string };
  /** A breached SLO is back within its budget (the bad events aged out of the window). */
  'slo.recovered': { slo: string; route: string | undefined; sli: string; burnRate: number; breachedForMs: number };
  /** A request took longer than its slow-request threshold. */
  'request.slow': { method: string; route: string; durationMs: number; status: number; thresholdMs: number; traceId: string | undefined };
  /** Requests started being shed (load over the soft threshold, or the concurrency limit full). */
  'shed.started': { reason: 'load' | 'concurrency' | 'queue_timeout' | 'stale'; load: number; limit: number };
  /** No request has been shed for a second: shedding stopped. */
  'shed.stopped': { shed: number; durationMs: number };
  /** A circuit breaker opened: calls fail fast until `halfOpenAfter` has passed. */
  'breaker.opened': { breaker: string; reason: 'error-rate' | 'latency' | 'probe-failed'; errorRate: number; slowRate: number; calls: number };
  /** An open breaker lets probe calls through to test the downstream service. */
  'breaker.half-opened': { breaker: string; openForMs: number };
  /** The probes succeeded: the breaker is closed and calls flow again. */
  'breaker.closed': { breaker: string; openForMs: number };
  /** Response-cache entries were invalidated (`target` is the JSON of the key/prefix/tag). */
  'cache.invalidated': { target: string; local: number; shared: number | null };
}

/** The names of every event type. */
export type Autom8EventType = keyof Autom8EventMap;

/** An event as delivered: its type, the instance that published it, a timestamp, and its fields. */
export type Autom8Event<T extends Autom8EventType = Autom8EventType> = {
  [K in T]: { type: K; instance: string; at: number } & Autom8EventMap[K];
}[T];

const channels = new Map<string, diagnosticsChannel.Channel>();

/** The diagnostics channel of an event type (`autom8:<type>`). */
export function channelOf(type: Autom8EventType): diagnosticsChannel.Channel {
  let ch = channels.get(type);
  if (ch === undefined) channels.set(type, (ch = diagnosticsChannel.channel(`autom8:${type}`)));
  return ch;
}

/** Publishes an event if anyone listens. Never throws: a failing subscriber is its own problem. */
export function publish<T extends Autom8EventType>(type: T, instance: string, fields: Autom8EventMap[T]): void {
  const ch = channelOf(type);
  if (!ch.hasSubscribers) return;
  try {
    ch.publish({ type, instance, at: Date.now(), ...fields });
  } catch {
    // diagnostics_channel rethrows subscriber errors asynchronously; nothing to do here
  }
}

/**
 * Listens to the given event types (all when `types` is omitted). Returns the function that stops
 * listening.
 */
export function subscribe<T extends Autom8EventType>(types: readonly T[] | undefined, listener: (event: Autom8Event<T>) => void): () => void {
  const names = types ?? (ALL_TYPES as unknown as readonly T[]);
  const handler = (message: unknown) => listener(message as Autom8Event<T>);
  for (const t of names) channelOf(t).subscribe(handler);
  return () => {
    for (const t of names) channelOf(t).unsubscribe(handler);
  };
}

/** Every known event type; features append theirs here too. */
export const ALL_TYPES: Autom8EventType[] = [
  'store.degraded',
  'store.recovered',
  'slo.breached',
  'slo.recovered',
  'request.slow',
  'breaker.opened',
  'breaker.half-opened',
  'breaker.closed',
  'ratelimit.limited',
  'shed.started',
  'shed.stopped',
  'cache.invalidated',
];

/** Listens to one event type, typed; returns the function that stops listening. */
export function onEvent<T extends Autom8EventType>(type: T, listener: (event: Autom8Event<T>) => void): () => void {
  return subscribe([type], listener);
}
