// The overload proof (issue #4): an Express app whose GET /work burns ~10 ms of CPU, run in its own
// process, offered 3× its capacity at a constant arrival rate over loopback.
// - Without protection, latency grows without bound (requests due later wait longer).
// - With autom8's load shedding, in steady state (after a 1.5 s warm-up): admitted requests keep
//   p99 under 5× the unloaded p99, goodput stays ≥ 80% of capacity, and /api/v1/metrics answers in
//   under 100 ms throughout.
// The host is a shared 2-core machine: a neighbour taking the CPU mid-run changes capacity under
// our feet, so the protected scenario gets up to 3 attempts, each measuring its own baseline right
// before and checking right after that the host was steady: the saturated server got most of a
// core both times (~100% on a quiet host) and its capacity moved by less than ~1.5× (on a shared
// VM the CPU time a request takes varies with its neighbours too). An attempt on a crowded host is
// void, not passed; a broken shedder fails every valid attempt. If the host was crowded for all
// three, the test is skipped, saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error plain ESM helper shared with benchmarks/shed.bench.mjs
import { baseline, openLoop, startApp, summarize } from './overload/open-loop.mjs';

// The latency budget of a 10 ms route: ramp at 24–32 ms of smoothed lag, stale requests after 20 ms.
const SHED = { limits: { maxEventLoopDelayMs: 40 } };
const WARMUP_MS = 1500;
/** Below this share of a core for a saturated server, the host is too crowded to judge. */
const MIN_SHARE = 0.6;
const RUN_MS = 5000;
const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : String(n));

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

test('with autom8 load shedding at 3× capacity: bounded p99, ≥ 80% goodput, responsive /metrics', { timeout: 60_000 }, async (t) => {
  const failures: string[] = [];
  const crowded: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const app = await startApp('autom8', SHED);
    try {
      const base = await baseline(`${app.url}/work`, 1200, 4, app.pid);
      const run = await openLoop(`${app.url}/work`, {
        rate: Math.round(3 * base.capacity),
        durationMs: RUN_MS,
        probeUrl: `${app.url}/api/v1/metrics`,
        probeEveryMs: 200,
      });
      const after = await baseline(`${app.url}/work`, 600, 4, app.pid);
      const s = summarize(run, WARMUP_MS, RUN_MS);
      const probes = run.probes as { status: number; ms: number }[];
      const probeMax = Math.max(...probes.map((p) => p.ms));
      const problems: string[] = [];
      if (!(s.p99 < 5 * base.p99)) problems.push(`p99 ${fmt(s.p99)} ms ≥ 5× unloaded p99 ${fmt(base.p99)} ms`);
      if (!(s.goodput >= 0.8 * base.capacity)) problems.push(`goodput ${fmt(s.goodput)}/s < 80% of capacity ${fmt(base.capacity)}/s`);
      if (!(s.shedRate > 0.3)) problems.push(`shed rate ${fmt(s.shedRate)} (3× load must shed most of the excess)`);
      if (!(probes.length >= 10 && probes.every((p) => p.status === 200))) problems.push(`metrics probes: ${probes.length}, statuses ${[...new Set(probes.map((p) => p.status))]}`);
      if (!(probeMax < 100)) problems.push(`/api/v1/metrics took ${fmt(probeMax)} ms`);
      const line = `attempt ${attempt}: offered ${fmt(s.offered)}/s, goodput ${fmt(s.goodput)}/s, shed ${fmt(s.shedRate * 100)}%, p50 ${fmt(s.p50)} p99 ${fmt(s.p99)} ms (unloaded p99 ${fmt(base.p99)}), metrics max ${fmt(probeMax)} ms`;
      t.diagnostic(line);
      if (problems.length === 0) return;
      const drift = after.capacity / base.capacity;
      if (!(base.cpuShare >= MIN_SHARE && after.cpuShare >= MIN_SHARE && drift > 0.65 && drift < 1.5)) {
        crowded.push(
          `${line}: void, the server got ${fmt(base.cpuShare * 100)}% / ${fmt(after.cpuShare * 100)}% of a core and served ` +
            `${fmt(base.capacity)} / ${fmt(after.capacity)} req/s saturated, before / after`,
        );
        continue;
      }
      failures.push(`${line}: ${problems.join('; ')}`);
    } finally {
      await app.stop();
    }
  }
  if (failures.length === 0) {
    t.skip(`host too crowded to measure overload behaviour:\n${crowded.join('\n')}`);
    return;
  }
  assert.fail(`every valid attempt failed:\n${[...failures, ...crowded].join('\n')}`);
});
