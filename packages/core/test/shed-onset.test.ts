// Issue #24: `shed: true` must protect from the first second of an overload, whatever the route
// costs and however many connections the load comes over. A deterministic model of a Node server
// on a ManualClock drives the real shed feature: an open-loop client sends at 3× capacity over a
// pool of N connections (requests beyond N wait in the client, as in a proxy's pool); the server
// reads, in each poll phase, every request that had arrived when the phase began and handles them
// one after another (an admitted one costs its work, a shed one a tenth of a millisecond); between
// phases the load sampler reads the lateness of its own timer and of a 10 ms monitoring timer, as
// `monitorEventLoopDelay` does. Latency is measured from when the client meant to send.
// (The same scenarios run for real, with HTTP and a separate process, in test/e2e/overload.test.ts
// and benchmarks/shed.bench.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/index';
import { createEngine } from '../src/adapter';
import type { ShedFeature } from '../src/shed/shed-feature';
import { begin, silent } from './shed-support';

/** Parsing and framework cost of any request, and the cost of answering one with a 503, ms. */
const PARSE_MS = 0.05;
const SHED_MS = 0.1;
const SAMPLE_MS = 50;

interface Outcome {
  /** Requests due in each 500 ms window: [admitted latencies, shed count]. */
  windows: { latencies: number[]; shed: number }[];
  /** Requests still waiting (client and server) when the run ended. */
  left: number;
  armedAtEnd: boolean;
  capacity: number;
}

/**
 * Runs `durationMs` of the model: `rate` requests/s (or, with `closed`, N clients each sending its
 * next request when answered) of `workMs` each over `connections` connections.
 */
async function model(o: {
  workMs: number;
  rate?: number;
  connections: number;
  durationMs: number;
  closed?: boolean;
  /** A stretch [from, to) ms in which the timers run 60 ms late (a neighbour took the CPU). */
  stall?: [number, number];
  shed?: object;
}): Promise<Outcome> {
  const clock = new ManualClock();
  const engine = createEngine({ clock, telemetry: { enabled: false }, logger: silent, shed: { sampleIntervalMs: 0, ...o.shed } });
  const feature = engine.feature('shed') as ShedFeature;
  const capacity = 1000 / (o.workMs + PARSE_MS);
  const t0 = clock.now();
  const now = () => clock.now() - t0;
  const admit = () => {
    const { decision, end } = begin(engine, '/work');
    end();
    return decision === undefined;
  };
  const windows = Array.from({ length: Math.ceil(o.durationMs / 500) }, () => ({ latencies: [] as number[], shed: 0 }));
  const client: number[] = []; // due times waiting for a free connection
  const server: { due: number; at: number }[] = []; // requests sent, by arrival time
  let open = 0;
  let sent = 0;
  const nextDue = () => (o.closed ? Infinity : (sent * 1000) / o.rate!);
  const send = (at: number) => {
    while (open < o.connections && client.length > 0) {
      server.push({ due: client.shift()!, at });
      open++;
    }
  };
  if (o.closed) for (let i = 0; i < o.connections; i++) client.push(0);
  // The sampler's timer and monitorEventLoopDelay's 10 ms timer run between poll phases.
  let sampleDue = SAMPLE_MS;
  let busy = 0;
  let eldLast = 0;
  let eldSum = 0;
  let eldCount = 0;
  const timers = () => {
    const since = now() - eldLast;
    if (since >= 10) {
      eldSum += since;
      eldCount++;
      eldLast = now();
    }
    if (now() < sampleDue) return;
    let late = Math.max(now() - sampleDue, eldCount > 0 ? eldSum / eldCount - 10 : 0);
    if (o.stall !== undefined && now() >= o.stall[0] && now() < o.stall[1]) late = 60;
    const elu = Math.min(1, busy / (SAMPLE_MS + now() - sampleDue));
    feature.shedder!.signal.observe({ eventLoopDelayMs: late, eventLoopUtilization: elu, heapUsedBytes: 0, rssBytes: 0, inFlight: 0 }, SAMPLE_MS);
    eldSum = eldCount = busy = 0;
    sampleDue = now() + SAMPLE_MS;
  };
  try {
    while (now() < o.durationMs) {
      while (nextDue() <= now() && nextDue() < o.durationMs) {
        client.push(nextDue());
        sent++;
      }
      send(now());
      const start = now();
      let n = 0;
      while (n < server.length && server[n]!.at <= start) n++;
      for (const r of server.splice(0, n)) {
        const ok = admit();
        const cost = PARSE_MS + (ok ? o.workMs : SHED_MS);
        clock.advance(cost);
        busy += cost;
        const w = windows[Math.floor(r.due / 500)];
        if (w !== undefined && ok) w.latencies.push(now() - r.due);
        else if (w !== undefined) w.shed++;
        open--;
        // The answer frees the connection: the client's next request arrives in a later phase.
        if (o.closed) client.push(now());
        send(now() + 0.05);
      }
      await new Promise((r) => setImmediate(r)); // the phase ends (the feature marks it with setImmediate)
      timers();
      if (n === 0) {
        // Idle until the next arrival or timer, the 10 ms timer running on time meanwhile.
        const until = Math.min(nextDue(), server[0]?.at ?? Infinity, sampleDue, eldLast + 10);
        clock.advance(Math.max(0.01, until - now()));
        timers();
      }
    }
    const snap = engine.metricsSnapshot().features.shed as { staleArmed: boolean };
    return { windows, left: client.length + server.length, armedAtEnd: snap.staleArmed, capacity };
  } finally {
    await engine.close();
  }
}

