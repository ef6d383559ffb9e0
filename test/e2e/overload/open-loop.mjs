// An open-loop load generator: sends requests at a constant arrival rate whatever the server does
// (a closed loop would slow down with the server and hide the queueing), and measures each
// latency from the moment the request was due, so client-side waiting counts too.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** Starts the overload app in its own process; resolves once it listens. */
export function startApp(mode, shed, env = {}) {
  const path = fileURLToPath(new URL('./app.mjs', import.meta.url));
  const args = [path, mode];
  if (shed !== undefined) args.push(JSON.stringify(shed));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_ENV: 'production', ...env } });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /LISTENING (\d+) ROUNDS (\d+)/.exec(buf);
      if (m && !child.port) {
        child.port = Number(m[1]);
        resolve({
          url: `http://127.0.0.1:${child.port}`,
          pid: child.pid,
          /** The route's work, calibrated or as given (pass it on as WORK_ROUNDS). */
          rounds: m[2],
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null) return r();
              child.once('exit', () => r());
              child.kill('SIGKILL');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`overload app (${mode}) exited with ${code}`)));
  });
}

/** User + system CPU seconds of a process (Linux /proc; NaN elsewhere). */
/**
 * The host's CPU time so far, in seconds summed over its CPUs (Linux /proc/stat; NaN elsewhere):
 * `steal` is time the hypervisor gave this VM's CPUs to others, which slows the server as a
 * neighbour would and shows up as event-loop delay.
 */
export function hostCpu() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    return { total: f.reduce((a, b) => a + b, 0) / 100, steal: (f[7] ?? 0) / 100 };
  } catch {
    return { total: NaN, steal: NaN };
  }
}

export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** One GET; resolves to { status, ms, retryAfter } (status 0 on error or timeout). */
export function get(agent, url, timeoutMs = 10_000) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0, retryAfter: res.headers['retry-after'] }));
      res.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    });
    req.setTimeout(timeoutMs, () => req.destroy());
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
  });
}

/**
 * The unloaded latency (sequential requests for `durationMs`) and the capacity (requests/s with
 * `connections` concurrent closed loops for `durationMs`, which keeps the server saturated).
 */
export async function baseline(url, durationMs, connections = 4, pid = undefined) {
  const seq = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const lat = [];
  let sequentialRejected = 0;
  let start = performance.now();
  while (performance.now() - start < durationMs) {
    const r = await get(seq, url);
    if (r.status === 200) lat.push(r.ms);
    else sequentialRejected++;
  }
  seq.destroy();
  const par = new http.Agent({ keepAlive: true, maxSockets: connections });
  let done = 0;
  let rejected = 0;
  start = performance.now();
  const cpu0 = pid === undefined ? NaN : cpuSeconds(pid);
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() - start < durationMs) {
        if ((await get(par, url)).status === 200) done++;
        else rejected++;
      }
    }),
  );
  const elapsed = performance.now() - start;
  par.destroy();
  // Share of one core the saturated server got: near 1 on a quiet host, low when neighbours crowd it.
  const cpuShare = (cpuSeconds(pid) - cpu0) / (elapsed / 1000);
  // rejected: answers other than 200 in the saturated phase (a shedder's 503s). Requests queue
  // there, so a shedder may reject some of them; one connection at a time never queues, so a
  // healthy shedder rejects none of the sequential phase.
  return {
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    n: lat.length,
    sequentialRejected,
    sequentialRejectedShare: sequentialRejected / Math.max(1, lat.length + sequentialRejected),
    capacity: (done * 1000) / elapsed,
    cpuShare,
    rejected,
    rejectedShare: rejected / Math.max(1, done + rejected),
  };
}

