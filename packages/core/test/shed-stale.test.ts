// Stale-request shedding against a driven load signal, on a ManualClock: a healthy saturated
// process (issue #19 item 7) is never shed, however often its batches run over the target; a
// standing queue, which the smoothed lag shows, is shed from its first over-target batch on, even
// when each batch takes longer than CoDel's 100 ms interval (issue #24's missed onset).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, type Autom8, type Reply } from '../src/adapter';
import { ManualClock } from '../src/index';
import { ShedFeature } from '../src/shed/shed-feature';
import { begin, nextBatch, silent } from './shed-support';

/** A request answered at once: its decision. */
function request(engine: Autom8, path: string, headers: Record<string, string> = {}) {
  const { decision, end } = begin(engine, path, headers);
  end();
  return decision as Reply | undefined; // synchronous: no concurrency limit here
}

/** An engine with `shed` on defaults (limit 50 ms, stale target 25 ms) but a signal the test feeds. */
function setup(shed: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const engine = createEngine({
    clock,
    telemetry: { enabled: false },
    logger: silent,
    shed: { sampleIntervalMs: 0, critical: ['GET /vip'], ...shed },
  });
  const f = (engine as unknown as { features: unknown[] }).features.find((x) => x instanceof ShedFeature) as ShedFeature;
  /** One 50 ms sample of event-loop delay `ms` on a loop busy `elu` of the time (default fully). */
  const sample = (ms: number, elu = 1) =>
    f.shedder!.signal.observe({ eventLoopDelayMs: ms, eventLoopUtilization: elu, heapUsedBytes: 0, rssBytes: 0, inFlight: 0 }, 50);
  /**
   * One poll phase: each request is read, then works `workMs` before the next one is read.
   * Returns 'ok' or the status per request.
   */
  const batch = (paths: string[], workMs: number | (() => number), headers: Record<string, string> = {}) =>
    paths.map((p) => {
      const d = request(engine, p, headers);
      clock.advance(typeof workMs === 'number' ? workMs : workMs());
      return d === undefined ? 'ok' : d.status;
    });
  /**
   * A request that stays in flight (a route awaiting its dependency): undefined if it was shed, else
   * the function that ends it.
   */
  const open = (path = '/work') => {
    const { decision, end } = begin(engine, path);
    if ((decision as Reply | undefined) === undefined) return end;
    end();
    return undefined;
  };
  const counts = () => (engine.metricsSnapshot().features.shed as { shed: Record<string, number> }).shed;
  const armed = () => (engine.metricsSnapshot().features.shed as { staleArmed: boolean }).staleArmed;
  const target = () => (engine.metricsSnapshot().features.shed as { queueDelayTargetMs: number }).queueDelayTargetMs;
  /** The sampler's timer catching up: one sample of lag `ms` for every 50 ms the clock moved since the last. */
  let sampledAt = clock.now();
  const catchUp = (ms: number | (() => number), elu = 1) => {
    while (clock.now() - sampledAt >= 50) {
      sampledAt += 50;
      sample(typeof ms === 'number' ? ms : ms(), elu);
    }
  };
  /**
   * `batches` batches of `size` requests 0.05 ms apart to a deferring route, each followed by a gap
   * of `gapMs`; each admitted request stays in flight for its 20 ms dependency. With `lag`, the
   * sampler catches up after each batch. Returns how many each batch admitted.
   */
  const heldBatches = async (batches: number, size: number, gapMs: number, lag?: number) => {
    const perBatch: number[] = [];
    const inFlight: { at: number; end: () => void }[] = [];
    for (let b = 0; b < batches; b++) {
      while (inFlight.length > 0 && inFlight[0]!.at <= clock.now()) inFlight.shift()!.end();
      let admitted = 0;
      for (let i = 0; i < size; i++) {
        const end = open();
        if (end !== undefined) {
          admitted++;
          inFlight.push({ at: clock.now() + 20, end });
        }
        clock.advance(0.05);
      }
      perBatch.push(admitted);
      await nextBatch();
      clock.advance(gapMs);
      if (lag !== undefined) catchUp(lag);
    }
    for (const r of inFlight) r.end();
    return perBatch;
  };
  /** `batches` batches of two such requests, 0.6 ms apart. Returns how many were admitted. */
  const pairs = async (batches: number, lag?: number) => (await heldBatches(batches, 2, 0.5, lag)).reduce((a, b) => a + b, 0);
  /**
   * `batches` batches of 20 requests 0.05 ms apart to a route that defers its work: after each
   * batch the loop runs 2 ms of CPU for every request it admitted, and the sampler catches up at a
   * lag of 30 ms and a utilisation `elu`. Returns how many each batch admitted.
   */
  const deferred = async (batches: number, elu = 1) => {
    const perBatch: number[] = [];
    for (let b = 0; b < batches; b++) {
      let admitted = 0;
      for (let i = 0; i < 20; i++) {
        if (request(engine, '/work') === undefined) admitted++;
        clock.advance(0.05);
      }
      perBatch.push(admitted);
      await nextBatch();
      clock.advance(admitted * 2);
      catchUp(30, elu);
    }
    return perBatch;
  };
  /** A standing queue at onset: a batch of ten 2 ms requests, then the lag that arms stale shedding. */
  const onset = async () => {
    sample(30);
    batch(
      Array.from({ length: 10 }, () => '/work'),
      2,
    );
    await nextBatch();
    for (let i = 0; i < 10; i++) sample(30);
  };
  return { engine, clock, sample, batch, open, pairs, heldBatches, deferred, onset, counts, armed, target, catchUp };
}

