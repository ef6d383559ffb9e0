/** The worker's ioredis client, set up so a Redis outage reaches autom8's outage policy at once. */
import { Redis } from 'ioredis';

export function createRedisClient(url: string): Redis {
  const client = new Redis(url, {
    // Fail commands while disconnected instead of queueing them: the queue would hold requests
    // until Redis is back, and autom8's outage policy would only see timeouts.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // Reconnect for ever, at most every 2 s: the stores probe and recover by themselves.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  // ioredis emits an error per failed reconnect; one line per outage is enough (autom8 logs the
  // store transitions itself).
  let reported = false;
  client.on('error', (err: Error) => {
    if (reported) return;
    reported = true;
    console.error(`autom8 fleet: pid ${process.pid}: redis ${url}: ${err.message}`);
  });
  client.on('ready', () => (reported = false));
  return client;
}

/**
 * Resolves true once the client is connected, false after `ms`. A worker waits for this before
 * listening, so its first requests are counted in Redis rather than in the outage fallback; it
 * listens anyway when Redis stays down, and the outage policy serves.
 */
export function whenReady(client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    client.once('ready', onReady);
  });
}