/**
 * Sends `rate` requests/s for `durationMs`, polling `probeUrl` every `probeEveryMs` meanwhile, over
 * at most `connections` keep-alive connections (more requests wait in the client for a free one, as
 * in a proxy's connection pool; that wait counts in their latency).
 * With `preconnect`, the connections are opened first (one cheap request each to `preconnect`, a
 * path the app answers without work), as a proxy's keep-alive pool or returning clients hold them:
 * Node accepts one new connection per event-loop iteration, so clients that connect during an
 * overload also wait for the loop, before any request of theirs can be seen.
 * Waits at most `graceMs` for stragglers, then gives up on them (counted as unfinished).
 * Returns every request's { due (ms since start), status, ms, retryAfter }, the probe latencies, and the backlog
 * (requests unanswered when sending stopped).
 */
export async function openLoop(url, { rate, durationMs, graceMs = 2000, probeUrl, probeEveryMs = 250, timeoutMs = 10_000, connections = 1024, preconnect }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  if (preconnect !== undefined) await Promise.all(Array.from({ length: connections }, () => get(agent, new URL(preconnect, url).href, timeoutMs)));
  const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const results = [];
  const probes = [];
  const pending = new Set();
  const start = performance.now();
  let sent = 0;
  let probing = Promise.resolve();
  const total = Math.round((rate * durationMs) / 1000);
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      // Request i is due at i / rate: request 0 at once (the `+ 1`; without it every request went
      // out one interval late, and that interval was added to its latency).
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (sent < due) {
        const dueAt = (sent * 1000) / rate;
        const rec = { due: dueAt, status: -1, ms: Infinity, retryAfter: undefined };
        results.push(rec);
        sent++;
        const p = get(agent, url, timeoutMs).then((r) => {
          rec.status = r.status;
          rec.retryAfter = r.retryAfter;
          // latency from when the request was due, not when the timer got round to sending it
          rec.ms = r.ms + (performance.now() - r.ms - start - dueAt);
          pending.delete(p);
        });
        pending.add(p);
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
    if (probeUrl) {
      const probe = async () => {
        while (performance.now() - start < durationMs) {
          const r = await get(probeAgent, probeUrl, 5000);
          probes.push({ at: performance.now() - start, status: r.status, ms: r.ms });
          await new Promise((r2) => setTimeout(r2, probeEveryMs));
        }
      };
      probing = probe();
    }
  });
  // Requests sent and not yet answered when sending stops: the backlog the server has built.
  const backlog = pending.size;
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, graceMs))]);
  await probing; // the last probe must not be cut short by destroying its agent
  agent.destroy();
  probeAgent.destroy();
  return { results, probes, durationMs, backlog };
}

/** Summary of an open-loop run over requests due in [fromMs, toMs). */
export function summarize(run, fromMs = 0, toMs = run.durationMs) {
  const inWindow = run.results.filter((r) => r.due >= fromMs && r.due < toMs);
  const ok = inWindow.filter((r) => r.status === 200);
  // Goodput counts answers by when they came, not when they were due: a backlog drained after the
  // window (or in the grace period) is not throughput inside it.
  const served = run.results.filter((r) => r.status === 200 && r.due + r.ms >= fromMs && r.due + r.ms < toMs).length;
  const shed = inWindow.filter((r) => r.status === 503);
  const unfinished = inWindow.filter((r) => r.status === -1 || r.status === 0);
  const seconds = (toMs - fromMs) / 1000;
  const okLat = ok.map((r) => r.ms);
  // Unfinished requests count as infinitely slow: leaving them out would flatter "no protection".
  const admittedLat = [...okLat, ...unfinished.map(() => Infinity)];
  return {
    offered: inWindow.length / seconds,
    goodput: served / seconds,
    shedRate: shed.length / Math.max(1, inWindow.length),
    unfinished: unfinished.length,
    // answers other than 200, 503 and none at all, and 503s without a Retry-After
    otherStatuses: inWindow.length - ok.length - shed.length - unfinished.length,
    shedWithoutRetryAfter: shed.filter((r) => !(Number(r.retryAfter) >= 0)).length,
    p50: pct(admittedLat, 50),
    p99: pct(admittedLat, 99),
    n: inWindow.length,
  };
}

export function pct(values, p) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