/** Deterministic uniform numbers in [0, 1) (mulberry32). */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('a healthy saturated process is never shed, though its batches keep running over the target', async () => {
  const { engine, clock, sample, batch, counts, armed, catchUp } = setup();
  const rnd = prng(19);
  try {
    // A closed loop of 50 connections on a fast route: every poll phase reads all 50 requests, the
    // loop never idles, and a batch lasts 15–45 ms (0.3–0.9 ms a request: GC, preempted slices), so
    // the tail of many batches has provably waited past the 25 ms target, batch after batch, while
    // the smoothed signal reads 0.05–0.15 (2.5–7.5 ms of lag), far below the soft threshold (0.6).
    const fifty = Array.from({ length: 50 }, () => '/fast');
    let overBatches = 0;
    sample(5);
    const end = clock.now() + 3000;
    while (clock.now() < end) {
      const perRequest = 0.3 + 0.6 * rnd();
      const out = batch(fifty, perRequest);
      assert.deepEqual(
        out.filter((s) => s !== 'ok'),
        [],
        'no request of a healthy process is shed',
      );
      if (50 * perRequest > 25) overBatches++;
      await nextBatch();
      catchUp(() => 2.5 + 5 * rnd());
    }
    const load = (engine.metricsSnapshot().features.shed as { load: { load: number } }).load.load;
    assert.ok(load >= 0.05 && load <= 0.15, `the signal stayed healthy: ${load}`);
    assert.ok(overBatches > 30, `the pattern keeps running over the target (${overBatches} batches)`);
    assert.deepEqual(counts(), { load: 0, concurrency: 0, queueTimeout: 0, stale: 0 });
    assert.equal(armed(), false);
  } finally {
    await engine.close();
  }
});