const p99 = (v: number[]) => [...v].sort((a, b) => a - b)[Math.max(0, Math.ceil(0.99 * v.length) - 1)] ?? NaN;

for (const connections of [32, 256, 1024]) {
  test(`defaults, 2 ms route at 3× over ${connections} connections: bounded from the first second, goodput ≥ 80%, the queue drains`, async () => {
    const workMs = 2;
    const out = await model({ workMs, rate: 3 * (1000 / (workMs + PARSE_MS)), connections, durationMs: 5000 });
    const after = out.windows.slice(2); // requests due from 1 s after onset
    const latencies = after.flatMap((w) => w.latencies);
    const goodput = latencies.length / (after.length * 0.5);
    const unloaded = workMs + PARSE_MS;
    const detail = `p99 ${p99(latencies).toFixed(1)} ms (service time ${unloaded} ms), goodput ${((100 * goodput) / out.capacity).toFixed(0)}% of capacity, ${out.left} left waiting`;
    // At worst a request arrives as a batch begins (one target plus one request long) and is read
    // at the target into the next one: twice the target (2 service times) plus two services.
    assert.ok(p99(latencies) < 6 * unloaded, `admitted requests wait a few service times at most: ${detail}`);
    assert.ok(goodput >= 0.8 * out.capacity, `most of the capacity does useful work: ${detail}`);
    assert.ok(out.left < connections + 50, `answers keep up with the offered load: ${detail}`);
    assert.ok(out.armedAtEnd);
  });
}

test('defaults, 20 ms route at 3×: the target stops at maxQueueDelayMs, latency stays bounded', async () => {
  const workMs = 20;
  const out = await model({ workMs, rate: 3 * (1000 / (workMs + PARSE_MS)), connections: 256, durationMs: 5000 });
  const latencies = out.windows.slice(2).flatMap((w) => w.latencies);
  assert.ok(p99(latencies) < 5 * workMs, `p99 ${p99(latencies)}`);
  assert.ok(latencies.length / 4 >= 0.8 * out.capacity, `goodput ${latencies.length / 4}/s`);
});

test('a healthy closed loop (50 clients, 0.25 ms requests) is never shed by the model either', async () => {
  const out = await model({ workMs: 0.2, connections: 50, durationMs: 3000, closed: true });
  assert.equal(
    out.windows.reduce((n, w) => n + w.shed, 0),
    0,
  );
  assert.equal(out.armedAtEnd, false);
});

test('a healthy closed loop armed by a stall is released once the stall is over', async () => {
  // The stall arms stale shedding; shedding keeps the lag low afterwards, and the closed loop's
  // whole batch (50 × 0.2 ms) is under half the arming level (12.5 ms), so nothing holds it armed.
  // (A loop whose batches take longer is held: from the server, it is a pool of 50 connections
  // with a queue behind it, the 32-connection case above.)
  const out = await model({ workMs: 0.15, connections: 50, durationMs: 3000, closed: true, stall: [1000, 1300] });
  const shed = out.windows.map((w) => w.shed);
  assert.ok(shed[2]! + shed[3]! > 0, `the stall armed it: ${shed.join(' ')}`);
  assert.deepEqual(shed.slice(4), [0, 0], `released within a second: ${shed.join(' ')}`);
  assert.equal(out.armedAtEnd, false);
});
