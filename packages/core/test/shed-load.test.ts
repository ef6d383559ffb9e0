// The load signal (smoothing, the ELU-needs-delay rule, limits), the probabilistic ramp by
// priority, and createLoadShedder / shouldProcess.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLoadShedder, InvalidOptionError, type LoadLimits, type LoadReading } from '../src/index';
import { LoadSampler } from '../src/shed/load-signal';
import { shedProbabilities } from '../src/shed/priority';

const LIMITS: LoadLimits = { maxEventLoopDelayMs: 50, maxEventLoopUtilization: 0, maxHeapUsedBytes: 1000, maxRssBytes: 0, maxInFlight: 100 };
const calm: LoadReading = { eventLoopDelayMs: 1, eventLoopUtilization: 0.2, heapUsedBytes: 10, rssBytes: 0, inFlight: 1 };
const sampler = () => new LoadSampler({ limits: LIMITS, sampleIntervalMs: 0, smoothingMs: 250 });

test('one busy sample barely moves the smoothed load; a sustained one does', () => {
  const s = sampler();
  s.observe(calm, 0);
  for (let i = 0; i < 20; i++) s.observe(calm, 50);
  assert.ok(s.load < 0.15, `calm load ${s.load}`);
  s.observe({ ...calm, eventLoopDelayMs: 200 }, 50); // one 200 ms stall (4× the limit)
  assert.ok(s.load < 0.8 * 0.75, `one busy sample must stay under the default soft threshold, got ${s.load}`);
  for (let i = 0; i < 20; i++) s.observe({ ...calm, eventLoopDelayMs: 60 }, 50); // 1 s of real overload
  assert.equal(s.load, 1);
  assert.equal(s.snapshot().dominant, 'eventLoopDelayMs');
});

test('ELU corroborates delay: busy but responsive is not overloaded; lag while mostly idle counts less', () => {
  const s = new LoadSampler({ limits: { ...LIMITS, maxEventLoopUtilization: 0.9 }, sampleIntervalMs: 0, smoothingMs: 250 });
  for (let i = 0; i < 40; i++) s.observe({ ...calm, eventLoopUtilization: 1, eventLoopDelayMs: 2 }, 50);
  assert.ok(s.load < 0.1, `a saturated but responsive loop must not read as overload, got ${s.load}`);
  for (let i = 0; i < 40; i++) s.observe({ ...calm, eventLoopUtilization: 0.95, eventLoopDelayMs: 40 }, 50);
  assert.ok(Math.abs(s.load - 0.8) < 0.01, `busy and lagging counts in full, got ${s.load}`);
  assert.equal(s.snapshot().dominant, 'eventLoopDelayMs');
  for (let i = 0; i < 40; i++) s.observe({ ...calm, eventLoopUtilization: 0.3, eventLoopDelayMs: 40 }, 50);
  assert.ok(Math.abs(s.load - 0.8 / 3) < 0.01, `the same lag with the loop mostly idle counts a third, got ${s.load}`);
});

test('heap and in-flight limits feed the load; the load is clamped to 1', () => {
  const s = sampler();
  s.observe({ ...calm, heapUsedBytes: 700 }, 0);
  assert.equal(s.load, 0.7);
  assert.equal(s.snapshot().dominant, 'heapUsedBytes');
  const t = sampler();
  t.observe({ ...calm, inFlight: 250 }, 0);
  assert.equal(t.load, 1);
  assert.equal(t.snapshot().dominant, 'inFlight');
});

test('ramp: none below soft, everything non-critical at hard, low before normal before high; critical only above hard', () => {
  const p = [0, 0, 0, 0];
  shedProbabilities(0.5, 0.6, 0.8, p);
  assert.deepEqual(p, [0, 0, 0, 0]);
  shedProbabilities(0.65, 0.6, 0.8, p); // a quarter up the ramp
  assert.equal(p[0], 0);
  assert.equal(p[1], 0);
  assert.ok(Math.abs(p[2]! - 0.25) < 1e-9);
  assert.ok(Math.abs(p[3]! - 0.5) < 1e-9);
  shedProbabilities(0.75, 0.6, 0.8, p);
  assert.ok(p[1] > 0 && p[1] < p[2]! && p[2]! < p[3]!, `ordered ${p}`);
  shedProbabilities(0.8, 0.6, 0.8, p);
  assert.deepEqual(p, [0, 1, 1, 1]);
  shedProbabilities(0.9, 0.6, 0.8, p);
  assert.ok(Math.abs(p[0] - 0.5) < 1e-9);
  shedProbabilities(1, 0.6, 1, p);
  assert.equal(p[0], 0, 'with maxLoad 1 critical is never shed');
});