test('a standing queue is shed from its first over-target batch, by priority, even with batches longer than 100 ms', async () => {
  // A fixed target (maxQueueDelayMs given): the adaptive one has its own test below.
  const { engine, sample, batch, counts, armed } = setup({
    maxQueueDelayMs: 25,
    priority: (req: { headers: Record<string, string | undefined> }) => req.headers['x-priority'],
  });
  try {
    const eight = Array.from({ length: 8 }, () => '/work');
    const five = eight.slice(0, 5);
    // A sustained lag of 20 ms, short of the 25 ms target: not armed, a crowded batch whose tail
    // waits past the target (35 ms) is served in full.
    for (let i = 0; i < 10; i++) sample(20);
    assert.equal(armed(), false);
    assert.deepEqual(
      batch(eight, 5).filter((s) => s !== 'ok'),
      [],
    );
    await nextBatch();
    // The lag reaches the target: armed; it stays armed back at 20 ms (load 0.4, under the soft
    // threshold, so the ramp sheds nothing and every 503 below is stale shedding).
    for (let i = 0; i < 10; i++) sample(30);
    assert.equal(armed(), true);
    for (let i = 0; i < 10; i++) sample(20);
    assert.equal(armed(), true);
    // 10 ms requests: the 4th is read 30 ms into the batch (> 25 ms): shed, and every one after it.
    assert.deepEqual(batch([...eight, '/vip'], 10), ['ok', 'ok', 'ok', 503, 503, 503, 503, 503, 'ok']);
    await nextBatch();
    // Low priority goes after half the target (12.5 ms), high after twice it (50 ms).
    assert.deepEqual(batch(eight, 10, { 'x-priority': 'low' }), ['ok', 'ok', 503, 503, 503, 503, 503, 503]);
    await nextBatch();
    assert.deepEqual(batch(eight, 10, { 'x-priority': 'high' }), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 503, 503]);
    await nextBatch();
    // Batches of 150 ms, over the target 120 ms apart: no second over-target batch within 100 ms,
    // yet each one's late tail is shed.
    const fifteen = Array.from({ length: 15 }, () => '/work');
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(batch(fifteen, 10).filter((s) => s === 503).length, 12);
      await nextBatch();
    }
    assert.equal(counts().stale, 5 + 6 + 2 + 24);
    // The lag falls under half the target: disarmed, a batch over the target is served in full again.
    for (let i = 0; i < 10; i++) sample(5);
    assert.equal(armed(), false);
    assert.deepEqual(
      batch(five, 10).filter((s) => s === 503),
      [],
    );
    await nextBatch();
    assert.equal(counts().load, 0);
  } finally {
    await engine.close();
  }
});

test('armed, a loop left idle by shedding widens the target; a busy one narrows it back', async () => {
  // Behind a pool of 32 connections every batch is the whole pool: admitting two service times of
  // it and shedding the rest leaves the loop waiting for the clients' next requests (utilisation
  // under 0.95), and goodput falls to half the capacity. The target then grows, ×1.5 a sample, to
  // six service times at most.
  const { engine, sample, batch, target } = setup();
  try {
    const ten = Array.from({ length: 10 }, () => '/work');
    sample(30);
    batch(ten, 2); // the queue's first batch, read before the lag arms stale shedding
    await nextBatch();
    for (let i = 0; i < 10; i++) sample(30);
    // 2 ms requests: a 4 ms target, the 4th is read 6 ms in and shed.
    assert.deepEqual(batch(ten, 2), ['ok', 'ok', 'ok', 503, 503, 503, 503, 503, 503, 503]);
    await nextBatch();
    assert.equal(target(), 4);
    // Three samples at 80% utilisation: 2 × 1.5³ = 6.75 service times, capped at 6: a 12 ms target.
    for (let i = 0; i < 3; i++) sample(30, 0.8);
    assert.deepEqual(batch(ten, 2), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 503, 503, 503]);
    await nextBatch();
    assert.equal(target(), 12);
    // Busy again (utilisation 1): ×0.8 a sample, back to two service times at most.
    for (let i = 0; i < 8; i++) sample(30);
    assert.deepEqual(batch(ten, 2), ['ok', 'ok', 'ok', 503, 503, 503, 503, 503, 503, 503]);
    await nextBatch();
    assert.equal(target(), 4);
  } finally {
    await engine.close();
  }
});

test('at 2× on a 2 ms route, shedding holds the queue down to a few requests a batch and stays armed', async () => {
  // Issue #24: a constant 2× overload of a 2 ms route, stale shedding armed. Each batch admits what
  // fits in the 4 ms target and sheds the rest at ~0.1 ms each; meanwhile twice the admitted work
  // arrives, so the next batch holds 5–6 requests: 10–12 ms of work had nothing been shed, under
  // the old absolute hold (12.5 ms), with the lag held at ~5 ms. It used to disarm after 200 ms;
  // the queue then built again for the few hundred milliseconds re-arming took (p99 30–50×).
  const { engine, clock, onset, counts, armed, catchUp } = setup();
  try {
    await onset();
    assert.equal(armed(), true);
    const rnd = prng(7);
    let ok = 0;
    let shed = 0;
    const end = clock.now() + 3000;
    while (clock.now() < end) {
      const n = 5 + Math.floor(2 * rnd());
      for (let i = 0; i < n; i++) {
        const d = request(engine, '/work');
        if (d === undefined) ok++;
        else shed++;
        clock.advance(d === undefined ? 2 : 0.1);
      }
      await nextBatch();
      catchUp(() => 3 + 4 * rnd());
      assert.equal(armed(), true, `still armed at ${Math.round(clock.now() - end + 3000)} ms`);
    }
    assert.ok(shed > 0.3 * (ok + shed) && shed < 0.7 * (ok + shed), `about half shed: ${ok} admitted, ${shed} shed`);
    assert.equal(counts().stale, shed);
  } finally {
    await engine.close();
  }
});

