import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

/** A real redis-server started by a test on a free loopback port. */
export interface TestRedis {
  port: number;
  url: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the server abruptly (SIGKILL), as an outage would. */
  kill(): Promise<void>;
  /** Starts it again on the same port after stop/kill. */
  restart(): Promise<void>;
}

/** True when the redis-server binary is installed (`.ci/run` installs it when missing). */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throwaway redis-server (no persistence) on a free port. Tests own their server, so they
 * can kill and restart it, and never touch a Redis the machine runs for something else.
 */
export async function startRedis(port?: number): Promise<TestRedis> {
  if (!hasRedisServer()) {
    throw new Error('redis-server is not on PATH: install it (apt-get install -y redis-server; `npm test` does so when run as root)');
  }
  let p = port ?? (await freePort());
  let child: ChildProcess | undefined;
  const launch = async () => {
    const c = (child = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
      stdio: 'ignore',
    }));
    c.unref();
    await waitForPort(p, 5000);
    // The port was free when chosen, but another process (a concurrent test file's server) may have
    // taken it before redis-server bound it: then this child exits and the port answers for someone
    // else. Only the server whose process id is this child's is ours.
    try {
      await ensureOwnServer(p, c.pid);
    } catch (err) {
      c.kill('SIGKILL');
      child = undefined;
      throw err;
    }
  };
  const stopWith = async (signal: NodeJS.Signals) => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    // Ref'd while we wait: an unref'd child alone would let the event loop drain mid-await.
    c.ref();
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      if (!(err instanceof PortTakenError) || port !== undefined || attempt === 5) throw err;
      p = await freePort();
    }
  }
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    restart: async () => {
      await stopWith('SIGKILL');
      await launch();
    },
  };
}

class PortTakenError extends Error {}

/**
 * Throws unless the Redis server on 127.0.0.1:`port` is process `pid`: a port chosen free can be
 * taken by another process (a concurrent test file's listener) before redis-server binds it.
 */
export async function ensureOwnServer(port: number, pid: number | undefined): Promise<void> {
  const owner = await serverPid(port);
  if (owner !== pid) throw new PortTakenError(`port ${port} answers for process ${owner ?? '(not redis)'}, not for redis-server ${pid}`);
}

/** The process id a Redis server on 127.0.0.1:`port` reports (INFO server), or undefined if what answers is not Redis. */
async function serverPid(port: number, timeoutMs = 5000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    const done = (pid: number | undefined) => {
      clearTimeout(timer);
      s.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    s.setEncoding('latin1');
    s.once('connect', () => s.write('INFO server\r\n'));
    s.on('data', (chunk: string) => {
      text += chunk;
      const m = /process_id:(\d+)/.exec(text);
      if (m) done(Number(m[1]));
      else if (!text.startsWith('$') || text.length > 64 * 1024) done(undefined);
    });
    s.once('error', () => done(undefined));
    s.once('close', () => done(undefined));
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; throws after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
