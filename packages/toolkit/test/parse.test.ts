import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  extractIds,
  parseDuration,
  parseRange,
  parseSlo,
  rampLevels,
  renderLoadReportHtml,
  formatLoadReport,
  UsageError,
  type LoadReport,
  type StepResult,
} from '@autom8/toolkit';

test('SLOs: percentiles, max, units, <=; malformed ones are usage errors', () => {
  assert.deepEqual(parseSlo('p99<150ms'), { percentile: 99, thresholdMs: 150, text: 'p99<150ms' });
  assert.deepEqual(parseSlo(' p95 <= 0.2s '), { percentile: 95, thresholdMs: 200, text: 'p95<200ms' });
  assert.equal(parseSlo('p99.9<500us').percentile, 99.9);
  assert.equal(parseSlo('p99.9<500us').thresholdMs, 0.5);
  assert.equal(parseSlo('max<1s').percentile, 100);
  assert.equal(parseSlo('p50<20').thresholdMs, 20, 'ms by default');
  for (const bad of ['', 'p99', 'p99<', 'p99>150ms', 'p0<1ms', 'q99<1ms', 'p99<150 parsecs', 'p99<0ms', '<150ms']) {
    assert.throws(
      () => parseSlo(bad),
      (e: unknown) => e instanceof UsageError && /malformed SLO/.test((e as Error).message),
      bad,
    );
  }
});

