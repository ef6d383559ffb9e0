// A false alarm to reproduce (issue #24): a healthy closed loop against `shed: true` while a
// neighbour takes part of the server's CPU, as hypervisor steal or a noisy container does. The server
// (test/e2e/overload/app.mjs, Express 5) is pinned to CPU 1 and the neighbour with it; run this
// script on CPU 0 so the clients do not compete:
//   taskset -c 0 node benchmarks/tools/shed-neighbour.mjs [workMs=20] [clients=2] [busyMs=10] [idleMs=10] [runMs=3000]
// The neighbour spins busyMs of every busyMs + idleMs (0 = none). Prints the share of the closed loop
// that was shed and, every 100 ms, the shed state as /api/v1/metrics reports it:
// [A = stale shedding armed] load / smoothed lag ms / stale target ms / shed stale + shed by load.
// Linux only (taskset, /proc).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { baseline, startApp } from '../../test/e2e/overload/open-loop.mjs';

if (process.argv[2] === '--neighbour') {
  const [busy, idle] = process.argv.slice(3).map(Number);
  for (;;) {
    const t = performance.now();
    while (performance.now() - t < busy);
    await new Promise((r) => setTimeout(r, idle));
  }
}
const [work = '20', clients = '2', busy = '10', idle = '10', runMs = '3000'] = process.argv.slice(2);
const app = await startApp('autom8', true, { WORK_MS: work });
spawn('taskset', ['-p', '-c', '1', String(app.pid)], { stdio: 'ignore' });
const neighbour =
  Number(busy) > 0
    ? spawn('taskset', ['-c', '1', process.execPath, fileURLToPath(import.meta.url), '--neighbour', busy, idle], { stdio: 'inherit' })
    : undefined;
await new Promise((r) => setTimeout(r, 300));
const states = [];
let polling = true;
const poll = (async () => {
  while (polling) {
    const s = (await (await fetch(`${app.url}/api/v1/metrics`)).json()).features.shed;
    states.push(
      `${s.staleArmed ? 'A' : '-'}${s.load.load.toFixed(2)}/${s.load.eventLoopDelayMs.toFixed(0)}/${s.queueDelayTargetMs}/${s.shed.stale}+${s.shed.load}`,
    );
    await new Promise((r) => setTimeout(r, 100));
  }
})();
const r = await baseline(`${app.url}/work`, Number(runMs), Number(clients), app.pid);
polling = false;
await poll;
neighbour?.kill();
await app.stop();
console.log(
  `${work} ms route, closed loop of ${clients}, neighbour ${busy}/${idle} ms: shed ${(r.rejectedShare * 100).toFixed(1)}%, ` +
    `${r.capacity.toFixed(0)} req/s, server ${(r.cpuShare * 100).toFixed(0)}% of a core, p99 ${r.p99.toFixed(1)} ms`,
);
console.log(states.join(' '));