test('createLoadShedder: shouldProcess follows the ramp, admitting the exact share in the middle', () => {
  const shedder = createLoadShedder('payments', { maxLoad: 0.8, sampleIntervalMs: 0, limits: { maxEventLoopUtilization: 0 } });
  try {
    assert.equal(shedder.name, 'payments');
    assert.equal(shedder.shouldProcess(), true);
    shedder.signal.observe({ ...calm, eventLoopDelayMs: 35 }, 0); // load 0.7: halfway between 0.6 and 0.8
    assert.ok(Math.abs(shedder.load - 0.7) < 1e-9);
    let yes = 0;
    for (let i = 0; i < 4000; i++) if (shedder.shouldProcess()) yes++;
    // error diffusion: the admitted share is exact to within a couple of requests, not just on average
    assert.ok(Math.abs(yes - 2000) <= 3, `half processed, got ${yes}/4000`);
    let run = 0;
    let longest = 0;
    for (let i = 0; i < 4000; i++) {
      run = shedder.shouldProcess() ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    assert.ok(longest < 12, `admissions are spread out: longest run of admits ${longest}`);
    assert.equal(shedder.shouldProcess('critical'), true);
    assert.ok(shedder.shedProbability('low') > 0.99);
    assert.equal(shedder.shedProbability('high'), 0);
    for (let i = 0; i < 20; i++) shedder.signal.observe({ ...calm, eventLoopDelayMs: 500 }, 50);
    assert.equal(shedder.shouldProcess('high'), false);
    const snap = shedder.snapshot();
    assert.equal(snap.maxLoad, 0.8);
    assert.ok(snap.rejected > 0 && snap.accepted > 0);
  } finally {
    shedder.close();
  }
});

test('createLoadShedder samples the real process on a timer and closes cleanly', async () => {
  const shedder = createLoadShedder('real', { sampleIntervalMs: 10 });
  // Waits for the timer's samples, however late a loaded machine runs it.
  for (const deadline = Date.now() + 5000; shedder.snapshot().samples < 2 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
  const snap = shedder.snapshot();
  shedder.close();
  assert.ok(snap.samples >= 2, `sampled ${snap.samples} times`);
  assert.ok(snap.heapUsedBytes > 0);
  assert.ok(snap.load >= 0 && snap.load <= 1);
});

test('createLoadShedder rejects bad options naming them', () => {
  const bad: [unknown, string][] = [
    [{ maxLoad: 1.5 }, 'maxLoad'],
    [{ maxLoad: 0.5, softLoad: 0.6 }, 'softLoad'],
    [{ limits: { maxEventLoopDelayMs: -1 } }, 'limits.maxEventLoopDelayMs'],
    [{ limits: { maxEventLoopUtilisation: 1 } }, 'limits.maxEventLoopUtilisation'],
    [{ smoothingMs: 0 }, 'smoothingMs'],
    [{ maxload: 0.8 }, 'maxload'],
  ];
  for (const [opts, path] of bad) {
    assert.throws(
      () => createLoadShedder('x', opts as never),
      (e: unknown) => e instanceof InvalidOptionError && e.option === path,
      path,
    );
  }
  assert.throws(() => createLoadShedder(''), InvalidOptionError);
});

test('the real sampler sees a blocked event loop, and the load falls back once it is free', async () => {
  const shedder = createLoadShedder('blocked', { sampleIntervalMs: 20, smoothingMs: 100, limits: { maxEventLoopDelayMs: 20 } });
  try {
    // 30 ms synchronous chunks, every timer running ~30 ms late, until the sampler reports the
    // overload: at least 400 ms of them, at most 5 s (a host whose neighbours take the CPU gives
    // this process fewer samples in the same wall time; the bound is what makes it a test).
    const start = performance.now();
    while (performance.now() - start < 400 || (shedder.load < 0.8 && performance.now() - start < 5000)) {
      const end = performance.now() + 30;
      while (performance.now() < end);
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(shedder.load >= 0.8, `blocked loop: load ${shedder.load} (${JSON.stringify(shedder.snapshot())})`);
    assert.equal(shedder.shouldProcess(), false);
    // Free again: the smoothed load decays (bounded wait, generous for a crowded host).
    for (let i = 0; i < 300 && shedder.load >= 0.45; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(shedder.load < 0.45, `load after the loop is free: ${shedder.load}`);
  } finally {
    shedder.close();
  }
});
