/** The fleet's settings, read once from the environment (primary and workers read the same). */
export interface FleetConfig {
  /** Port every worker shares (node:cluster hands connections out from the primary). */
  port: number;
  /** Worker processes the primary keeps running. */
  workers: number;
  redisUrl: string;
  /** Requests per minute per client, counted fleet-wide in Redis. */
  rateLimit: number;
  /** Instances sharing the limit (all hosts × their workers); the outage fallback divides by it. */
  fleetInstances: number;
  /** Time budget of one Redis call, ms, before the outage policy answers instead. */
  redisTimeoutMs: number;
  /** Load shedding (503 + Retry-After) on; `SHED=0` turns it off. */
  shed: boolean;
  serviceName: string;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): FleetConfig {
  const workers = positiveInt(env, 'WORKERS', 4);
  return {
    port: positiveInt(env, 'PORT', 3000),
    workers,
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    rateLimit: positiveInt(env, 'RATE_LIMIT', 100),
    fleetInstances: positiveInt(env, 'FLEET_INSTANCES', workers),
    redisTimeoutMs: positiveInt(env, 'REDIS_TIMEOUT_MS', 100),
    shed: env.SHED !== '0',
    serviceName: env.OTEL_SERVICE_NAME || 'autom8-example-fleet',
  };
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  // Bad configuration stops the process at start, naming the variable, rather than running wrong.
  if (!Number.isInteger(n) || n <= 0) throw new TypeError(`expected ${name} to be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}
