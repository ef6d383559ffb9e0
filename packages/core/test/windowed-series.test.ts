import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WindowedSeries } from '../src/metrics/windowed-series';

const windows = [
  { name: '1m', intervalMs: 10_000, slots: 6 },
  { name: '5m', intervalMs: 60_000, slots: 5 },
];

describe('WindowedSeries', () => {
  test('old intervals leave the window as time passes; lifetime keeps everything', () => {
    let now = 1_000_000_000;
    const s = new WindowedSeries(windows, now);
    for (let i = 0; i < 10; i++) s.record(5_000, 1, now); // 5 ms, 2xx
    now += 30_000;
    s.record(100_000, 4, now); // 100 ms, 5xx
    let snap = s.snapshot(now);
    assert.equal(snap.windows['1m']!.count, 11);
    assert.equal(snap.windows['1m']!.status['5xx'], 1);
    now += 45_000; // the first 10 are now 75 s old: out of the 1m window, still in 5m
    snap = s.snapshot(now);
    assert.equal(snap.windows['1m']!.count, 1);
    assert.equal(snap.windows['1m']!.errorRate, 1);
    assert.equal(snap.windows['5m']!.count, 11);
    now += 10 * 60_000; // far later: every window empty, lifetime intact
    snap = s.snapshot(now);
    assert.equal(snap.windows['1m']!.count, 0);
    assert.equal(snap.windows['5m']!.count, 0);
    assert.equal(snap.total.count, 11);
    assert.equal(snap.total.status['2xx'], 10);
  });

  test('rate per second is over the time the window covers', () => {
    let now = 2_000_000_000;
    const s = new WindowedSeries(windows, now);
    for (let t = 0; t < 60; t++) {
      for (let i = 0; i < 5; i++) s.record(1000, 1, now);
      now += 1000;
    }
    const r = s.snapshot(now).windows['1m']!.ratePerSec;
    assert.ok(r > 4 && r < 6.5, `rate ${r}`);
  });

  test('keeps the slowest traced requests of a window as exemplars', () => {
    const now = 3_000_000_000;
    const s = new WindowedSeries(windows, now);
    for (let i = 1; i <= 20; i++) s.record(i * 1000, 1, now, { traceId: `t${i}`, spanId: `s${i}` }, 200);
    const ex = s.snapshot(now).windows['1m']!.exemplars!;
    assert.deepEqual(
      ex.map((e) => e.traceId),
      ['t20', 't19', 't18'],
    );
    assert.equal(ex[0]!.durationMs, 20);
  });
});