test('cheap requests beside a 2 ms route at 2× do not pull its cost down to theirs', async () => {
  // A third of the traffic is cheap (404s, health checks: 0.05 ms), the rest a 2 ms route, at 2×.
  // The service time follows the cheap end of its samples (well under the mean of ~1.4 ms), and
  // the route does not read as deferring. Judged at the service time, the target fell to its 2 ms
  // floor and the batches' evidence of a standing queue read a fraction of their length: in the
  // matrix's app (3×, 1,000 404s/s beside), p99 from 1 s went over 20× the unloaded one in 3 of 14
  // runs.
  const { engine, clock, onset, counts, armed, target, catchUp } = setup();
  try {
    await onset();
    assert.equal(armed(), true);
    const rnd = prng(11);
    let ok = 0;
    let shed = 0;
    const end = clock.now() + 3000;
    while (clock.now() < end) {
      const n = 7 + Math.floor(3 * rnd());
      for (let i = 0; i < n; i++) {
        const cheap = rnd() < 1 / 3;
        const d = request(engine, cheap ? '/missing' : '/work');
        if (d === undefined) ok++;
        else shed++;
        clock.advance(d !== undefined ? 0.1 : cheap ? 0.05 : 2);
      }
      await nextBatch();
      catchUp(() => 3 + 4 * rnd());
      assert.equal(armed(), true, `still armed at ${Math.round(clock.now() - end + 3000)} ms (target ${target()} ms)`);
    }
    assert.ok(target() > 2.2, `the target follows the mean cost, not the cheap requests: ${target()} ms`);
    assert.ok(shed > 0.3 * (ok + shed) && shed < 0.8 * (ok + shed), `${ok} admitted, ${shed} shed`);
    assert.equal(counts().stale, shed);
  } finally {
    await engine.close();
  }
});

test('behind a pool of 32 on a 1 ms route, batches that stay long arm stale shedding though the lag reads low', async () => {
  // The smoothed delay reads about half a batch's length: 32 requests of 1 ms, 32 ms a batch, read
  // 13–24 ms, under the 25 ms arming level. Four samples in a row of batches longer than the level
  // and than six service times, with the lag at least half the level, arm it.
  const { engine, sample, batch, armed } = setup();
  try {
    const pool = Array.from({ length: 32 }, () => '/work');
    sample(15); // a busy loop: batches are tracked
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(
        batch(pool, 1).filter((x) => x !== 'ok'),
        [],
      );
      await nextBatch();
      sample(15);
      assert.equal(armed(), false, `not after ${i + 1} long samples`);
    }
    batch(pool, 1);
    await nextBatch();
    sample(15);
    assert.equal(armed(), true, 'armed after four');
    assert.ok(batch(pool, 1).filter((x) => x === 503).length > 20, 'and the late part of the next batch is shed');
  } finally {
    await engine.close();
  }
});

test('behind a pool of 32 on a 20 ms route, one long sample spanning 200 ms of long batches arms it', async () => {
  // The sampler's timer waits for each batch: at 3× over a pool of 32, batches of 10 and then 30
  // requests (200 and 600 ms) made samples as long as them. Counting four of them left arming to
  // the lag, now and then one 600 ms batch later, whose backlog outlived the onset second.
  const { engine, clock, sample, batch, armed } = setup();
  try {
    const t = () => clock.now();
    sample(15); // a busy loop: batches are tracked
    batch(['/work', '/work'], 20); // the service time
    await nextBatch();
    for (let i = 0; i < 6; i++) sample(15); // the smoothed lag over half the arming level
    const before = t();
    assert.deepEqual(
      batch(
        Array.from({ length: 10 }, () => '/work'),
        20,
      ).filter((x) => x !== 'ok'),
      [],
    );
    await nextBatch();
    assert.equal(t() - before, 200);
    sample(15);
    assert.equal(armed(), true, 'armed after one sample that spans 200 ms of long batches');
    assert.ok(
      batch(
        Array.from({ length: 10 }, () => '/work'),
        20,
      ).filter((x) => x === 503).length >= 8,
      'the late part of the next batch is shed',
    );
  } finally {
    await engine.close();
  }
});

