/**
 * autom8 example: a fleet of worker processes on one port (node:cluster), sharing rate limits and
 * the response cache through Redis.
 *   redis-server --port 6379 &
 *   npm run build && WORKERS=4 npm start -w @autom8/example-fleet
 *   curl -i -H 'x-api-key: alice' localhost:3000/api/items/1     (x-served-by: which worker)
 *
 * This file is the primary: it forks WORKERS workers (worker.ts), re-forks one that dies (with a
 * back-off), and on SIGTERM/SIGINT stops them all and exits. It serves no requests itself.
 */
import cluster, { type Worker } from 'node:cluster';
import { join } from 'node:path';
import { readConfig } from './config.js';
import { RespawnBackoff } from './respawn-backoff.js';

const config = readConfig();
const STOP_DEADLINE_MS = 15_000; // a worker still up by then is killed (SIGKILL)

interface Slot {
  index: number;
  worker?: Worker;
  startedAt: number;
  backoff: RespawnBackoff;
  respawnTimer?: NodeJS.Timeout;
}

cluster.setupPrimary({ exec: join(__dirname, 'worker.js') });

const slots: Slot[] = Array.from({ length: config.workers }, (_, index) => ({ index, startedAt: 0, backoff: new RespawnBackoff() }));
const listening = new Set<number>();
let announced = false;
let stopping = false;

function fork(slot: Slot): void {
  slot.respawnTimer = undefined;
  slot.startedAt = Date.now();
  // The slot number is for logs only; the worker's OTel identity is its own random instance id.
  const worker = cluster.fork({ FLEET_WORKER_SLOT: String(slot.index) });
  slot.worker = worker;
  worker.once('listening', () => {
    listening.add(slot.index);
    if (!announced && listening.size === slots.length) {
      announced = true;
      console.log(`autom8 fleet: ${slots.length} workers listening on http://localhost:${config.port} (redis ${config.redisUrl})`);
    }
  });
  worker.once('exit', (code, signal) => {
    slot.worker = undefined;
    if (stopping) return;
    const delay = slot.backoff.next(Date.now() - slot.startedAt);
    console.error(`autom8 fleet: worker ${slot.index} (pid ${worker.process.pid}) died (${signal ?? `code ${code}`}); re-forking in ${delay} ms`);
    slot.respawnTimer = setTimeout(() => fork(slot), delay);
  });
}

async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`autom8 fleet: ${signal}: stopping ${slots.filter((s) => s.worker).length} workers`);
  const exits: Promise<void>[] = [];
  for (const slot of slots) {
    if (slot.respawnTimer !== undefined) clearTimeout(slot.respawnTimer);
    const w = slot.worker;
    if (w === undefined || w.isDead()) continue;
    exits.push(new Promise((resolve) => w.once('exit', () => resolve())));
    // A signal, not worker.disconnect(): a worker whose IPC channel closes exits at once, without
    // finishing its requests; SIGTERM lets it drain and close its Redis clients.
    w.process.kill('SIGTERM');
  }
  const deadline = setTimeout(() => {
    for (const s of slots) if (s.worker !== undefined && !s.worker.isDead()) s.worker.process.kill('SIGKILL');
  }, STOP_DEADLINE_MS);
  await Promise.all(exits);
  clearTimeout(deadline);
  process.exit(0);
}

process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
for (const slot of slots) fork(slot);
