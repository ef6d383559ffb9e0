import * as os from 'node:os';
import { InvalidOptionError } from '../util/errors.js';

/** What the work of the processes mostly is. */
export type WorkloadKind = 'io_bound' | 'cpu_bound';

/** Inputs to {@link recommendProcessAllocation}; each defaults to what this machine reports. */
export interface AllocationInputs {
  /** CPU cores available to this process. Default `os.availableParallelism()`. */
  cores?: number;
  /** Memory available, bytes. Default the cgroup limit (`process.constrainedMemory()`) or `os.totalmem()`. */
  memoryBytes?: number;
  /** Memory one worker needs at peak, bytes. Default 512 MiB. */
  memoryPerWorkerBytes?: number;
}

/** Advice: how many worker processes, and the libuv thread pool size for each. */
export interface ProcessAllocation {
  kind: WorkloadKind;
  workers: number;
  /** Value for the `UV_THREADPOOL_SIZE` environment variable (set before the process starts). */
  uvThreadpoolSize: number;
  cores: number;
  memoryBytes: number;
  /** Why, one line per decision. */
  reasoning: string[];
}

const MIB = 1024 * 1024;
/** libuv's own ceiling on the thread pool. */
const UV_MAX = 1024;

/**
 * Recommends a worker count (cluster / PM2 instances / replicas) and `UV_THREADPOOL_SIZE`.
 *
 * - `cpu_bound`: one worker per core. JavaScript runs on one thread per process, so a worker per
 *   core uses every core; more workers only add context switches and memory. The thread pool stays
 *   at libuv's default of 4: CPU work on the event loop does not use it, and extra pool threads
 *   would compete with the event loops for the same cores.
 * - `io_bound`: one worker per core as well (an event loop handles many concurrent requests, but
 *   parsing and serialising still cost CPU), with a larger thread pool: fs, dns.lookup, zlib and
 *   crypto's async calls queue on it, and threads blocked in I/O do not use a core, so 4 per core
 *   (at least 4, at most libuv's 1024) keeps those calls from waiting on each other.
 * - In both cases workers are capped by memory: at most `memory × 0.8 / memoryPerWorker` (20% left
 *   to the OS and page cache), and never fewer than one.
 */
export function recommendProcessAllocation(kind: WorkloadKind, inputs: AllocationInputs = {}): ProcessAllocation {
  if (kind !== 'io_bound' && kind !== 'cpu_bound') throw new InvalidOptionError('kind', "'io_bound' or 'cpu_bound'", kind);
  const cores = positive('cores', inputs.cores, Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
  const memoryBytes = positive('memoryBytes', inputs.memoryBytes, availableMemory());
  const perWorker = positive('memoryPerWorkerBytes', inputs.memoryPerWorkerBytes, 512 * MIB);
  const reasoning: string[] = [];
  let workers = Math.floor(cores);
  reasoning.push(`${cores} core(s): one worker per core, since each Node.js process runs JavaScript on one thread`);
  const byMemory = Math.max(1, Math.floor((memoryBytes * 0.8) / perWorker));
  if (byMemory < workers) {
    workers = byMemory;
    reasoning.push(`memory caps it at ${byMemory}: ${Math.round(memoryBytes / MIB)} MiB × 0.8 / ${Math.round(perWorker / MIB)} MiB per worker`);
  }
  let uvThreadpoolSize = 4;
  if (kind === 'cpu_bound') {
    reasoning.push('cpu_bound: UV_THREADPOOL_SIZE stays 4 (libuv default); JS work does not use the pool and more threads would compete for the cores');
  } else {
    uvThreadpoolSize = Math.min(UV_MAX, Math.max(4, Math.floor(cores) * 4));
    reasoning.push(
      `io_bound: UV_THREADPOOL_SIZE ${uvThreadpoolSize} (4 per core): fs, dns.lookup, zlib and async crypto queue on the pool, and threads blocked on I/O do not use a core`,
    );
  }
  return { kind, workers, uvThreadpoolSize, cores, memoryBytes, reasoning };
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new InvalidOptionError(name, 'a positive number', v);
  return v;
}

function availableMemory(): number {
  const total = os.totalmem();
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  // Without a cgroup limit Node reports 0 or a huge sentinel; only a real limit below RAM counts.
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}