test('ranges, durations and ramp levels', () => {
  assert.deepEqual(parseRange('100..2000', '--rate'), { from: 100, to: 2000 });
  assert.deepEqual(parseRange('500', '--rate'), { from: 500, to: 500 });
  assert.deepEqual(parseRange('0.5..2', '--rate'), { from: 0.5, to: 2 });
  for (const bad of ['2000..100', 'fast', '..10', '1..2..3', '0..10', '-5']) assert.throws(() => parseRange(bad, '--rate'), /bad --rate/, bad);
  assert.throws(() => parseRange('1.5..4', '--concurrency', true), /whole numbers/);
  assert.equal(parseDuration('5s', 'd'), 5000);
  assert.equal(parseDuration('250ms', 'd'), 250);
  assert.equal(parseDuration('2m', 'd'), 120_000);
  assert.equal(parseDuration('3', 'd'), 3000);
  for (const bad of ['0s', 'soon', '5h', '']) assert.throws(() => parseDuration(bad, '--duration'), /bad --duration/, bad);
  assert.deepEqual(rampLevels({ from: 100, to: 1000 }, 10), [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  assert.deepEqual(rampLevels({ from: 100, to: 350 }, undefined, 100), [100, 200, 300, 350]);
  assert.deepEqual(rampLevels({ from: 1, to: 4 }, 3, undefined, true), [1, 2, 4]);
  assert.deepEqual(rampLevels({ from: 50, to: 50 }), [50]);
});

test('ID extraction: automatic, by path, de-duplicated, ignoring non-scalars', () => {
  assert.deepEqual(extractIds([{ id: 1 }, { id: 'b' }, { id: 1 }]), ['1', 'b']);
  assert.deepEqual(extractIds([7, 8]), ['7', '8']);
  assert.deepEqual(extractIds({ total: 2, items: [{ id: 'x' }, { id: 'y' }] }), ['x', 'y']);
  assert.deepEqual(extractIds({ data: { users: [{ uuid: 'u1' }, { uuid: 'u2' }, { uuid: null }] } }, 'data.users.*.uuid'), ['u1', 'u2']);
  assert.deepEqual(extractIds({ results: [{ ref: { id: 3 } }] }, 'results[].ref.id'), ['3']);
  assert.deepEqual(extractIds({ a: 1 }, 'b.*.id'), []);
  assert.deepEqual(extractIds('not json object'), []);
});

const report: LoadReport = {
  url: 'http://127.0.0.1:1/<script>alert(1)</script>',
  mode: 'open',
  connections: 128,
  startedAt: '2026-01-01T00:00:00.000Z',
  stepDurationMs: 1000,
  slo: { percentile: 99, thresholdMs: 100, text: 'p99<100ms' },
  maxErrorRate: 0.01,
  ids: 0,
  steps: [10, 20].map((level, i): StepResult => ({
    level,
    offeredRate: level,
    achievedRate: level,
    durationMs: 1000,
    sent: level,
    completed: level,
    ok: level - i,
    errors: i === 0 ? {} : { 'http 503': 1 },
    errorRate: i === 0 ? 0 : 0.05,
    latency: { mean: 5, p50: 4, p95: 8, p99: 9 + i * 200, max: 12 + i * 300 },
    serviceLatency: { mean: 4, p50: 3, p95: 7, p99: 8 + i * 200, max: 11 + i * 300 },
    maxInFlight: 2,
    maxSendLagMs: 0.5,
    slo: i === 0 ? { pass: true, observedMs: 9 } : { pass: false, observedMs: 209, reason: 'error rate 5.0%' },
  })),
  knee: { level: 10, achievedRate: 10, latencyMs: 9 },
  stoppedEarly: false,
  interrupted: false,
};

test('the HTML report escapes what it shows and embeds the report as inert JSON', () => {
  const html = renderLoadReportHtml(report);
  assert.ok(!html.includes('<script>alert(1)</script>'));
  assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
  const data = /<script type="application\/json" id="autom8-data">(.*)<\/script>/s.exec(html)![1]!;
  assert.ok(!data.includes('</script'), 'no way out of the JSON block');
  assert.deepEqual(JSON.parse(data), report);
  assert.equal((html.match(/<polyline /g) ?? []).length, 4);
  assert.match(html, /knee 10/);
});

test('the text report: one row per step, errors by kind, the knee verdict', () => {
  const text = formatLoadReport(report);
  assert.match(text, /\n\s+10 .*pass/);
  assert.match(text, /\n\s+20 .*http 503×1 .*FAIL \(error rate 5\.0%\)/);
  assert.match(text, /knee: 10 req\/s offered/);
});

test('ramp levels are round numbers: the ends, then multiples of 1, 2, 2.5 or 5 × 10^k (issue #21)', () => {
  // 10 evenly spaced levels from 100 to 2000 were 311.111, 522.222…
  assert.deepEqual(rampLevels({ from: 100, to: 2000 }, 10), [100, 250, 500, 750, 1000, 1250, 1500, 1750, 2000]);
  assert.deepEqual(rampLevels({ from: 390, to: 2000 }, 10), [390, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000]);
  assert.deepEqual(rampLevels({ from: 0.5, to: 3 }, 4), [0.5, 1, 2, 3]);
  assert.deepEqual(rampLevels({ from: 20, to: 40 }, 2), [20, 40]);
  for (const [from, to, n] of [
    [100, 2000, 10],
    [7, 993, 6],
    [1, 100_000, 20],
    [3, 17, 5],
  ] as const) {
    const levels = rampLevels({ from, to }, n);
    assert.ok(levels.length <= n && levels.length >= 2, `${from}..${to} in ${n}: ${levels}`);
    assert.equal(levels[0], from);
    assert.equal(levels.at(-1), to);
    const inner = levels.slice(1, -1);
    const inc = inner.length >= 2 ? inner[1]! - inner[0]! : inner[0]!;
    assert.match(String(inc), /^(1|2|25|5)0*$/, `${from}..${to}: ${levels}`);
    for (const x of inner) assert.equal(x % inc, 0, `${from}..${to}: ${levels}`);
  }
  // With --step, every increment from `from` (no floating-point drift).
  assert.deepEqual(rampLevels({ from: 0.1, to: 0.5 }, undefined, 0.1), [0.1, 0.2, 0.3, 0.4, 0.5]);
});

test('ranges: negative and zero values say what is wrong (issue #21)', () => {
  assert.throws(() => parseRange('-5', '--rate', false, 'rate'), { message: "bad --rate '-5': a rate cannot be negative" });
  assert.throws(() => parseRange('0..10', '--rate', false, 'rate'), { message: "bad --rate '0..10': a rate must be above 0" });
});

const withRefusals = (status: string): LoadReport => ({
  ...report,
  slo: { percentile: 99, thresholdMs: 100, text: 'p99<100ms' },
  steps: report.steps.map((s, i) => (i === 0 ? s : { ...s, ok: 10, errors: { [status]: 9, timeout: 1 }, errorRate: 0.5 })),
});

test('both reports say when most failures are 429 or 503: the knee is a limit, not capacity (issue #21)', () => {
  const limited = withRefusals('http 429');
  const text = formatLoadReport(limited);
  assert.match(text, /^warning: 9 of 10 failures were HTTP 429: the server is rate limiting this client, so the knee below is that limit, not capacity/);
  assert.match(
    renderLoadReportHtml(limited),
    /class="warning"[^>]*>9 of 10 failures were HTTP 429: the server is rate limiting this client, so the knee below is that limit/,
  );
  assert.match(formatLoadReport(withRefusals('http 503')), /HTTP 503: the server is shedding load from this client/);
  // Mostly other failures (timeouts, 500s): no such warning.
  assert.doesNotMatch(formatLoadReport(withRefusals('http 500')), /warning:/);
  assert.doesNotMatch(renderLoadReportHtml(withRefusals('http 500')), /class="warning"/);
  // A few refusals within the error budget do not decide the knee: no warning either.
  const within = { ...report, steps: report.steps.map((s) => ({ ...s, errors: { 'http 429': 1 }, errorRate: 0.005 })) };
  assert.doesNotMatch(formatLoadReport(within), /warning:/);
});

test('the HTML report keeps the caveat when the knee is at the top of the tested range (issue #21)', () => {
  const allPass: LoadReport = {
    ...report,
    steps: report.steps.map((s) => ({ ...s, errors: {}, errorRate: 0, slo: { pass: true, observedMs: 9 } })),
    knee: { level: 20, achievedRate: 20, latencyMs: 9 },
  };
  assert.match(formatLoadReport(allPass), /knee: 20 req\/s offered .*every step met it, so the knee is at or above the top of the tested range/);
  assert.match(renderLoadReportHtml(allPass), /class="verdict">Knee: .*every step met it, so the knee is at or above the top of the tested range/);
  const stopped = { ...report, stoppedEarly: true };
  assert.match(renderLoadReportHtml(stopped), /stopped at the first step that missed it/);
});
