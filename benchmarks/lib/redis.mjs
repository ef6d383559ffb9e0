// A throwaway redis-server for the benchmarks that measure the Redis stores: started on a free
// loopback port, no persistence, stopped by the bench. Its pid is exposed so a bench can read
// Redis's own CPU time from /proc (see cpuSeconds in http-bench.mjs).
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer, connect } from 'node:net';

const require = createRequire(import.meta.url);

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * Polls until 127.0.0.1:`port` accepts a connection: true then, false once `child` has exited or
 * `tries` polls `everyMs` apart have failed.
 */
export async function accepting(port, child, tries, everyMs) {
  for (let i = 0; ; i++) {
    const ok = await new Promise((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });
    if (ok) return true;
    if (i === tries || child.exitCode !== null) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Starts redis-server on a free port and waits until it accepts connections. `kill()` ends it
 * abruptly (SIGKILL), as an outage would.
 * @returns {Promise<{port:number,pid:number,stop:()=>Promise<void>,kill:()=>Promise<void>}>}
 */
export async function startRedis() {
  // Fail with the fix rather than an ENOENT from spawn.
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('redis-server is not on PATH: install it (apt-get install -y redis-server; scripts/ensure-system-deps.sh does so when run as root)');
  }
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  // A child ended by a signal keeps exitCode null: signalCode says it is gone too.
  const end = (signal) =>
    new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : (child.once('exit', resolve), child.kill(signal))));
  const stop = () => end('SIGTERM');
  if (!(await accepting(port, child, 100, 50))) {
    await stop();
    throw new Error(`redis-server did not accept connections on port ${port}`);
  }
  return { port, pid: child.pid, stop, kill: () => end('SIGKILL') };
}

/**
 * An ioredis client on a bench's redis-server, once ready: no offline queue, one retry, as the docs
 * advise; `extra` adds ioredis options (e.g. `{ enableAutoPipelining: true }`).
 */
export async function connectRedis(port, extra = {}) {
  const Redis = require('ioredis');
  const client = new Redis(port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1, ...extra });
  await new Promise((r) => client.once('ready', r));
  return client;
}
