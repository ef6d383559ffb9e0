// The Redis stores on a real Redis Cluster (3 masters, 3 replicas, started by the test) through
// ioredis's Cluster client: every rate-limit algorithm gives the same admit/refuse sequence as on a
// standalone redis-server with client keys spread over every master, and the cache tier's
// get/set/delete, tag and prefix invalidation and pub/sub broadcast work across slots, also
// through two Express instances.
import http, { type Server } from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Redis, { type Cluster } from 'ioredis';
import { isPromise } from '@autom8/core/adapter';
import { ManualClock, type CacheRecord, type LimitPolicy, type RateLimitAlgorithm } from '@autom8/core';
import { controlsOf, engineOf, type Autom8 } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { RedisCacheStore, RedisRateLimitStore } from '@autom8/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server';
import { startRedisCluster, type TestRedisCluster } from '../../../test/support/redis-cluster';
import { seededRandom } from '../../../test/support/seeded-random';
import { close, listen } from '../../../test/support/http';
import { clusterClient } from './cluster-client';

const require = createRequire(__filename);
const quiet = { info() {}, warn() {}, error() {} };
// The time budget must never be what decides here: the machine may be loaded.
const roomy = { timeoutMs: 10_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ALGORITHMS: RateLimitAlgorithm[] = ['token-bucket', 'leaky-bucket', 'fixed-window', 'sliding-window', 'sliding-log', 'gcra'];

let cluster: TestRedisCluster;
let cc: Cluster;

before(async () => {
  cluster = await startRedisCluster();
  cc = await clusterClient(cluster);
});
after(async () => {
  cc.disconnect();
  await cluster.stop();
});

/** Which master ports hold each of `keys`, asked of the masters themselves. */
async function ownersOf(keys: string[]): Promise<Map<number, string[]>> {
  const masters = await cluster.masters();
  const connections = new Map(cc.nodes('master').map((n) => [n.options.port, n]));
  const owners = new Map<number, string[]>();
  for (const key of keys) {
    const slot = Number(await cc.call('CLUSTER', 'KEYSLOT', key));
    const port = masters.find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b))?.port;
    assert.ok(port !== undefined && connections.has(port), `a master serves slot ${slot}`);
    // COUNTKEYSINSLOT counts only the keys the node itself stores.
    const inSlot = Number(await connections.get(port)!.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot)));
    assert.ok(inSlot >= 1, `${key} (slot ${slot}) is stored on master ${port}`);
    owners.set(port, [...(owners.get(port) ?? []), key]);
  }
  return owners;
}

