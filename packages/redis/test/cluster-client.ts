// The ioredis Cluster client the cluster tests use, configured as docs/redis-cluster.md recommends.
import assert from 'node:assert/strict';
import { Cluster, type ClusterOptions } from 'ioredis';
import type { TestRedisCluster } from '../../../test/support/redis-cluster';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Cluster client on the test cluster: fails fast while a slot has no master, never queues. */
export async function clusterClient(cluster: TestRedisCluster, extra: ClusterOptions = {}): Promise<Cluster> {
  const c = new Cluster(cluster.startupNodes, {
    enableOfflineQueue: false,
    scaleReads: 'master',
    slotsRefreshTimeout: 1000,
    redisOptions: { connectTimeout: 1000, maxRetriesPerRequest: 1 },
    ...extra,
  });
  c.on('error', () => {}); // node losses are expected in the failover tests; the store reports outages
  for (let i = 0; i < 400 && c.status !== 'ready'; i++) await sleep(25);
  assert.equal(c.status, 'ready', 'cluster client ready');
  return c;
}
