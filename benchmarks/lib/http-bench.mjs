// Helpers shared by the HTTP benchmarks: start a server in its own process, load it with
// autocannon from this process, and read the server's CPU time from /proc/<pid>/stat, so every
// figure comes with the server CPU µs per request (independent of how the 2 cores were shared).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const CLK_TCK = 100; // USER_HZ on Linux

/** User+system CPU seconds of a process, from /proc/<pid>/stat. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11] = utime, fields[12] = stime (after the comm field)
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/**
 * CPU pinning for benchmarks that keep several servers running: the server being measured gets CPU 0
 * to itself; this process (the load generator, every thread) and the idle servers (their timers)
 * share the other CPUs. Used where the machine has ≥ 2 CPUs and `taskset` exists; BENCH_PIN=0 turns
 * it off. Left to the scheduler, server and generator move between the two cores and interrupt each
 * other; with every server on one CPU, the idle servers' timers (SDK exports, samplers) land on the
 * measured one (measured: "SDK registered, nothing instrumented" +11 µs/req on Koa, +2.5 this way).
 * The VM's own noise stays. Returns undefined when unpinned.
 * @returns {{ measured: string, others: string, measure: (pid:number) => void, release: (pid:number) => void } | undefined}
 */
export function pinCpus() {
  const cpus = availableParallelism();
  if (process.env.BENCH_PIN === '0' || cpus < 2) return undefined;
  const others = cpus === 2 ? '1' : `1-${cpus - 1}`;
  // -a: every thread of the process (V8's GC and compiler threads too).
  const pin = (pid, list) => execFileSync('taskset', ['-a', '-cp', list, String(pid)], { stdio: 'ignore' });
  try {
    pin(process.pid, others);
  } catch {
    return undefined; // no taskset: run unpinned
  }
  return { measured: '0', others, measure: (pid) => pin(pid, '0'), release: (pid) => pin(pid, others) };
}

/**
 * Starts `node <modulePath> ...args` and waits for it to print `LISTENING <port>`; with `cpu` (a
 * taskset CPU list) the server runs only there.
 * @returns {Promise<{port:number,url:string,pid:number,stop:()=>Promise<void>}>}
 */
export async function startServer(modulePath, args = [], env = {}, cpu = undefined) {
  const path = modulePath instanceof URL ? fileURLToPath(modulePath) : modulePath;
  const argv = [process.execPath, path, ...args];
  if (cpu !== undefined) argv.unshift('taskset', '-c', cpu);
  // taskset execs node: the child's pid is the server's.
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production', ...env },
  });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d) => {
      buf += d;
      const m = /LISTENING (\d+)/.exec(buf);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server ${path} exited with ${code} before listening`)));
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Runs autocannon once. */
export function autocannonRun(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ ...opts }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/**
 * Loads `server` for `duration` s (after a `warmup` s run that is not counted) and returns
 * requests/s, latency percentiles (ms), errors and server CPU µs per request.
 */
export async function measure(server, { path = '/', connections = 32, duration = 5, warmup = 2, pipelining = 1, headers, method } = {}) {
  const base = { url: server.url + path, connections, pipelining };
  if (headers) base.headers = headers;
  if (method) base.method = method;
  if (warmup > 0) await autocannonRun({ ...base, duration: warmup });
  const cpu0 = cpuSeconds(server.pid);
  const r = await autocannonRun({ ...base, duration });
  const cpu1 = cpuSeconds(server.pid);
  const requests = r.requests.total;
  return {
    rps: r.requests.average,
    requests,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    cpuUsPerReq: requests > 0 ? ((cpu1 - cpu0) * 1e6) / requests : NaN,
  };
}

/** Prints rows as an aligned table. */
export function table(rows) {
  const cols = Object.keys(rows[0]);
  const cells = rows.map((r) => cols.map((c) => String(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals) => vals.map((v, i) => v.padEnd(widths[i])).join('  ');
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
}

export const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
