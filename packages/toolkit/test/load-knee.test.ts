import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseSlo, rampLevels, runLoadTest } from '@autom8/toolkit';
import { startQueueServer, type QueueServer } from './fixtures/queue-server.js';

// 20 workers × 100 ms per request = a capacity of 200 req/s. Below it the queue stays empty and
// latency is the 100 ms service time; above it the queue grows for the whole step. The long
// service time keeps the SLO (3× it) far above the stalls of a loaded 2-core CI machine.
const CAPACITY = 200;
let server: QueueServer;
before(async () => {
  server = await startQueueServer(100, 20);
});
after(async () => {
  await server.stop();
});

test('open model: the knee is found within 15 % of the known capacity, hitting only real records', async () => {
  const before = await server.stats();
  const report = await runLoadTest({
    url: `${server.url}/users/:id`,
    idsFrom: '/users',
    rates: rampLevels({ from: 140, to: 300 }, undefined, 20),
    warmupMs: 500,
    stepDurationMs: 1500,
    // p95 rather than p99: a loaded CI machine that stalls a process for a moment spoils a few
    // requests, not 5 % of them; a queue growing for the whole step spoils far more.
    slo: parseSlo('p95<300ms'),
  });
  assert.equal(report.mode, 'open');
  assert.equal(report.ids, 50, 'IDs discovered from the list endpoint');
  assert.ok(report.knee !== null, 'a knee');
  const err = Math.abs(report.knee.level - CAPACITY) / CAPACITY;
  assert.ok(
    err <= 0.15,
    `knee ${report.knee.level} req/s vs capacity ${CAPACITY}: ${(err * 100).toFixed(1)}% off\n${JSON.stringify(report.steps.map((s) => [s.level, s.latency.p99]))}`,
  );
  assert.equal(report.stoppedEarly, true, 'stops at the first step over the SLO');
  const last = report.steps[report.steps.length - 1]!;
  assert.equal(last.slo?.pass, false);
  assert.ok(last.level > report.knee.level);
  // Below the knee the server is not saturated: it achieves what was offered.
  const first = report.steps[0]!;
  assert.ok(first.achievedRate > first.level * 0.85, `achieved ${first.achievedRate} at ${first.level}`);
  assert.ok(first.latency.p50 >= 100, 'latency includes the service time');
  // Past the knee, achieved throughput is capped at the capacity.
  assert.ok(last.achievedRate < CAPACITY * 1.1, `achieved ${last.achievedRate} past capacity`);
  const after = await server.stats();
  assert.equal(after.notFound - before.notFound, 0, 'no 404: every URL used a discovered ID');
  const sent = report.steps.reduce((n, s) => n + s.sent, 0);
  const warmup = 140 * 0.5;
  assert.equal(after.requests - before.requests, sent + warmup + 2, 'every request reached the server (+ warmup, the ID list, this stats call)');
  for (const s of report.steps) {
    assert.equal(s.sent, Math.round((s.level * 1500) / 1000), 'a step sends rate × duration requests');
    assert.equal(s.ok, s.sent);
    assert.deepEqual(s.errors, {});
  }
});

test('closed model: N clients achieve about N / service time', async () => {
  const report = await runLoadTest({ url: `${server.url}/users/u1`, concurrency: [10], stepDurationMs: 1000 });
  assert.equal(report.mode, 'closed');
  const s = report.steps[0]!;
  assert.equal(s.offeredRate, null);
  // 10 clients × (1 / 100 ms) = 100 req/s, a little less for the round trips.
  assert.ok(s.achievedRate > 70 && s.achievedRate <= 105, `achieved ${s.achievedRate}`);
  assert.ok(s.latency.p50 >= 100 && s.latency.p50 < 200, `p50 ${s.latency.p50}`);
});

test('errors are counted by kind and break the SLO through the error rate', async () => {
  const report = await runLoadTest({ url: `${server.url}/nope`, rates: [50], stepDurationMs: 400, slo: parseSlo('p99<1s') });
  const s = report.steps[0]!;
  assert.deepEqual(s.errors, { 'http 404': 20 });
  assert.equal(s.errorRate, 1);
  assert.equal(s.slo?.pass, false);
  assert.match(s.slo?.reason ?? '', /error rate 100/);
  assert.equal(report.knee, null);
});