test('a long sample shorter than 200 ms does not arm it alone', async () => {
  const { engine, sample, batch, armed } = setup();
  try {
    sample(15);
    batch(['/work', '/work'], 10);
    await nextBatch();
    for (let i = 0; i < 6; i++) sample(15);
    batch(
      Array.from({ length: 10 }, () => '/work'),
      10,
    ); // 100 ms: long, but one sample of it
    await nextBatch();
    sample(15);
    assert.equal(armed(), false);
  } finally {
    await engine.close();
  }
});

test('long batches alone do not arm it: a few clients, or a lag that reads low', async () => {
  const few = setup();
  const many = setup();
  try {
    const armed = (e: Autom8) => (e.metricsSnapshot().features.shed as { staleArmed: boolean }).staleArmed;
    // A closed loop of 6 on a 5 ms route: 30 ms batches, but six service times, never more.
    const six = Array.from({ length: 6 }, () => '/work');
    few.sample(15);
    // 32 requests of 1 ms with the lag at 10 ms (under half the level): not evidence enough.
    const pool = Array.from({ length: 32 }, () => '/work');
    many.sample(10);
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(
        few.batch(six, 5).filter((x) => x !== 'ok'),
        [],
      );
      assert.deepEqual(
        many.batch(pool, 1).filter((x) => x !== 'ok'),
        [],
      );
      await nextBatch();
      few.sample(15);
      many.sample(10);
    }
    assert.equal(armed(few.engine), false);
    assert.equal(armed(many.engine), false);
  } finally {
    await few.engine.close();
    await many.engine.close();
  }
});

test('armed by a stall, a closed loop of two on a 20 ms route is released, not held', async () => {
  // Two clients, each request 20 ms: 40 ms batches of two, more than 1.5 targets (25 ms, the
  // ceiling), but two requests are no queue. The matrix's closed-loop check caught a first version
  // of the hold for few requests holding it (9% shed).
  const { engine, clock, sample, batch, counts, armed, catchUp } = setup();
  try {
    sample(10);
    // A stall: eight requests queued behind it, read in one batch.
    batch(
      Array.from({ length: 8 }, () => '/work'),
      20,
    );
    await nextBatch();
    for (let i = 0; i < 10; i++) sample(30);
    assert.equal(armed(), true);
    const end = clock.now() + 2000;
    let shedLate = 0;
    while (clock.now() < end) {
      for (let i = 0; i < 2; i++) {
        const d = request(engine, '/work');
        if (d !== undefined && clock.now() > end - 1000) shedLate++;
        clock.advance(d === undefined ? 20 : 0.1);
      }
      await nextBatch();
      catchUp(10);
    }
    assert.equal(armed(), false);
    assert.equal(shedLate, 0, 'nothing shed in the last second');
    assert.ok((counts().stale ?? 0) < 20, `few shed while it was armed: ${counts().stale}`);
  } finally {
    await engine.close();
  }
});

test('armed, a batch on a route that defers its CPU admits a target or two of that CPU, not its length', async () => {
  // Issue #24's async route: each request awaits a dependency, then does 2 ms of CPU. The batch
  // that reads requests is short (0.05 ms each), so none waits into it past a target, and every
  // request of it was admitted; the CPU they owe then ran as one long block after the await, and
  // the next batch's requests waited through it, where no batch shows it. The loop's busy time per
  // admitted request tells the route defers its work; a batch then admits about two targets of it
  // (one of them the credit its gap paid, see OWED_CREDIT_TARGETS): four requests.
  const { engine, sample, counts, target, deferred } = setup();
  try {
    for (let i = 0; i < 10; i++) sample(30);
    const admittedPerBatch = await deferred(200); // each followed by its continuations' CPU
    const late = admittedPerBatch.slice(-50);
    assert.ok(Math.max(...late) * 2 <= 2 * target() + 2, `a batch admits a few once the CPU is known: ${late.join(' ')}`);
    assert.ok(Math.min(...late) >= 1, 'and never none');
    assert.ok(target() >= 4 && target() <= 6, `the target is two requests' CPU: ${target()} ms`);
    assert.ok((counts().stale ?? 0) > 0);
  } finally {
    await engine.close();
  }
});

