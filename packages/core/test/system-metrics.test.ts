// The process gauges' first snapshot, taken as the engine starts. Counted over the microseconds
// between two reads, its CPU figure was noise: 0 mostly, and one tick of CPU accounting read as
// 1,950% of a core in the dashboard of a fresh app on a 2-core machine. It counts from the
// process's start now.
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SystemMetrics } from '../src/system/system-metrics';

test("the first snapshot's CPU is the process's since its start", () => {
  const used = () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  };
  const cpu0 = used();
  const t0 = performance.now();
  const m = new SystemMetrics(60_000);
  const cpu1 = used();
  const t1 = performance.now();
  try {
    const { cpuPercent, cores } = m.snapshot();
    const low = (cpu0 / (t1 * 1000)) * 100;
    const high = (cpu1 / (t0 * 1000)) * 100;
    assert.ok(low > 1, `this process has used CPU since it started (${low}%)`);
    assert.ok(cpuPercent >= low - 0.01 && cpuPercent <= high + 0.01, `${cpuPercent}% between ${low}% and ${high}%`);
    assert.ok(cpuPercent <= cores * 100, `${cpuPercent}% on ${cores} cores`);
  } finally {
    m.close();
  }
});
