// The overload scenario's server: `node app.mjs <mode> [shed-options-json]`, prints
// "LISTENING <port> ROUNDS <work rounds>".
// GET /work burns about 10 ms of CPU (a fixed amount of hashing, calibrated at start) and answers JSON.
// WORK_MS sets the CPU work; DEP_MS (default 0) makes the route async: it first awaits a slow
// dependency (a timer of DEP_MS, as a database or HTTP call with spare capacity), then does the work.
//   none:   Express 5 + autom8 (metrics only): no protection
//   static: Express 5 + autom8 (metrics) + a static-threshold guard in the style of
//           @fastify/under-pressure (its README's settings: maxEventLoopDelay 1000 ms,
//           maxEventLoopUtilization 0.98, sampled every second; over either → 503 for everything)
//   autom8: Express 5 + autom8 with `shed` (options from argv[3], default `true`)
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import express from 'express';
import { autom8Express } from '@autom8/express';

const [mode = 'none', shedJson] = process.argv.slice(2);
const WORK_MS = Number(process.env.WORK_MS ?? 10);
const DEP_MS = Number(process.env.DEP_MS ?? 0);

// A fixed amount of CPU work worth WORK_MS: SHA-256 over a buffer, a number of rounds calibrated at
// start (best of several runs, so a busy neighbour during calibration makes the work smaller rather
// than larger). Native hashing costs the same on the first request and the millionth; a JavaScript
// spin loop did not (V8 made it ~4x cheaper after a few seconds, shrinking the "10 ms" route).
const BLOCK = randomBytes(16 * 1024);
let sink = 0;
function work(rounds) {
  const hash = createHash('sha256');
  for (let i = 0; i < rounds; i++) hash.update(BLOCK);
  sink ^= hash.digest()[0];
}
// WORK_ROUNDS reuses another process's calibration: a benchmark that measures capacity in one
// process and loads another must give both the same work (calibrations differ by up to a third).
function calibrate() {
  const PROBE = 200;
  let best = Infinity;
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    work(PROBE);
    best = Math.min(best, performance.now() - t);
  }
  return Math.max(1, Math.round((PROBE * WORK_MS) / best));
}
const ROUNDS = process.env.WORK_ROUNDS ? Number(process.env.WORK_ROUNDS) : calibrate();

function staticGuard() {
  const RESOLUTION = 10;
  const eld = monitorEventLoopDelay({ resolution: RESOLUTION });
  eld.enable();
  let lastElu = performance.eventLoopUtilization();
  let overloaded = false;
  setInterval(() => {
    const delay = Math.max(0, eld.mean / 1e6 - RESOLUTION);
    eld.reset();
    const elu = performance.eventLoopUtilization(lastElu).utilization;
    lastElu = performance.eventLoopUtilization();
    overloaded = delay > 1000 || elu > 0.98;
  }, 1000).unref();
  return (req, res, next) => {
    if (!overloaded || req.path.startsWith('/api/v1/')) return next();
    res.status(503).set('retry-after', '10').json({ error: 'Service Unavailable' });
  };
}

const options = { telemetry: { enabled: false } };
if (mode === 'autom8') options.shed = shedJson ? JSON.parse(shedJson) : true;
else if (mode !== 'none' && mode !== 'static') throw new Error(`unknown mode ${mode}`);
const mw = autom8Express(options);
const app = express();
app.use(mw);
if (mode === 'static') app.use(staticGuard());
const dependency = () => new Promise((resolve) => setTimeout(resolve, DEP_MS));
app.get(
  '/work',
  DEP_MS > 0
    ? async (_req, res) => {
        await dependency();
        work(ROUNDS);
        res.json({ ok: true, sink: sink & 1 });
      }
    : (_req, res) => {
        work(ROUNDS);
        res.json({ ok: true, sink: sink & 1 });
      },
);
const server = http.createServer(app);
server.keepAliveTimeout = 60_000;
// Up to 1,024 clients connect at once at the onset, while the loop is busy: with Node's default
// listen backlog (511) the accept queue overflows, the kernel drops SYNs, and those clients retry
// after 1 s and 3 s, a wait no shedder can see (the kernel's queue, before the process).
server.listen({ port: 0, host: '127.0.0.1', backlog: 2048 }, () => {
  process.stdout.write(`LISTENING ${server.address().port} ROUNDS ${ROUNDS}\n`);
});
process.on('SIGTERM', () => process.exit(0));