test('armed, a deferring route is admitted at the rate the loop pays its CPU, however small its batches', async () => {
  // Issue #24's async route behind a pool of 32 at 3×: most batches were a request or two, and the
  // first of every batch was admitted whatever the batches before had left owing. The
  // continuations then waited 25–35 ms for the CPU and held their connections that long, so the
  // pool's backlog from the onset drained slowly (p99 from 1 s 1.7–2.9× the unloaded one, Node 24).
  // What is owed now carries from batch to batch and is paid at a millisecond per millisecond.
  const { engine, clock, sample, target, pairs, deferred } = setup();
  try {
    for (let i = 0; i < 10; i++) sample(30);
    await deferred(200); // the route becomes known to defer (2 ms of CPU after the await)
    assert.ok(target() >= 4 && target() <= 6, `the target is two requests' CPU: ${target()} ms`);
    const startedAt = clock.now();
    const admitted = await pairs(400, 30);
    const paid = (clock.now() - startedAt) / 2; // requests' CPU the loop can pay meanwhile
    assert.ok(admitted <= 1.3 * paid, `admitted ${admitted} of 800 over ${clock.now() - startedAt} ms, ~${paid} requests' CPU`);
    assert.ok(admitted >= 0.7 * paid, `and not fewer: ${admitted}`);
  } finally {
    await engine.close();
  }
});

test("armed, a deferring route's CPU paid in a gap longer than the target is not lost", async () => {
  // Issue #24's async route on Node 20: the continuations ran back to back in timer phases, where no
  // request is read, so the gap before the next batch was often longer than the target. Paid down
  // to zero, the rest of that gap was lost, each batch admitted at most a target of CPU, and the
  // loop idled (goodput from 1 s 73–81%, the server at 72–81% of a core). Paid down to a target in
  // credit, a batch after a long gap admits up to two targets of it.
  const { engine, sample, target, heldBatches, deferred } = setup();
  try {
    for (let i = 0; i < 10; i++) sample(30);
    await deferred(200); // the route becomes known to defer (2 ms of CPU after the await)
    const t = target();
    assert.ok(t >= 4 && t <= 6, `the target is two or three requests' CPU: ${t} ms`);
    // Batches of 20 requests 0.05 ms apart, each followed by a gap of three targets in which the
    // loop runs continuations; admitted requests stay in flight for their 20 ms dependency.
    const gap = 3 * t;
    const perBatch = await heldBatches(100, 20, gap, 30);
    const late = perBatch.slice(-50);
    const cpu = (late.reduce((a, b) => a + b, 0) * 2) / late.length;
    // Paid down to zero: a target of CPU per batch, a third of the gap. With a target of credit:
    // two targets, two thirds of it, and never more than the batch and its gap pay for.
    assert.ok(cpu >= 1.6 * t, `a batch admits ${cpu.toFixed(1)} ms of CPU after a gap of ${gap.toFixed(1)} ms (target ${t} ms)`);
    assert.ok(Math.max(...late) * 2 <= 2 * t + 2, `and at most two targets and a request: ${late.join(' ')}`);
  } finally {
    await engine.close();
  }
});

test('once armed, a deferring route is not held off by CPU that requests no longer in flight were charged', async () => {
  // Issue #24's async route over 1,024 connections: before stale shedding armed, the onset's
  // batches were admitted in full, over a second of CPU by the estimate, most of which the loop
  // had paid (or never owed) by the time it armed. Paid off by the clock alone, it admitted
  // nothing for ~1.5 s (goodput from 1 s 67–81%). Only requests in flight owe any.
  const { engine, clock, sample, batch, pairs, armed, catchUp } = setup();
  try {
    for (let b = 0; b < 100; b++) {
      // Known to defer (2 ms of CPU after the await), disarmed: the lag stays low.
      const admitted = batch(Array(20).fill('/work'), 0.05).filter((r) => r === 'ok').length;
      await nextBatch();
      clock.advance(admitted * 2);
      catchUp(5);
    }
    assert.ok(!armed(), 'disarmed while learning');
    assert.equal(batch(Array(500).fill('/work'), 0.05).filter((r) => r === 'ok').length, 500, 'the onset batch, admitted in full');
    await nextBatch();
    clock.advance(5);
    for (let i = 0; i < 10; i++) sample(30); // the lag arms it
    assert.ok(armed(), 'armed by the lag');
    const admitted = await pairs(40);
    assert.ok(admitted >= 8, `admitted ${admitted} of 80 in the ${(40 * 0.6).toFixed(0)} ms after it armed`);
  } finally {
    await engine.close();
  }
});

