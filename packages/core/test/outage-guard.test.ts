// OutageGuard on its own, with real timers and calls that answer when the test says: the time
// budget (one timer for every call in flight), late answers ignored, the degraded state with its
// probes and hysteresis, and the transitions' log lines and events.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock, subscribe, type Autom8Event } from '@autom8/core';
import { OutageGuard, STORE_UNAVAILABLE, type OutageGuardOptions } from '@autom8/core/store';

/** A store call the test settles by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function guardWith(overrides: Partial<OutageGuardOptions> = {}): { guard: OutageGuard; clock: ManualClock; warnings: string[] } {
  const clock = new ManualClock();
  const warnings: string[] = [];
  const logger = { debug() {}, info() {}, error() {}, warn: (_o: unknown, msg: string) => void warnings.push(msg) };
  const guard = new OutageGuard({
    name: 'test:store',
    policy: 'fail-open',
    timeoutMs: 40,
    probeIntervalMs: 1000,
    recoverAfterSuccesses: 2,
    clock,
    logger,
    ...overrides,
  });
  return { guard, clock, warnings };
}

describe('OutageGuard', () => {
  test('answers with the call’s value within the budget', async () => {
    const { guard } = guardWith();
    const call = deferred<string>();
    const run = guard.run(() => call.promise);
    assert.equal(guard.inFlight, 1);
    call.resolve('ok');
    assert.equal(await run, 'ok');
    assert.equal(guard.inFlight, 0);
    assert.equal(guard.failures, 0);
  });

  test('a call past its budget answers STORE_UNAVAILABLE no earlier than the budget, and its late answer is ignored', async () => {
    const { guard, warnings } = guardWith({ timeoutMs: 40 });
    const call = deferred<string>();
    const t0 = performance.now();
    const answer = await guard.run(() => call.promise);
    const waited = performance.now() - t0;
    assert.equal(answer, STORE_UNAVAILABLE);
    assert.ok(waited >= 40, `answered after ${waited.toFixed(1)} ms, before the 40 ms budget`);
    assert.ok(waited < 1000, `answered after ${waited.toFixed(1)} ms`);
    assert.equal(guard.failures, 1);
    assert.equal(guard.degraded, true);
    assert.equal(guard.inFlight, 0);
    assert.match(warnings[0]!, /store test:store unavailable \(timeout\)/);
    // The store answers after all: nothing changes (no success counted, no second answer).
    call.resolve('late');
    await call.promise;
    await new Promise(setImmediate); // past every reaction to the late answer
    assert.equal(guard.failures, 1);
    assert.equal(guard.degraded, true);
  });

  test('calls in flight time out each at its own deadline, in call order, under one budget', async () => {
    // Three calls 15 ms apart under a 100 ms budget; the middle one answers after the third starts.
    // The scenario needs every call still waiting when the middle one answers, i.e. the first call's
    // budget not yet spent: on a machine so loaded that the waits between calls took it (the first
    // call times out, the guard turns degraded and the third call is bypassed at once), the run is
    // repeated. The deadlines themselves are judged by lower bounds, which load cannot break.
    const budget = 100;
    for (let attempt = 1; ; attempt++) {
      const { guard } = guardWith({ timeoutMs: budget });
      const order: number[] = [];
      const started: number[] = [];
      const answered: number[] = [];
      const calls = [0, 1, 2].map(() => deferred<number>());
      const runs: Promise<unknown>[] = [];
      for (let i = 0; i < 3; i++) {
        if (i > 0) await sleep(15);
        started.push(performance.now());
        runs.push(
          guard
            .run(() => calls[i]!.promise)
            .then((v) => {
              answered[i] = performance.now();
              order.push(v === STORE_UNAVAILABLE ? -i : i);
            }),
        );
      }
      // The middle call answers in time; the others run out, the first one first.
      const inTime = performance.now() - started[0]! < budget;
      calls[1]!.resolve(1);
      await Promise.all(runs);
      if (!inTime && attempt < 5) continue;
      assert.ok(inTime, `the machine was too loaded to answer within ${budget} ms in 5 attempts`);
      assert.deepEqual(order, [1, -0, -2]);
      assert.ok(answered[0]! - started[0]! >= budget, `the first call timed out after ${answered[0]! - started[0]!} ms, before its budget`);
      assert.ok(answered[2]! - started[2]! >= budget, `the third call timed out after ${answered[2]! - started[2]!} ms: at an earlier call's deadline`);
      assert.equal(guard.inFlight, 0);
      return;
    }
  });

  test('a budget past setTimeout’s range neither fires at once nor warns', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const { guard } = guardWith({ timeoutMs: 30 * 24 * 3600 * 1000 });
      const call = deferred<string>();
      const run = guard.run(() => call.promise);
      await sleep(20);
      assert.equal(guard.inFlight, 1, 'still waiting for its answer');
      call.resolve('ok');
      assert.equal(await run, 'ok');
      await sleep(5);
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('a call that fails or throws at once answers STORE_UNAVAILABLE and is counted', async () => {
    const { guard } = guardWith();
    assert.equal(await guard.run(() => Promise.reject(new Error('ECONNREFUSED'))), STORE_UNAVAILABLE);
    assert.equal(
      await guard.run(() => {
        throw new Error('sync');
      }),
      STORE_UNAVAILABLE,
    );
    assert.equal(guard.failures, 1, 'the second call was bypassed: the store is degraded after the first');
    assert.equal(guard.bypassed, 1);
    assert.equal(guard.inFlight, 0);
  });

  test('a call rejected without a reason is a failure, not an answer', async () => {
    const { guard, warnings } = guardWith();
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case under test
    assert.equal(await guard.run(() => Promise.reject(undefined)), STORE_UNAVAILABLE);
    assert.equal(guard.failures, 1);
    assert.equal(guard.degraded, true);
    assert.match(warnings[0]!, /unavailable \(undefined\)/);
  });

  test('while degraded: one probe per interval, recovery after enough successes, with events', async () => {
    const events: Autom8Event[] = [];
    const unsubscribe = subscribe(['store.degraded', 'store.recovered'], (e) => void events.push(e));
    try {
      const { guard, clock, warnings } = guardWith({ probeIntervalMs: 1000, recoverAfterSuccesses: 2 });
      let calls = 0;
      const ok = () => {
        calls++;
        return Promise.resolve('ok');
      };
      assert.equal(await guard.run(() => Promise.reject(new Error('down'))), STORE_UNAVAILABLE);
      // Within the probe interval nothing reaches the store.
      assert.equal(await guard.run(ok), STORE_UNAVAILABLE);
      assert.equal(calls, 0);
      clock.advance(1000);
      assert.equal(await guard.run(ok), 'ok', 'the probe gets the store’s answer');
      assert.equal(guard.degraded, true, 'one success is not enough to recover');
      assert.equal(await guard.run(ok), STORE_UNAVAILABLE, 'the next probe waits for the interval');
      clock.advance(1000);
      assert.equal(await guard.run(ok), 'ok');
      assert.equal(guard.degraded, false);
      assert.equal(calls, 2);
      assert.equal(await guard.run(ok), 'ok', 'recovered: every call goes to the store again');
      assert.deepEqual(
        events.map((e) => e.type),
        ['store.degraded', 'store.recovered'],
      );
      assert.match(warnings[1]!, /store test:store recovered after 2000 ms/);
      assert.equal(guard.outages, 1);
    } finally {
      unsubscribe();
    }
  });

  test('a probe that hangs lets no second probe through until it times out', async () => {
    const { guard, clock } = guardWith({ timeoutMs: 30, probeIntervalMs: 10 });
    assert.equal(await guard.run(() => Promise.reject(new Error('down'))), STORE_UNAVAILABLE);
    clock.advance(10);
    const hanging = deferred<string>();
    const probe = guard.run(() => hanging.promise);
    clock.advance(10);
    let reached = false;
    assert.equal(
      await guard.run(() => {
        reached = true;
        return Promise.resolve('x');
      }),
      STORE_UNAVAILABLE,
    );
    assert.equal(reached, false);
    assert.equal(await probe, STORE_UNAVAILABLE);
    clock.advance(10);
    assert.equal(await guard.run(() => Promise.resolve('back')), 'back', 'after the timeout the next probe goes through');
  });

  test('a logger that throws on the timeout does not take the process down', async () => {
    const clock = new ManualClock();
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn() {
        throw new Error('logger broke');
      },
    };
    const guard = new OutageGuard({ name: 'test:store', policy: 'fail-open', timeoutMs: 10, probeIntervalMs: 1000, recoverAfterSuccesses: 1, clock, logger });
    assert.equal(await guard.run(() => new Promise(() => {})), STORE_UNAVAILABLE);
    assert.equal(guard.failures, 1);
  });
});
