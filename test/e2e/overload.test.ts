// The overload proof (issue #4): an Express app whose GET /work burns ~10 ms of CPU, run in its own
// process, offered 3× its capacity at a constant arrival rate over loopback.
// - Without protection, latency grows without bound (requests due later wait longer).
// - With autom8's load shedding, in steady state (after a 1.5 s warm-up): admitted requests keep
//   p99 under 5× the unloaded p99, goodput stays ≥ 80% of capacity, and /api/v1/metrics answers in
//   under 100 ms throughout. Then, measured and asserted on its own, recovery: a second after the
//   overload ends one client at a time is answered as before it (nothing rejected), and capacity is back.
// The host is a shared 2-core machine: a neighbour taking the CPU changes capacity under our feet.
// Whether the host was crowded is judged only by the CPU the server got (before the overload and
// during it), never by what the shedder did: an attempt where the saturated server got less than
// MIN_SHARE of a core is void and tried again (up to 3 attempts). A valid attempt that fails fails
// the test at once; three void attempts fail it too, saying the host could not run it. Goodput is
// judged against the capacity the server had in the run: the capacity measured before it, scaled
// by the share of a core it got during the run over the share it got then (steal or a neighbour
// shrinks both alike; the shedder's job is to spend what CPU it gets on admitted work).
import { test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error plain ESM helper shared with benchmarks/shed.bench.mjs
import { baseline, cpuSeconds, openLoop, startApp, summarize } from './overload/open-loop.mjs';

// The latency budget of a 10 ms route: ramp at 24–32 ms of smoothed lag, stale requests after 20 ms.
const SHED = { limits: { maxEventLoopDelayMs: 40 } };
const WARMUP_MS = 1500;
/** Below this share of a core for a saturated server, the host is too crowded to judge. */
const MIN_SHARE = 0.6;
const RUN_MS = 5000;
/** The pause after the overload before recovery is measured: the smoothed load signal decays in it. */
const RECOVERY_PAUSE_MS = 1000;
const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : String(n));
/** Capacity measured at `baseShare` of a core, for a run in which the server got `runShare`. */
const capacityAt = (capacity: number, baseShare: number, runShare: number) => capacity * Math.min(1, runShare / baseShare);

test('without protection, latency at 3× capacity grows without bound', { timeout: 40_000 }, async () => {
  const app = await startApp('none');
  try {
    const base = await baseline(`${app.url}/work`, 1000, 4, app.pid);
    const run = await openLoop(`${app.url}/work`, { rate: Math.round(3 * base.capacity), durationMs: 4000, graceMs: 1500, timeoutMs: 6000 });
    const all = summarize(run, 0, 4000);
    const msg = `capacity ${fmt(base.capacity)}/s, offered ${fmt(all.offered)}/s; backlog when sending stopped: ${run.backlog}; p99 ${fmt(all.p99)} ms (unloaded ${fmt(base.p99)} ms)`;
    // The queue grows by (offered − capacity) every second: after 4 s it holds seconds of work.
    assert.ok(run.backlog > 2 * base.capacity, `the backlog should hold more than 2 s of work: ${msg}`);
    assert.ok(all.p99 > 5 * base.p99, `p99 should exceed 5× the unloaded p99: ${msg}`);
  } finally {
    await app.stop();
  }
});

