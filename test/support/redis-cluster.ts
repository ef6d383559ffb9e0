import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureOwnServer, freePort, hasRedisServer, waitForPort } from './redis-server';

/** One redis-server process of a {@link TestRedisCluster}. */
export interface ClusterNodeProcess {
  readonly port: number;
  /** The cluster bus port (`cluster-port`), chosen free rather than port + 10000. */
  readonly busPort: number;
  /** False once killed or stopped. */
  readonly alive: boolean;
}

/** A master as the cluster sees it now (from `CLUSTER NODES` of a live node). */
export interface ClusterMaster {
  id: string;
  port: number;
  /** Inclusive slot ranges it serves. */
  slots: [number, number][];
  /** Ports of its replicas. */
  replicas: number[];
}

/** A real Redis Cluster (3 masters, 1 replica each by default) started by a test on loopback. */
export interface TestRedisCluster {
  /** Every redis-server process, in start order. */
  readonly nodes: readonly ClusterNodeProcess[];
  /** Seed nodes for `new Cluster(startupNodes, ...)` of ioredis (every node). */
  readonly startupNodes: { host: string; port: number }[];
  /** The live masters that serve slots, ordered by their first slot. */
  masters(): Promise<ClusterMaster[]>;
  /** The hash slot of a key (`CLUSTER KEYSLOT`, so hash tags count as Redis counts them). */
  slotOf(key: string): Promise<number>;
  /** Runs a command on one node with redis-cli and returns its raw output. */
  command(port: number, ...args: string[]): Promise<string>;
  /**
   * SIGKILLs a master: `masters()[index]`, or the one serving `{ slot }`. Resolves to that master
   * once its process has exited; {@link waitForFailover} then waits for its replica to take over.
   */
  killMaster(which: number | { slot: number }): Promise<ClusterMaster>;
  /**
   * Waits until every slot is served by a live master and every live node reports
   * `cluster_state:ok`. Resolves to the ms elapsed since the last {@link killMaster}.
   */
  waitForFailover(timeoutMs?: number): Promise<number>;
  /** Stops every node (SIGTERM), waits for them to exit and removes their config files. */
  stop(): Promise<void>;
}

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Masters. Default 3 (the fewest that can elect a replica after losing one). */
  masters?: number;
  /** Replicas per master. Default 1. */
  replicas?: number;
  /** `cluster-node-timeout`, ms: how long a silent node takes to be failed over. Default 1000. */
  nodeTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when both redis-server and redis-cli are installed (`.ci/run` installs them when missing). */
