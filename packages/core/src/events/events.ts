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
export function subscribe<T extends Autom8EventType>(
  types: readonly T[] | undefined,
  listener: (event: Autom8Event<T>) => void,
): () => void {
  const names = (types ?? (ALL_TYPES as unknown as readonly T[])) as readonly T[];
  const handler = (message: unknown) => listener(message as Autom8Event<T>);
  for (const t of names) channelOf(t).subscribe(handler);
  return () => {
    for (const t of names) channelOf(t).unsubscribe(handler);
  };
}

/** Every known event type; features append theirs here too. */
export const ALL_TYPES: Autom8EventType[] = ['store.degraded', 'store.recovered'];
