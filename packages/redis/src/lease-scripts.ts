import { PRELUDE, algorithmBodies, type LeasingAlgorithm } from './algorithm-lua.js';

/**
 * Lease scripts: the same arithmetic as the exact scripts (`rate-limit-scripts.ts`), but one call
 * may take more than the request's own cost, a lease of units the caller then serves locally, and
 * may give back the unused units of the caller's previous lease. Atomic, on Redis's clock, one
 * hash-tagged key (Cluster-safe), like the exact scripts.
 *
 * ARGV = limit, windowMs, burst, cost, maxDelayMs (as the exact scripts), then
 * want (units asked for, cost included; 0 = only give back), share (most of what is left after
 * the cost that one lease may take), back (units given back), backAt (Redis ms of the lease they
 * came from), ttl (lease lifetime, ms).
 * Returns the exact scripts' six fields, then granted (units taken, cost included), validMs (how
 * long the lease may be served: the ttl, cut at the window's end for window algorithms, so a unit
 * is never spent in a window other than the one that counted it) and Redis's now (ms).
 *
 * The bodies are the exact scripts' (`algorithm-lua.ts`) in their lease variant: each parses the
 * arguments it uses, and the units a lease takes beyond the cost are
 * min(want − cost, ⌊room left × share⌋), 0 at least.
 *
 * Only the algorithms whose state a reservation maps onto lease: the sliding log (one timestamped
 * entry per request) and the leaky-bucket shaper (one delay per request) do not.
 */
const BODIES = algorithmBodies('lease');

/** The ioredis command name and Lua source of each leasing algorithm's lease script. */
export const LEASE_SCRIPTS: Readonly<Record<LeasingAlgorithm, { command: string; lua: string }>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(BODIES) as LeasingAlgorithm[]).map((name) => [name, { command: `autom8lease_${name.replace('-', '_')}`, lua: PRELUDE + BODIES[name] }]),
  ) as Record<LeasingAlgorithm, { command: string; lua: string }>,
);
