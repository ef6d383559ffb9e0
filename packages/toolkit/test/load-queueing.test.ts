import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runLoadTest } from '@autom8/toolkit';
import { startQueueServer, type QueueServer } from './fixtures/queue-server.js';

// A fast server (5 ms, 50 workers: never the bottleneck) that we freeze for one second with
// SIGSTOP, as a long GC pause or a blocked event loop would. Requests keep arriving during the
// stall; the kernel queues them; they are answered when the process resumes.
let server: QueueServer;
// The same runs without a stall, measured first: what "not stalled" looks like on this machine now
// (on a loaded one, unstalled latencies grow too). The "not stalled" thresholds leave room for them.
type Step = Awaited<ReturnType<typeof runLoadTest>>['steps'][number];
let openBase: Step;
let closedBase: Step;
/** `fixed` plus twice the unstalled figure, the latter capped at `fixed` so a stall still shows. */
const margin = (fixed: number, unstalled: number) => fixed + Math.min(2 * unstalled, fixed);
before(async () => {
  server = await startQueueServer(5, 50);
  openBase = (await runLoadTest({ url: `${server.url}/users/u1`, rates: [100], stepDurationMs: 1000, warmupMs: 300 })).steps[0]!;
  closedBase = (await runLoadTest({ url: `${server.url}/users/u1`, concurrency: [2], stepDurationMs: 1000, warmupMs: 300 })).steps[0]!;
});
after(async () => {
  await server.stop();
});

const STALL_MS = 1000;

/**
 * How long the last stall really lasted: at least STALL_MS, longer when a loaded machine runs the
 * resume timer late (then more requests queue, and "not stalled" must allow for it).
 */
let stalledMs = 0;

function stallDuring<T>(run: Promise<T>, atMs: number): Promise<T> {
  stalledMs = 0;
  const stop = setTimeout(() => {
    server.child.kill('SIGSTOP');
    const from = performance.now();
    setTimeout(() => {
      server.child.kill('SIGCONT');
      stalledMs = performance.now() - from;
    }, STALL_MS);
  }, atMs);
  return run.finally(() => clearTimeout(stop));
}

test('open-model latencies include the time requests queued while the server stalled', async (t) => {
  const report = await stallDuring(runLoadTest({ url: `${server.url}/users/u1`, rates: [100], stepDurationMs: 3000, warmupMs: 300 }), 1300);
  const s = report.steps[0]!;
  t.diagnostic(`stalled ${stalledMs.toFixed(0)} ms; unstalled p50 ${openBase.latency.p50}`);
  assert.equal(s.sent, 300);
  assert.equal(s.ok, 300, 'nothing lost: the stalled requests were answered late');
  // About 100 requests were due during the 1 s stall; each waited from its due time to the
  // resume, i.e. 0–1000 ms, evenly spread. So ~1/3 of all requests are slow: p95 ≈ 850 ms.
  assert.ok(s.latency.max >= STALL_MS * 0.8, `max ${s.latency.max}`);
  assert.ok(s.latency.p95 >= STALL_MS * 0.5, `p95 ${s.latency.p95}: the queueing is counted`);
  assert.ok(
    s.latency.p50 < margin(stalledMs * 0.3, openBase.latency.p50),
    `p50 ${s.latency.p50} (unstalled ${openBase.latency.p50}, stalled ${stalledMs}): most requests were not stalled`,
  );
});

test('a closed-model run hides the same stall (coordinated omission), which is why the open model is the default', async (t) => {
  const report = await stallDuring(runLoadTest({ url: `${server.url}/users/u1`, concurrency: [2], stepDurationMs: 3000, warmupMs: 300 }), 1300);
  const s = report.steps[0]!;
  t.diagnostic(`stalled ${stalledMs.toFixed(0)} ms; unstalled p95 ${closedBase.latency.p95}`);
  // Only the 2 requests in flight saw the stall: the max shows it, the percentiles do not.
  assert.ok(s.latency.max >= STALL_MS * 0.8, `max ${s.latency.max}`);
  assert.ok(
    s.latency.p95 < margin(stalledMs * 0.2, closedBase.latency.p95),
    `p95 ${s.latency.p95} (unstalled ${closedBase.latency.p95}, stalled ${stalledMs})`,
  );
});

test('the service latency keeps the server stall (it queued after the send)', async () => {
  const report = await stallDuring(runLoadTest({ url: `${server.url}/users/u1`, rates: [100], stepDurationMs: 3000, warmupMs: 300 }), 1300);
  const s = report.steps[0]!;
  assert.ok(s.serviceLatency.max >= STALL_MS * 0.8, `service max ${s.serviceLatency.max}`);
  assert.ok(s.serviceLatency.p95 >= STALL_MS * 0.5, `service p95 ${s.serviceLatency.p95}`);
});

test("the service latency leaves out the generator's own lag; the scheduled latency counts it", async () => {
  // The generator (this process) is blocked for 600 ms: the requests due meanwhile go out late, in
  // one burst, to a server that answers them at once. The block starts from the progress callback
  // at a moment when at most two requests are in flight: those have their responses read late, so
  // their service latency does count the block. A fixed timer could instead fire just after the
  // generator caught up with a late tick (a GC pause, a busy CI machine) by sending a burst of its
  // own, and every request of that burst would then count the block.
  const BLOCK_MS = 600;
  let inFlightAtBlock: number | undefined;
  const report = await runLoadTest({
    url: `${server.url}/users/u1`,
    rates: [100],
    stepDurationMs: 3000,
    warmupMs: 300,
    onProgress: (p) => {
      // Between 1 s and 2 s of the 3 s step, so that a full block's worth of requests fall due in it.
      if (inFlightAtBlock !== undefined || p.elapsedMs < 1000 || p.elapsedMs > 2000 || p.inFlight > 2) return;
      inFlightAtBlock = p.inFlight;
      const until = performance.now() + BLOCK_MS;
      while (performance.now() < until);
    },
  });
  const s = report.steps[0]!;
  assert.notEqual(inFlightAtBlock, undefined, 'the block ran (a moment with at most two requests in flight came)');
  assert.equal(s.ok, 300);
  assert.ok(s.maxSendLagMs >= BLOCK_MS * 0.8, `lag ${s.maxSendLagMs}`);
  // ~60 requests fell due during the block and went out up to 600 ms late: a fifth of the step.
  assert.ok(s.latency.p95 >= BLOCK_MS * 0.5, `scheduled p95 ${s.latency.p95}: the lag counts`);
  // Sent on time, answered at once: only the (at most two) requests in flight when the block began
  // have their responses read late, so the max may show the block, the p95 (15 requests) not.
  // The requests sent in that burst are answered together, which on a loaded machine takes a while;
  // counted, the lag would put the service p95 near BLOCK_MS * 0.75, past the scheduled p95's floor.
  assert.ok(s.serviceLatency.p95 < BLOCK_MS * 0.5, `service p95 ${s.serviceLatency.p95}: the lag does not (${inFlightAtBlock} in flight at the block)`);
  assert.ok(s.serviceLatency.p50 <= s.latency.p50 && s.serviceLatency.p50 >= 5, `service p50 ${s.serviceLatency.p50} (the server takes 5 ms)`);
});
