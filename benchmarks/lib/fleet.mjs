// Helpers shared by the benchmarks that run a fleet of app processes against one store (lease,
// scale): the distinct clients they key by, and the parent's side of its forked workers, which
// answer IPC messages by type ('init' → 'ready', 'load' → 'loading', 'mark', 'stop' → 'result',
// 'exit').
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { cpuSeconds } from './http-bench.mjs';

/** The i-th distinct client: an IPv4 address, as the engine keys clients by default. */
export const clientAddress = (i) => `${10 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The next message of `type` from a worker; rejects if the worker exits first. */
export const once = (proc, type) =>
  new Promise((resolve, reject) => {
    const onMsg = (m) => {
      if (m.type !== type) return;
      proc.off('message', onMsg);
      proc.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code) => reject(new Error(`worker ${proc.pid} exited with ${code} while waiting for '${type}'`));
    proc.on('message', onMsg);
    proc.on('exit', onExit);
  });

/** Forks `file` as a worker (`node file ...args`), sends it `init` and waits for its 'ready'. */
export async function startWorker(file, args, init) {
  const w = fork(file, args, { execArgv: [], stdio: 'inherit' });
  w.send({ type: 'init', ...init });
  await once(w, 'ready');
  return w;
}

/** Tells every worker still running to exit, and waits until they have. */
export async function stopWorkers(workers) {
  for (const w of workers) if (w.exitCode === null) w.send({ type: 'exit' });
  await Promise.all(workers.map((w) => (w.exitCode !== null ? undefined : once(w, 'never').catch(() => undefined))));
}

/**
 * One measured window over loaded workers: after `warmMs`, each is told 'mark' (count afresh from
 * here), and after `measureMs` more, 'stop'. `onMark` runs once the marks are sent, before the
 * clocks start. Returns the workers' 'result' messages, the window's length, and the CPU seconds
 * the server (`serverPid`) and the workers spent in it.
 */
export async function measureWindow(workers, serverPid, { warmMs, measureMs, onMark }) {
  await sleep(warmMs);
  for (const w of workers) w.send({ type: 'mark' });
  if (onMark !== undefined) await onMark();
  const cpu0 = cpuSeconds(serverPid);
  const app0 = workers.reduce((t, w) => t + cpuSeconds(w.pid), 0);
  const t0 = performance.now();
  await sleep(measureMs);
  const cpu1 = cpuSeconds(serverPid);
  const app1 = workers.reduce((t, w) => t + cpuSeconds(w.pid), 0);
  const seconds = (performance.now() - t0) / 1000;
  const results = await Promise.all(workers.map((w) => (w.send({ type: 'stop' }), once(w, 'result'))));
  return { results, seconds, serverCpu: cpu1 - cpu0, workersCpu: app1 - app0 };
}