test("a deferring route's CPU estimate does not jump when shedding begins with requests in flight", async () => {
  // A sample's busy time is the continuations of requests admitted a dependency's wait before.
  // Divided by the requests admitted in it, the estimate doubled or tripled in the sample shedding
  // began (2.3 to 5–6.5 ms in traces of issue #24's async route), and the target with it. It
  // divides by the admitted requests that ended now.
  const { engine, clock, sample, target, armed, open } = setup();
  try {
    let inFlight: (() => void)[] = [];
    let sampledAt = clock.now();
    const targets: number[] = [];
    for (let b = 0; b < 120; b++) {
      const lag = b < 60 ? 5 : 30; // the lag arms stale shedding from batch 60 on
      const admitted: (() => void)[] = [];
      for (let i = 0; i < 20; i++) {
        const end = open();
        if (end !== undefined) admitted.push(end);
        clock.advance(0.05);
      }
      await nextBatch();
      // The previous batch's requests come back from their dependency: 2 ms of CPU each, then end.
      for (const end of inFlight) {
        clock.advance(2);
        end();
      }
      inFlight = admitted;
      while (clock.now() - sampledAt >= 50) {
        sampledAt += 50;
        sample(lag);
      }
      if (b >= 40) targets.push(target());
    }
    assert.ok(armed(), 'armed by the lag');
    const before = targets[15]!; // batch 55: learnt, not armed
    const most = Math.max(...targets.slice(20));
    assert.ok(before >= 4 && before <= 6, `two requests' CPU before: ${before} ms`);
    assert.ok(most <= 1.6 * before, `the target went from ${before} ms to ${most} ms at most (${targets.slice(18, 34).join(' ')})`);
  } finally {
    await engine.close();
  }
});

test('armed, a route that defers its CPU widens its target to three requests of it at most, idle loop or not', async () => {
  // Issue #24's async route behind a pool of 32 at 3×: the loop idles part of each sample while the
  // admitted requests wait on their dependency. Widened like a CPU route's (six requests' CPU a
  // batch), the continuations queued for the CPU held the pool's connections, and the backlog the
  // clients built at onset never drained (p99 8–16× the unloaded one from 1 s on, Node 24).
  const { engine, sample, target, deferred } = setup();
  try {
    for (let i = 0; i < 10; i++) sample(30);
    const busy = (await deferred(200)).slice(-50); // busy: the route is known to defer, two requests' CPU a batch
    const busyTarget = target();
    const idle = (await deferred(200, 0.8)).slice(-50); // the loop idles a fifth of each sample
    // Two targets of three requests' CPU at most (one of them the credit its gap paid, see the test
    // of a gap longer than the target), and a request that began under them.
    assert.ok(Math.max(...idle) <= 7, `a batch admits two targets of three requests' CPU at most: ${idle.join(' ')}`);
    assert.ok(Math.min(...idle) > Math.max(...busy), `and more than when busy: ${idle.join(' ')} (busy ${busy.join(' ')})`);
    assert.ok(target() <= 1.6 * busyTarget, `the target grew from ${busyTarget} to ${target()} ms, 1.5× at most`);
  } finally {
    await engine.close();
  }
});

