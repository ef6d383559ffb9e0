// The Redis stores through Redis Sentinel, set up as docs/fleet.md says: ioredis given the sentinels
// and the master's name. A master, its replica and one sentinel run as real redis-server processes
// on free ports. The stores limit and cache through the master the sentinel names; then the master
// is SIGKILLed, the outage policy answers during the gap, the sentinel promotes the replica,
// ioredis follows it, and the stores work again, with the limits that were replicated before.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { ManualClock, type LimitPolicy } from '@autom8/core';
import { RedisCacheStore, RedisRateLimitStore } from '@autom8/redis';
import { ensureOwnServer, freePort, hasRedisServer, waitForPort } from '../../../test/support/redis-server';

const quiet = { info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NAME = 'mymaster';
// The sentinel calls the master down after this long without an answer (the default is 30 s).
const DOWN_AFTER_MS = 1000;

/** Polls `cond` until it holds; fails naming `what` past `timeoutMs`. */
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

const children: ChildProcess[] = [];

/** A redis-server with these arguments, listening on `port`; killed in the after hook. */
async function redisServer(port: number, args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  children.push(child);
  await waitForPort(port, 5000);
  // A port taken by another process between choosing and binding would answer for it, not us.
  await ensureOwnServer(port, child.pid);
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A plain client to one node, to look at what the stores wrote. */
function direct(port: number): Redis {
  const c = new Redis(port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  c.on('error', () => {});
  return c;
}

async function ready(c: Redis): Promise<void> {
  await until(`client ${c.options.port ?? 'via sentinel'} ready`, () => c.status === 'ready', 10_000);
}

const policy = (name: string): LimitPolicy => ({ name, algorithm: 'fixed-window', limit: 3, windowMs: 86_400_000, burst: 3, maxDelayMs: 0 });

describe('the Redis stores through Redis Sentinel', { timeout: 30_000 }, () => {
  let dir: string;
  let masterPort: number;
  let replicaPort: number;
  let sentinelPort: number;
  let master: ChildProcess;
  let client: Redis;
  const directs: Redis[] = [];
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];
  // The replica writes the master's snapshot to its dir during the sync: keep that out of the tree.
  const inDir = () => ['--dir', dir];

  before(async () => {
    if (!hasRedisServer()) throw new Error('redis-server is not on PATH: install it (apt-get install -y redis-server)');
    dir = mkdtempSync(join(tmpdir(), 'autom8-sentinel-'));
    [masterPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()];
    master = await redisServer(masterPort, ['--port', String(masterPort), ...common, ...inDir()]);
    await redisServer(replicaPort, ['--port', String(replicaPort), '--replicaof', '127.0.0.1', String(masterPort), ...common, ...inDir()]);
    const replica = direct(replicaPort);
    directs.push(replica);
    await ready(replica);
    // The sentinel learns of the replica from the master's INFO, which it reads when it connects and
    // then every 10 s: start it once the replica is attached, so it knows the replica at once.
    await until('replica attached to the master', async () => /master_link_status:up/.test(await replica.info('replication')), 10_000);
    const conf = join(dir, 'sentinel.conf'); // the sentinel rewrites its config file: it must be writable
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor ${NAME} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${NAME} ${DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${NAME} 5000`,
        `sentinel parallel-syncs ${NAME} 1`,
        '',
      ].join('\n'),
    );
    await redisServer(sentinelPort, [conf, '--sentinel']);
    const sentinel = direct(sentinelPort);
    directs.push(sentinel);
    await ready(sentinel);
    await until(
      'the sentinel sees the replica',
      async () => {
        const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', NAME)) as string[][];
        return replicas.some((r) => {
          const flags = r[r.indexOf('flags') + 1] ?? '';
          return r[r.indexOf('port') + 1] === String(replicaPort) && flags === 'slave';
        });
      },
      15_000,
    );
    // As docs/fleet.md configures it (plus short reconnect delays, to keep the test short).
    client = new Redis({
      sentinels: [{ host: '127.0.0.1', port: sentinelPort }],
      name: NAME,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 100,
      sentinelRetryStrategy: () => 100,
    });
    client.on('error', () => {}); // expected while the master is down
    await ready(client);
  });

  after(async () => {
    client?.disconnect();
    for (const c of directs) c.disconnect();
    await Promise.all(children.map(kill));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('the rate-limit and cache stores work through the master the sentinel names, and again after a failover', async () => {
    const store = new RedisRateLimitStore({
      client,
      logger: quiet,
      outage: { policy: 'fail-closed', timeoutMs: 5000, probeIntervalMs: 100, recoverAfterSuccesses: 1 },
    });
    const p = policy('sentinel');
    for (const remaining of [2, 1, 0]) {
      const r = await store.consume('alice', p, 1);
      assert.deepEqual([r.allowed, r.remaining], [true, remaining], JSON.stringify(r));
    }
    assert.equal((await store.consume('alice', p, 1)).allowed, false, 'the fourth call is over the limit');
    const onMaster = direct(masterPort);
    directs.push(onMaster);
    await ready(onMaster);
    assert.equal(await onMaster.exists('autom8:rl:{sentinel:alice}:fixed-window'), 1, 'the state is on the master the sentinel named');

    const clock = new ManualClock(Date.now());
    const cache = new RedisCacheStore({ client, clock, prefix: 'sc:', broadcast: false });
    const now = clock.now();
    await cache.set('/k', { value: Buffer.from('before'), expiresAt: now + 60_000, staleUntil: now + 120_000, tags: [] });
    assert.equal((await cache.get('/k'))?.value.toString(), 'before');

    // What the replica holds when the master dies is what survives: wait until it has every write.
    assert.equal(await onMaster.call('WAIT', 1, 5000), 1, 'the replica acknowledged the writes');
    await kill(master);
    await until('ioredis notices the master is gone', () => client.status !== 'ready', 5000);
    // The sentinel waits DOWN_AFTER_MS before it even calls the master down: this call is in the gap.
    const gap = await store.consume('bob', p, 1);
    assert.equal(gap.allowed, false, `fail-closed during the gap refuses a fresh client: ${JSON.stringify(gap)}`);
    assert.equal(store.guard.degraded, true);
    // No offline queue: the cache's call fails at once instead of waiting out the gap (the engine's
    // cache then answers from its local tier).
    await assert.rejects(cache.get('/k'));

    await until('the store is back on the promoted replica', async () => (await store.consume('carol', p, 1)).allowed && !store.guard.degraded, 20_000);
    const promoted = (await client.call('ROLE')) as unknown[];
    assert.equal(promoted[0], 'master');
    const promotedRole = (await directs[0]!.call('ROLE')) as unknown[];
    assert.equal(promotedRole[0], 'master', 'the replica was promoted');
    assert.equal(await directs[0]!.exists('autom8:rl:{sentinel:carol}:fixed-window'), 1, 'the store writes to the promoted replica');
    assert.equal((await store.consume('alice', p, 1)).allowed, false, 'the replicated limit still holds');
    const dave: boolean[] = [];
    for (let i = 0; i < 4; i++) dave.push((await store.consume('dave', p, 1)).allowed);
    assert.deepEqual(dave, [true, true, true, false], 'and a fresh client is limited as before');
    assert.equal((await cache.get('/k'))?.value.toString(), 'before', 'the replicated cache entry is read back');
  });
});