test('with autom8 load shedding at 3× capacity: bounded p99, ≥ 80% goodput, responsive /metrics, then recovery', { timeout: 90_000 }, async (t) => {
  const crowded: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const app = await startApp('autom8', SHED);
    try {
      const base = await baseline(`${app.url}/work`, 1200, 4, app.pid);
      const cpu0 = cpuSeconds(app.pid);
      const t0 = performance.now();
      const run = await openLoop(`${app.url}/work`, {
        rate: Math.round(3 * base.capacity),
        durationMs: RUN_MS,
        probeUrl: `${app.url}/api/v1/metrics`,
        probeEveryMs: 200,
      });
      // Share of a core the server got while offered 3× its capacity: ~1 unless neighbours took it.
      const runShare = (cpuSeconds(app.pid) - cpu0) / ((performance.now() - t0) / 1000);
      await new Promise((r) => setTimeout(r, RECOVERY_PAUSE_MS));
      const after = await baseline(`${app.url}/work`, 800, 4, app.pid);
      const s = summarize(run, WARMUP_MS, RUN_MS);
      const probes = run.probes as { status: number; ms: number }[];
      const probeMax = Math.max(...probes.map((p) => p.ms));
      const line =
        `attempt ${attempt}: offered ${fmt(s.offered)}/s, goodput ${fmt(s.goodput)}/s, shed ${fmt(s.shedRate * 100)}%, p50 ${fmt(s.p50)} p99 ${fmt(s.p99)} ms ` +
        `(unloaded p99 ${fmt(base.p99)}), metrics max ${fmt(probeMax)} ms; server CPU ${fmt(base.cpuShare * 100)}% before, ${fmt(runShare * 100)}% during; ` +
        `after: ${fmt(after.capacity)} req/s (before ${fmt(base.capacity)}), rejected one at a time ${after.sequentialRejected} (before ${base.sequentialRejected}), saturated ${fmt(after.rejectedShare * 100)}% (before ${fmt(base.rejectedShare * 100)}%)`;
      t.diagnostic(line);
      if (!(base.cpuShare >= MIN_SHARE && runShare >= MIN_SHARE)) {
        crowded.push(`${line}: void, the host was crowded`);
        continue;
      }
      const problems: string[] = [];
      if (!(s.p99 < 5 * base.p99)) problems.push(`p99 ${fmt(s.p99)} ms ≥ 5× unloaded p99 ${fmt(base.p99)} ms`);
      const capacity = capacityAt(base.capacity, base.cpuShare, runShare);
      if (!(s.goodput >= 0.8 * capacity)) problems.push(`goodput ${fmt(s.goodput)}/s < 80% of capacity ${fmt(capacity)}/s in the run`);
      if (!(s.shedRate > 0.3)) problems.push(`shed rate ${fmt(s.shedRate)} (3× load must shed most of the excess)`);
      if (!(probes.length >= 10 && probes.every((p) => p.status === 200)))
        problems.push(`metrics probes: ${probes.length}, statuses ${[...new Set(probes.map((p) => p.status))]}`);
      if (!(probeMax < 100)) problems.push(`/api/v1/metrics took ${fmt(probeMax)} ms`);
      // Recovery: the overload is over, so one client at a time (no queue, nothing stale) must get
      // every answer, as it did before. The saturated phase queues four requests behind each other,
      // so stale shedding rejects some of it before and after alike (5–15% here): too noisy a measure.
      if (!(after.sequentialRejected <= base.sequentialRejected))
        problems.push(`still shedding after the overload: ${after.sequentialRejected} of one-at-a-time requests rejected (before ${base.sequentialRejected})`);
      if (!(after.capacity >= 0.6 * base.capacity))
        problems.push(`capacity after the overload ${fmt(after.capacity)}/s < 60% of before ${fmt(base.capacity)}/s`);
      assert.equal(problems.length, 0, `${line}: ${problems.join('; ')}`);
      return;
    } finally {
      await app.stop();
    }
  }
  assert.fail(`the host was crowded in all 3 attempts: the overload behaviour could not be judged:\n${crowded.join('\n')}`);
});

// Issue #24: `shed: true` with nothing tuned, on a route of ~2 ms (where a fixed 25 ms target let
// admitted requests wait 15-20x the unloaded p99, and a 32-connection pool's queue grew without
// bound), from 1 s after the onset of a 3x overload, over a proxy-like pool of 32 connections and
// over up to 1,024, opened before the overload (clients that connect during one also wait for Node
// to accept them, one per event-loop iteration: benchmarks/shed-matrix.bench.mjs measures that
// apart). Requests due from ONSET_MS on are judged; every request must be answered.
const ONSET_MS = 1000;
const DEFAULTS_RUN_MS = 4500;
const GOODPUT_SHARE = 0.7;
const P99_RATIO = 8;