// Found by test/e2e/dashboard.test.ts, whose browser driver runs in the server's process. Its work
// delayed the loop (smoothed delay 20–43 ms at a utilisation of 0.5–0.8, load 0.2–0.6), stale
// shedding armed on that lag, and the lag kept it armed: the requests of each light round that came
// after the driver's messages in the same batch had waited past the target and were shed (198 here
// before the crowd rule). Nothing queued: every round was its clients' only requests.
test("light traffic while the process's loop is busy with other work is not shed", async () => {
  const { engine, clock, sample, counts, armed } = setup();
  try {
    let sampledAt = clock.now();
    let shed = 0;
    const rounds = (n: number, size: number) => {
      for (let round = 0; round < n; round++) {
        for (let j = 0; j < size; j++) {
          if (request(engine, '/work') !== undefined) shed++;
          clock.advance(0.5 + 6); // the request, then the driver's messages read in the same batch
        }
        clock.advance(15); // the clients' think time
        while (clock.now() - sampledAt >= 50) {
          sampledAt += 50;
          sample(35, 0.65);
        }
      }
    };
    for (let i = 0; i < 100; i++) {
      rounds(1, 6);
      await nextBatch();
    }
    const load = (engine.metricsSnapshot().features.shed as { load: { load: number } }).load.load;
    assert.ok(load < 0.6, `the load reads under soft: ${load}`);
    assert.equal(shed, 0, `nothing shed: ${JSON.stringify(counts())}`);
    assert.equal(armed(), false);
    // The same lag with a crowded batch (eight requests read at once) is a queue: it arms, and a
    // crowd more than a second old no longer counts once disarmed.
    rounds(1, 8);
    await nextBatch();
    rounds(1, 6);
    assert.equal(armed(), true);
    for (let i = 0; i < 10; i++) sample(5);
    assert.equal(armed(), false);
    clock.advance(1001);
    sampledAt = clock.now();
    rounds(1, 6);
    assert.equal(armed(), false);
  } finally {
    await engine.close();
  }
});

test('without the delay signal, a standing queue is still two over-target batches within 100 ms', async () => {
  const { engine, batch, counts } = setup({ limits: { maxEventLoopDelayMs: 0 }, maxQueueDelayMs: 20 });
  try {
    const four = ['/a', '/a', '/a', '/a'];
    assert.deepEqual(batch(four, 10), ['ok', 'ok', 'ok', 'ok'], 'one over-target batch is a burst');
    await nextBatch();
    assert.deepEqual(batch(four, 10), ['ok', 'ok', 'ok', 503]);
    await nextBatch();
    assert.equal(counts().stale, 1);
  } finally {
    await engine.close();
  }
});

// Issue #24's bar for false alarms is a healthy saturated process whose load signal reads below the
// soft threshold. A host that takes CPU from the process (benchmarks/tools/shed-neighbour.mjs) is
// outside it, and docs/load-shedding.md states the limit: a 20 ms route's own lag, stretched by the
// neighbour, reads above soft and shedding starts, since nothing autom8 reads tells it from a queue.
// What the documentation promises is that it stops once the neighbour leaves. Stale shedding never
// arms here: two requests a batch are no queue, so only the ramp sheds.
test('a closed loop of 2 under a neighbour reads above soft (the documented limit) and is released when it leaves', async () => {
  // Each request blocks the loop 20 ms, 30 ms of wall time while a neighbour takes a third of the
  // CPU; the timers run a request and a half late.
  const { engine, clock, sample, counts, armed, catchUp } = setup();
  try {
    const load = () => (engine.metricsSnapshot().features.shed as { load: { load: number } }).load.load;
    const twoRequests = (workMs: number, lagMs: number) => {
      let shed = 0;
      for (let i = 0; i < 2; i++) {
        const d = request(engine, '/work');
        if (d !== undefined) shed++;
        clock.advance(d === undefined ? workMs : 0.1);
      }
      catchUp(lagMs);
      return shed;
    };
    sample(10); // a busy loop: batches are tracked, so the request's cost is learned
    let underNeighbour = 0;
    for (let i = 0; i < 40; i++) {
      underNeighbour += twoRequests(30, 45);
      await nextBatch();
    }
    assert.ok(load() >= 0.6, `the neighbour's lag reads above the soft threshold: load ${load()}`);
    assert.ok(underNeighbour > 0, 'and it is shed: the documented false alarm');
    // Two requests a batch are no queue: stale shedding stays off, so the ramp alone sheds.
    assert.equal(armed(), false);
    assert.deepEqual(counts(), { load: underNeighbour, concurrency: 0, queueTimeout: 0, stale: 0 });
    // The neighbour leaves: the route's own lag (half a request) and its 20 ms requests.
    const end = clock.now() + 3000;
    let shedLate = 0;
    while (clock.now() < end) {
      const shed = twoRequests(20, 10);
      if (clock.now() > end - 1000) shedLate += shed;
      await nextBatch();
    }
    assert.equal(armed(), false);
    assert.ok(load() < 0.6, `load ${load()} back under soft`);
    assert.equal(shedLate, 0, `nothing shed in the last second (${JSON.stringify(counts())})`);
  } finally {
    await engine.close();
  }
});
