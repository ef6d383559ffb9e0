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

  test('intervalAt reads one past interval of the finest window while its ring holds it', () => {
    // the 1m window (10 s slots) is the finest whatever the order the windows are given in
    let now = 1_000_000_000; // a multiple of 10 s
    const s = new WindowedSeries([...windows].reverse(), now);
    s.record(5_000, 1, now);
    s.record(7_000, 4, now + 9_999);
    now += 10_000;
    s.record(50_000, 1, now);
    const first = s.intervalAt(1_000_000_000, now)!;
    assert.equal(first.hist.count, 2);
    assert.deepEqual([...first.status], [0, 1, 0, 0, 1]);
    assert.equal(s.intervalAt(1_000_010_000, now)!.hist.count, 1, 'the current interval, so far');
    assert.equal(s.intervalAt(1_000_005_000, now), undefined, 'not an interval start');
    assert.equal(s.intervalAt(1_000_020_000, now), undefined, 'not begun');
    now += 40_000; // 6 slots, the current one and 5 past: the first is the oldest still held
    assert.equal(s.intervalAt(1_000_000_000, now)!.hist.count, 2);
    now += 10_000;
    assert.equal(s.intervalAt(1_000_000_000, now), undefined, 'dropped by the ring');
    assert.equal(s.intervalAt(1_000_010_000, now)!.hist.count, 1);
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