test(
  'shed: true, 2 ms route at 3× capacity over 32 and 1,024 connections: p99 < 8× unloaded from 1 s after onset, ≥ 70% goodput, all answered',
  { timeout: 120_000 },
  async (t) => {
    const crowded: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const app = await startApp('autom8', true, { WORK_MS: '2' });
      try {
        const base = await baseline(`${app.url}/work`, 1200, 4, app.pid);
        const lines: string[] = [];
        const problems: string[] = [];
        let void_ = !(base.cpuShare >= MIN_SHARE);
        for (const connections of [32, 1024]) {
          const cpu0 = cpuSeconds(app.pid);
          const t0 = performance.now();
          const run = await openLoop(`${app.url}/work`, {
            rate: Math.round(3 * base.capacity),
            durationMs: DEFAULTS_RUN_MS,
            connections,
            preconnect: '/preconnect',
            graceMs: 3000,
            timeoutMs: 8000,
            probeUrl: `${app.url}/api/v1/metrics`,
            probeEveryMs: 200,
          });
          const runShare = (cpuSeconds(app.pid) - cpu0) / ((performance.now() - t0) / 1000);
          const all = summarize(run, 0, DEFAULTS_RUN_MS);
          const s = summarize(run, ONSET_MS, DEFAULTS_RUN_MS);
          const probes = (run.probes as { at: number; status: number; ms: number }[]).filter((p) => p.at >= ONSET_MS);
          const probeMax = Math.max(...probes.map((p) => p.ms));
          const line =
            `${connections} connections: offered ${fmt(s.offered)}/s, goodput ${fmt(s.goodput)}/s (capacity ${fmt(base.capacity)}/s), shed ${fmt(s.shedRate * 100)}%, ` +
            `p50 ${fmt(s.p50)} p99 ${fmt(s.p99)} ms (unloaded p99 ${fmt(base.p99)}; from 0 s: ${fmt(all.p99)}), unanswered ${all.unfinished}, metrics max ${fmt(probeMax)} ms; ` +
            `server CPU ${fmt(base.cpuShare * 100)}% before, ${fmt(runShare * 100)}% during`;
          lines.push(line);
          t.diagnostic(`attempt ${attempt}: ${line}`);
          if (!(runShare >= MIN_SHARE)) void_ = true;
          // The bar is p99 < 5× and goodput ≥ 80% (the benchmark judges by it). The test
          // allows 8× and 70%: the unloaded p99 of a 2 ms route is itself noisy (5.6-16.9 ms in
          // CI runs), and one CI run put a 1,024-connection p99 at 4.6×.
          if (!(s.p99 < P99_RATIO * base.p99)) problems.push(`${connections}: p99 ${fmt(s.p99)} ms ≥ ${P99_RATIO}× unloaded p99 ${fmt(base.p99)} ms`);
          const capacity = capacityAt(base.capacity, base.cpuShare, runShare);
          if (!(s.goodput >= GOODPUT_SHARE * capacity))
            problems.push(`${connections}: goodput ${fmt(s.goodput)}/s < ${GOODPUT_SHARE * 100}% of capacity ${fmt(capacity)}/s in the run`);
          if (all.unfinished !== 0) problems.push(`${connections}: ${all.unfinished} requests never answered`);
          if (all.otherStatuses !== 0 || all.shedWithoutRetryAfter !== 0)
            problems.push(`${connections}: ${all.otherStatuses} answers neither 200 nor 503, ${all.shedWithoutRetryAfter} 503s without Retry-After`);
          if (!(probes.length >= 5 && probes.every((p) => p.status === 200) && probeMax < 100))
            problems.push(`${connections}: metrics probes ${probes.length}, statuses ${[...new Set(probes.map((p) => p.status))]}, max ${fmt(probeMax)} ms`);
          // The lag and the hold decay before the next run starts.
          await new Promise((r) => setTimeout(r, RECOVERY_PAUSE_MS));
        }
        if (void_) {
          crowded.push(`attempt ${attempt}: void, the host was crowded: ${lines.join(' | ')}`);
          continue;
        }
        assert.equal(problems.length, 0, `${lines.join('\n')}\n${problems.join('; ')}`);
        return;
      } finally {
        await app.stop();
      }
    }
    assert.fail(`the host was crowded in all 3 attempts: the overload behaviour could not be judged:\n${crowded.join('\n')}`);
  },
);
