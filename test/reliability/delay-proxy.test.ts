// The store-fault tests' instrument (test/support/delay-proxy.ts) against a real redis-server: it
// delays replies by the amount set (in order, even when the delay drops), blackholes and delivers
// on resume, drops connections on demand, and passes a killed server's disconnect on to the client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { startDelayProxy, type DelayProxy } from '../support/delay-proxy';
import { startRedis, type TestRedis } from '../support/redis-server';

let redis: TestRedis;
let proxy: DelayProxy;
let client: Redis;

before(async () => {
  redis = await startRedis();
  proxy = await startDelayProxy(redis.port);
  client = new Redis({ port: proxy.port, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  client.on('error', () => {});
  await client.connect();
});
after(async () => {
  client.disconnect();
  await proxy.close();
  await redis.stop();
});

const timed = async <T>(p: Promise<T>): Promise<{ value: T; ms: number }> => {
  const t = performance.now();
  const value = await p;
  return { value, ms: performance.now() - t };
};
const waitFor = async (cond: () => boolean, ms: number, what: string) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('replies are delayed by the amount set, and a lowered delay never reorders them', async () => {
  const fast = await timed(client.ping());
  assert.equal(fast.value, 'PONG');
  proxy.setDelay(250);
  const slow = await timed(client.ping());
  assert.ok(slow.ms >= 245, `delayed PING took ${slow.ms} ms`);
  assert.ok(slow.ms < 245 + 1000, `delayed PING took ${slow.ms} ms`);
  // Replies to the first batch are held 250 ms; the second batch is sent with no delay while they wait.
  await client.del('n');
  const first = Array.from({ length: 20 }, () => client.incr('n'));
  await new Promise((r) => setTimeout(r, 50));
  proxy.setDelay(0);
  const second = Array.from({ length: 20 }, () => client.incr('n'));
  const replies = await Promise.all([...first, ...second]);
  assert.deepEqual(
    replies,
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
});

test('pause blackholes both ways without dropping bytes; resume delivers', async () => {
  proxy.setDelay(0);
  proxy.pause();
  let answered = false;
  const pending = client.set('k', 'v').then((r) => {
    answered = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(answered, false, 'a paused proxy must not answer');
  assert.equal(client.status, 'ready', 'the connection stays up while blackholed');
  proxy.resume();
  assert.equal(await pending, 'OK');
  assert.equal(await client.get('k'), 'v');
});

test('closeConnections drops the client, which reconnects', async () => {
  assert.equal(proxy.connections, 1);
  proxy.closeConnections();
  await waitFor(() => client.status !== 'ready', 1000, 'the client to notice the close');
  await waitFor(() => client.status === 'ready', 3000, 'the client to reconnect');
  assert.equal(await client.ping(), 'PONG');
});

test('a killed server closes the client side too; a restarted one is reachable again', async () => {
  await redis.kill();
  await waitFor(() => client.status !== 'ready', 1000, 'the client to see the server die');
  await assert.rejects(client.ping());
  await redis.restart();
  await waitFor(() => client.status === 'ready', 3000, 'the client to reconnect');
  assert.equal(await client.ping(), 'PONG');
});