export function hasRedisCluster(): boolean {
  return hasRedisServer() && spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts a throwaway Redis Cluster from the redis-server binary: one process per node on free
 * loopback ports (no persistence, config files in a temp dir), joined with
 * `redis-cli --cluster create --cluster-replicas N`, and resolves once every node reports
 * `cluster_state:ok` with all 16384 slots covered and every replica in sync with its master.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  if (!hasRedisCluster()) {
    throw new Error(
      'redis-server and redis-cli are not on PATH: install them (apt-get install -y redis-server redis-tools; `npm test` does so when run as root)',
    );
  }
  const masterCount = options.masters ?? 3;
  const replicasPer = options.replicas ?? 1;
  const nodeTimeout = options.nodeTimeoutMs ?? 1000;
  const dir = mkdtempSync(join(tmpdir(), 'autom8-redis-cluster-'));
  const children = new Map<number, ChildProcess>();
  const nodes: { port: number; busPort: number; alive: boolean }[] = [];
  // Never leave orphaned servers behind, even when a test forgets stop().
  const killAll = () => {
    for (const c of children.values()) if (c.exitCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const used = new Set<number>();
  const pick = async () => {
    for (;;) {
      const p = await freePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
  };

  const launch = (node: { port: number; busPort: number; alive: boolean }) => {
    const args = [
      '--port',
      String(node.port),
      '--bind',
      '127.0.0.1',
      '--protected-mode',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${node.port}.conf`,
      '--cluster-port',
      String(node.busPort),
      '--cluster-node-timeout',
      String(nodeTimeout),
      // A replica may always take over, however long since it last heard from its master.
      '--cluster-replica-validity-factor',
      '0',
      // Replicas sync at once instead of after the default 5 s wait for more replicas.
      '--repl-diskless-sync-delay',
      '0',
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    child.unref();
    children.set(node.port, child);
    node.alive = true;
  };

  const command = (port: number, ...args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`redis-cli -p ${port} ${args.join(' ')}: ${err.message} ${stderr}`));
        else resolve(stdout);
      });
    });

  const stopNode = async (port: number, signal: NodeJS.Signals) => {
    const c = children.get(port);
    const node = nodes.find((n) => n.port === port);
    if (node !== undefined) node.alive = false;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    // Ref'd while we wait: an unref'd child alone would let the event loop drain mid-await.
    c.ref();
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };

  const stop = async () => {
    await Promise.all(nodes.map((n) => stopNode(n.port, 'SIGTERM')));
    process.removeListener('exit', killAll);
    rmSync(dir, { recursive: true, force: true });
  };

  const liveView = async (): Promise<ParsedNode[]> => {
    let last: unknown;
    for (const n of nodes) {
      if (!n.alive) continue;
      try {
        return parseClusterNodes(await command(n.port, 'CLUSTER', 'NODES'));
      } catch (err) {
        last = err;
      }
    }
    throw new Error(`no live cluster node answered CLUSTER NODES: ${String(last)}`);
  };

  const masters = async (): Promise<ClusterMaster[]> => {
    const view = await liveView();
    const alive = new Set(nodes.filter((n) => n.alive).map((n) => n.port));
    return view
      .filter((n) => n.master && n.slots.length > 0 && alive.has(n.port))
      .map((m) => ({
        id: m.id,
        port: m.port,
        slots: m.slots,
        replicas: view.filter((r) => r.masterId === m.id).map((r) => r.port),
      }))
      .sort((a, b) => a.slots[0]![0] - b.slots[0]![0]);
  };

  /** Every live node: state ok, all slots on live masters, and (when `synced`) replicas linked up. */
  const healthy = async (synced: boolean): Promise<boolean> => {
    const live = nodes.filter((n) => n.alive);
    const alive = new Set(live.map((n) => n.port));
    for (const n of live) {
      const info = await command(n.port, 'CLUSTER', 'INFO').catch(() => '');
      if (!info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384')) return false;
      const view = parseClusterNodes(await command(n.port, 'CLUSTER', 'NODES').catch(() => ''));
      let covered = 0;
      for (const m of view) {
        if (!m.master || m.failed || !alive.has(m.port)) continue;
        for (const [a, b] of m.slots) covered += b - a + 1;
      }
      if (covered !== 16384) return false;
      if (synced) {
        const repl = await command(n.port, 'INFO', 'replication').catch(() => '');
        if (repl.includes('role:slave') && !repl.includes('master_link_status:up')) return false;
      }
    }
    return true;
  };

  const waitHealthy = async (synced: boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await healthy(synced))) {
      if (Date.now() > deadline) throw new Error(`Redis Cluster: ${what} within ${timeoutMs} ms`);
      await sleep(50);
    }
  };

  let killedAt = 0;

  try {
    const total = masterCount * (1 + replicasPer);
    for (let i = 0; i < total; i++) nodes.push({ port: await pick(), busPort: await pick(), alive: false });
    for (const n of nodes) launch(n);
    await Promise.all(nodes.map((n) => waitForPort(n.port, 5000)));
    // A port taken by another process between choosing and binding would answer for it, not us.
    for (const n of nodes) await ensureOwnServer(n.port, children.get(n.port)?.pid);
    await new Promise<void>((resolve, reject) => {
      const args = ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicasPer), '--cluster-yes'];
      execFile('redis-cli', args, { timeout: 60_000 }, (err, stdout, stderr) => {
        if (err || !stdout.includes('All 16384 slots covered'))
          reject(new Error(`redis-cli --cluster create failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
        else resolve();
      });
    });
    await waitHealthy(true, 30_000, 'nodes did not all report cluster_state:ok with synced replicas');
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    nodes: nodes,
    startupNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    masters,
    command,
    slotOf: async (key) => Number((await command(nodes.find((n) => n.alive)!.port, 'CLUSTER', 'KEYSLOT', key)).trim()),
    killMaster: async (which) => {
      const all = await masters();
      const target = typeof which === 'number' ? all[which] : all.find((m) => m.slots.some(([a, b]) => which.slot >= a && which.slot <= b));
      if (target === undefined) throw new Error(`Redis Cluster: no master ${JSON.stringify(which)} among ${all.map((m) => m.port).join(', ')}`);
      killedAt = performance.now();
      await stopNode(target.port, 'SIGKILL');
      return target;
    },
    waitForFailover: async (timeoutMs = 20_000) => {
      await waitHealthy(false, timeoutMs, 'no replica took over the killed master');
      return Math.round(performance.now() - killedAt);
    },
    stop,
  };
}

interface ParsedNode {
  id: string;
  port: number;
  master: boolean;
  failed: boolean;
  masterId: string | undefined;
  slots: [number, number][];
}

/** Parses `CLUSTER NODES`: `<id> <ip:port@cport> <flags> <master-id|-> <ping> <pong> <epoch> <link> <slots...>`. */
function parseClusterNodes(text: string): ParsedNode[] {
  const out: ParsedNode[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const port = Number(f[1]!.split('@')[0]!.split(':').pop());
    const flags = f[2]!.split(',');
    const slots: [number, number][] = [];
    for (const s of f.slice(8)) {
      if (s.startsWith('[')) continue; // a slot being migrated or imported
      const [a, b] = s.split('-').map(Number);
      slots.push([a!, b ?? a!]);
    }
    out.push({
      id: f[0]!,
      port,
      master: flags.includes('master'),
      failed: flags.includes('fail') || flags.includes('fail?'),
      masterId: f[3] === '-' ? undefined : f[3],
      slots,
    });
  }
  return out;
}