describe('RedisRateLimitStore on Redis Cluster', () => {
  let redis: TestRedis;
  let standalone: Redis;
  before(async () => {
    redis = await startRedis();
    standalone = new Redis(redis.port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    standalone.on('error', () => {});
    for (let i = 0; i < 200 && standalone.status !== 'ready'; i++) await sleep(25);
  });
  after(async () => {
    standalone.disconnect();
    await redis.stop();
  });

  for (const algorithm of ALGORITHMS) {
    test(`${algorithm}: the same admit/refuse sequence as standalone Redis, keys on every master`, async () => {
      const onCluster = new RedisRateLimitStore({ client: cc, logger: quiet, outage: roomy });
      const alone = new RedisRateLimitStore({ client: standalone, logger: quiet, outage: roomy });
      // A day-long window: nothing refills or rolls over during the test, so both runs must agree.
      const policy: LimitPolicy = { name: `cl-${algorithm}`, algorithm, limit: 5, windowMs: 86_400_000, burst: 5, maxDelayMs: 0 };
      const random = seededRandom(ALGORITHMS.indexOf(algorithm) + 1);
      const run = `${Date.now()}`;
      const clients = Array.from({ length: 40 }, (_, i) => `c${i}-${run}`);
      // Six calls per client of random cost 1-3, in a seeded shuffled order.
      const ops = clients.flatMap((key) => Array.from({ length: 6 }, () => ({ key, cost: 1 + Math.floor(random() * 3) })));
      for (let i = ops.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [ops[i], ops[j]] = [ops[j]!, ops[i]!];
      }
      const outcome = (r: { allowed: boolean; remaining: number; limit: number; retryAfterMs: number }) =>
        `${r.allowed ? 'A' : 'R'}${r.remaining}/${r.limit}${r.retryAfterMs === Infinity ? '!' : ''}`;
      // Each client's calls in order, clients concurrently: many slots in flight at once.
      const byClient = async (store: RedisRateLimitStore) => {
        const results = new Map<string, string[]>();
        await Promise.all(
          clients.map(async (key) => {
            const seq: string[] = [];
            for (const op of ops) if (op.key === key) seq.push(outcome(await store.consume(op.key, policy, op.cost)));
            results.set(key, seq);
          }),
        );
        return clients.map((k) => `${k}:${results.get(k)!.join(',')}`);
      };
      const expected = await byClient(alone);
      const actual = await byClient(onCluster);
      assert.deepEqual(actual, expected);
      assert.ok(expected.join().includes('R') && expected.join().includes('A'), 'the sequence both admits and refuses');
      // Every call reached Redis: no CROSSSLOT, MOVED or other error was turned into the outage policy.
      assert.equal(onCluster.guard.failures, 0);
      assert.equal(onCluster.guard.degraded, false);

      const owners = await ownersOf(clients.map((k) => onCluster.keyOf(k, policy)));
      assert.equal(owners.size, 3, `keys on ${owners.size} masters`);
      for (const [port, keys] of owners) {
        const dbsize = Number(
          await cc
            .nodes('master')
            .find((n) => n.options.port === port)!
            .dbsize(),
        );
        assert.ok(dbsize >= keys.length, `master ${port} holds ${dbsize} keys, expected ≥ ${keys.length}`);
      }
    });
  }

  test('two stores on two Cluster clients share one counter per key (exactly the limit admitted)', async () => {
    const cc2 = await clusterClient(cluster);
    try {
      const s1 = new RedisRateLimitStore({ client: cc, logger: quiet, outage: roomy });
      const s2 = new RedisRateLimitStore({ client: cc2, logger: quiet, outage: roomy });
      const policy: LimitPolicy = { name: 'cl-shared', algorithm: 'gcra', limit: 25, windowMs: 86_400_000, burst: 25, maxDelayMs: 0 };
      const keys = Array.from({ length: 6 }, (_, i) => `shared-${i}-${Date.now()}`);
      for (const key of keys) {
        const results = await Promise.all(Array.from({ length: 60 }, (_, i) => Promise.resolve((i % 2 === 0 ? s1 : s2).consume(key, policy, 1))));
        assert.equal(results.filter((r) => r.allowed).length, 25, key);
      }
      assert.equal(s1.guard.failures + s2.guard.failures, 0);
    } finally {
      cc2.disconnect();
    }
  });
});

describe('RedisRateLimitStore leased mode on Redis Cluster', () => {
  test('three leased stores on three Cluster clients, keys on every master: never above the limit, leases given back', async () => {
    const extra = [await clusterClient(cluster), await clusterClient(cluster)];
    try {
      const stores = [cc, ...extra].map((cl) => new RedisRateLimitStore({ client: cl, logger: quiet, outage: roomy, lease: { maxShare: 0.05 } }));
      const L = 2000;
      const run = `${Date.now()}`;
      for (const algorithm of ['token-bucket', 'fixed-window'] as const) {
        const policy: LimitPolicy = { name: `cl-lease-${algorithm}`, algorithm, limit: L, windowMs: 86_400_000, burst: L, maxDelayMs: 0 };
        const keys = Array.from({ length: 6 }, (_, i) => `lease-${i}-${run}`);
        let local = 0;
        const admitted = await Promise.all(
          keys.map(async (key) => {
            let n = 0;
            // Instance i stops after 400 × (i + 2) checks: the first ones stop holding leased units.
            await Promise.all(
              stores.map(async (store, i) => {
                for (let j = 0; j < 400 * (i + 2); j++) {
                  const r = store.consume(key, policy, 1);
                  if (!isPromise(r)) local++;
                  if ((isPromise(r) ? await r : r).allowed) n++;
                  if (j % 16 === 0) await new Promise((res) => setImmediate(res));
                }
              }),
            );
            return n;
          }),
        );
        for (const n of admitted) assert.ok(n <= L, `admitted ${n} ≤ ${L}`);
        assert.ok(local > admitted.reduce((a, b) => a + b, 0) / 2, `most admissions served from leases (${local})`);
        await Promise.all(stores.map((x) => x.close()));
        const owners = await ownersOf(keys.map((k) => stores[0]!.keyOf(k, policy)));
        assert.equal(owners.size, 3, 'keys on every master');
        // After close every leased unit is back: an exact store admits exactly what is left.
        const exact = new RedisRateLimitStore({ client: cc, logger: quiet, outage: roomy });
        for (let k = 0; k < keys.length; k++) {
          const left = await exact.consume(keys[k]!, policy, L);
          const remaining = left.allowed ? L : left.remaining;
          assert.equal(admitted[k]! + remaining, L, `${keys[k]}: admitted ${admitted[k]} + left ${remaining}`);
        }
      }
      for (const x of stores) assert.equal(x.guard.failures, 0);
    } finally {
      for (const x of extra) x.disconnect();
    }
  });
});

describe('RedisCacheStore on Redis Cluster', () => {
  const clock = new ManualClock(Date.now());
  const record = (value: string, tags: string[] = []): CacheRecord => {
    const now = clock.now();
    return { value: Buffer.from(value), expiresAt: now + 60_000, staleUntil: now + 120_000, tags };
  };

  test('get, set and delete across slots; entries land on every master', async () => {
    const store = new RedisCacheStore({ client: cc, clock, prefix: 'c1:', broadcast: false });
    const keys = Array.from({ length: 30 }, (_, i) => `/items/${i}`);
    await Promise.all(keys.map((k) => store.set(k, record(`v${k}`, ['items']))));
    for (const k of keys) {
      const back = await store.get(k);
      assert.ok(back, k);
      assert.equal(back.value.toString(), `v${k}`);
      assert.deepEqual(back.tags, ['items']);
    }
    const owners = await ownersOf(keys.map((k) => `c1:e:${k}`));
    assert.equal(owners.size, 3, `entries on ${owners.size} masters`);
    await store.delete('/items/0');
    assert.equal(await store.get('/items/0'), undefined);
    assert.ok(await store.get('/items/1'));
  });

  test('deleteByTag deletes entries in other slots than the tag set', async () => {
    const store = new RedisCacheStore({ client: cc, clock, prefix: 'c2:', broadcast: false });
    const tagged = Array.from({ length: 20 }, (_, i) => `/t/${i}`);
    await Promise.all(tagged.map((k) => store.set(k, record(k, ['hot']))));
    await store.set('/other', record('o', ['cold']));
    assert.ok((await ownersOf(tagged.map((k) => `c2:e:${k}`))).size >= 2, 'tagged entries span masters');
    assert.equal(await store.deleteByTag('hot'), 20);
    for (const k of tagged) assert.equal(await store.get(k), undefined, k);
    assert.ok(await store.get('/other'));
    assert.equal(await cc.exists('c2:t:hot'), 0, 'the tag set is gone');
  });

  test('deleteByPrefix scans every master', async () => {
    const store = new RedisCacheStore({ client: cc, clock, prefix: 'c3:', broadcast: false });
    const under = Array.from({ length: 40 }, (_, i) => `/p/${i}`);
    await Promise.all(under.map((k) => store.set(k, record(k))));
    await store.set('/q/1', record('q'));
    await store.set('/p*', record('glob'));
    assert.equal((await ownersOf(under.map((k) => `c3:e:${k}`))).size, 3, 'prefixed entries on every master');
    assert.equal(await store.deleteByPrefix('/p/'), 40);
    for (const k of under) assert.equal(await store.get(k), undefined, k);
    assert.ok(await store.get('/q/1'));
    assert.ok(await store.get('/p*'), 'glob characters in the prefix are literal');
    assert.equal(await store.deleteByPrefix('/p/'), 0);
  });

  test('invalidations broadcast over pub/sub reach a store on another Cluster client', async () => {
    const cc2 = await clusterClient(cluster);
    const a = new RedisCacheStore({ client: cc, clock, prefix: 'c4:' });
    const b = new RedisCacheStore({ client: cc2, clock, prefix: 'c4:' });
    const got: string[] = [];
    const stop = b.onInvalidation((m) => got.push(m));
    try {
      // The subscriber connects on its own; publish until it has subscribed.
      for (let i = 0; i < 100 && got.length === 0; i++) {
        await a.publishInvalidation(`{"n":${i}}`);
        await sleep(50);
      }
      assert.ok(got.length > 0, 'a broadcast arrived');
      assert.match(got[0]!, /^\{"n":\d+\}$/);
    } finally {
      stop();
      b.close();
      cc2.disconnect();
    }
  });
});

describe('two Express instances share a cache on Redis Cluster', () => {
  const clock = new ManualClock(Date.now());
  let calls = 0;
  let cc2: Cluster;
  const apps: { server: Server; engine: Autom8; base: string }[] = [];

  before(async () => {
    cc2 = await clusterClient(cluster);
    const express = require('express');
    for (const [name, client] of [
      ['a', cc],
      ['b', cc2],
    ] as const) {
      const app = express();
      const mw = autom8Express({
        logger: quiet,
        clock,
        name,
        cache: { ttl: 60_000, store: new RedisCacheStore({ client, clock, prefix: 'web:' }), storeOutage: { timeoutMs: 5000 } },
      });
      app.use(mw);
      app.get('/products/:id', (req: any, res: any) => {
        calls++;
        res.set('x-cache-tags', `product:${req.params.id}`);
        res.json({ id: req.params.id, from: name });
      });
      const server = http.createServer(app);
      apps.push({ server, engine: engineOf(mw)!, base: await listen(server) });
    }
  });
  after(async () => {
    for (const a of apps) {
      await a.engine.close();
      await close(a.server);
    }
    cc2.disconnect();
  });

  async function landed(key: string): Promise<void> {
    for (let i = 0; i < 200 && (await cc.exists(`web:e:${key}`)) === 0; i++) await sleep(10);
    assert.equal(await cc.exists(`web:e:${key}`), 1, `${key} reached the shared tier`);
  }

  test('entries stored by one instance are hits on the other; prefix invalidation clears the shared tier', async () => {
    const [a, b] = apps as [(typeof apps)[0], (typeof apps)[0]];
    const ids = Array.from({ length: 12 }, (_, i) => String(i));
    for (const id of ids) {
      assert.equal((await fetch(`${a.base}/products/${id}`)).headers.get('x-cache'), 'MISS');
      await landed(`/products/${id}`);
    }
    const before = calls;
    for (const id of ids) assert.equal((await fetch(`${b.base}/products/${id}`)).headers.get('x-cache'), 'HIT', id);
    assert.equal(calls, before, 'b served every entry from the shared tier');

    const r = await controlsOf(a.engine).cache.invalidate({ prefix: '/products/' });
    assert.equal(r.shared, 12, 'every shared entry, on whichever master, deleted');
    // b's local tier learns of it over pub/sub; then a request misses on both tiers.
    const remote = () => (b.engine.metricsSnapshot().features as any).cache.remoteInvalidations as number;
    for (let i = 0; i < 200 && remote() === 0; i++) await sleep(10);
    assert.equal(remote(), 1);
    const again = await fetch(`${b.base}/products/3`);
    assert.equal(again.headers.get('x-cache'), 'MISS');
    assert.equal(((await again.json()) as { from: string }).from, 'b');
  });
});
