// Instructions per request, counted by callgrind: what autom8 adds to each framework's own work,
// as a figure that does not move with the machine's noise. Requests/s and CPU µs on these shared
// VMs swing ±15 % from one 3-second pass to the next (for the bare framework too), far more than
// the few percent issue #2 is about; an instruction count is the same from run to run.
//
// Method: benchmarks/tools/inproc.mjs drives the real framework in one process with node's own
// request/response objects (no sockets, no load generator), under `valgrind --tool=callgrind`, at two
// request counts after the same warm-up; (instructions at N_HI − at N_LO) ÷ (N_HI − N_LO) is one
// request's cost, start-up and warm-up cancelling out. `node --single-threaded` keeps V8's compiler
// and GC threads out of it; fixed hash and random seeds with address randomisation off
// (`setarch -R`) make runs agree within about 1k instructions; rows with the OTel SDK vary more,
// about ±5k (where the span batches and exports fall: measured 128.8k–137.4k for Koa 3 + autom8 + SDK). The wide gap between the two counts
// (20,000 requests) spreads the lumpy cost of major GCs thin. Sockets, the kernel and the load
// generator are not in it, so the bare frameworks' figures are lower than their HTTP cost, and
// autom8's share of a real request is smaller than its share here.
// Timers run per wall-clock second, and under valgrind a second holds ~50× fewer requests: work on
// a timer (the shedder's event-loop-delay read every 50 ms, a full walk of the native histogram for
// its mean, ~34 µs; the SDK's periodic metric export; the system sampler) would weigh ~50× more per
// request here than in a real server (Koa 3 with every feature: ~10k instructions). The harness
// stretches those periods by TIMER_SCALE (INSTR_TIMER_SCALE, default 50) so the count is the
// per-request work.
//   INSTR_CONFIGS=id,id | all (default: all below but two), INSTR_N=lo,hi (default 5000,25000), INSTR_WARMUP (10000),
//   INSTR_TIMER_SCALE (50), INSTR_JOBS (valgrinds at a time; default one per core), INSTR_MERGE=1 (replace only the rows counted now in the results file). Writes results/instructions-node<major>.json (one per Node.js line; another
//   Node: `BENCH_NODE=24.21.0 npm run bench -- instructions`). On Node 24 the counts do not repeat from run to
//   run (Express 5 bare 89.5k, then 73.6k), so only Node 20's are checked in.
// GC: V8's collector (scavenges, incremental marking with its write barrier, sweeping, compaction)
// runs when allocation and heap limits say so, and a mark-compact of these heaps is worth some 100M
// instructions: whether one more of them falls between the two counts moves a row by 10-20k per
// request (Express 4 bare 265k or 285k by whether the harness yields between batches; issue #23).
// So each row also gets its GC share (the exclusive cost of the collector's functions, by name,
// from callgrind_annotate) and, for comparing rows a few k apart, what it adds without it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResults, round } from './lib/results.mjs';
import { table, fmt } from './lib/http-bench.mjs';

const HARNESS = fileURLToPath(new URL('./tools/inproc.mjs', import.meta.url));
const [N_LO, N_HI] = (process.env.INSTR_N ?? '5000,25000').split(',').map(Number);
const WARMUP = Number(process.env.INSTR_WARMUP ?? 10000);
const TIMER_SCALE = Number(process.env.INSTR_TIMER_SCALE ?? 50);

// The client address of the rate-limit rows (inproc.mjs's PEER).
const RL_PEER = { PEER: '10.0.0.1' };
// id → [framework, harness mode, autom8 features (inproc.mjs's F), label, extra environment]
const CONFIGS = {
  'express-bare': ['express', 'none', '', 'Express 5 bare'],
  'express-noop': ['express', 'noop', '', 'Express 5 + a no-op middleware'],
  'express-metrics': ['express', 'full', '', 'Express 5 + autom8 metrics (app.use)'],
  'express-metrics-front': ['express', 'front', '', 'Express 5 + autom8 metrics (front mode)'],
  'express-metrics-preshape': ['express', 'full', '', 'Express 5 + autom8 metrics (app.use, `preshape: true`)', { PRESHAPE: 'true' }],
  'express-all': ['express', 'full', 'api,rl,shed,cache', 'Express 5 + autom8 every feature, no OTel SDK'],
  'express-all-sdk': ['express', 'full', 'otel,rl,shed,cache', 'Express 5 + autom8 every feature, OTel SDK'],
  'express-floor-sdk': ['express', 'floor', 'otel', 'Express 5 + the SDK floor (hand-written: one span, its context, one record)'],
  'express-all-sdk-front': ['express', 'front', 'otel,rl,shed,cache', 'Express 5 + autom8 every feature, OTel SDK (front mode)'],
  'express4-bare': ['express4', 'none', '', 'Express 4 bare'],
  'express4-metrics': ['express4', 'full', '', 'Express 4 + autom8 metrics (app.use)'],
  'express4-all-sdk': ['express4', 'full', 'otel,rl,shed,cache', 'Express 4 + autom8 every feature, OTel SDK'],
  'koa-bare': ['koa', 'none', '', 'Koa 3 bare'],
  'koa-metrics': ['koa', 'full', '', 'Koa 3 + autom8 metrics'],
  'koa-all': ['koa', 'full', 'api,rl,shed,cache', 'Koa 3 + autom8 every feature, no OTel SDK'],
  'koa-all-sdk': ['koa', 'full', 'otel,rl,shed,cache', 'Koa 3 + autom8 every feature, OTel SDK'],
  'koa-floor-sdk': ['koa', 'floor', 'otel', 'Koa 3 + the SDK floor (hand-written: one span, its context, one record)'],
  'koa-metrics-rl': ['koa', 'full', 'api,rl', 'Koa 3 + autom8 metrics + rate limit, telemetry on, no OTel SDK (issue #23)'],
  // Rate limiting alone (issue #23), autom8 against the single-purpose peers, on a real client address
  // (PEER) so that what keys by IP does its real work; each row's added figure is over the bare row
  // with the same address.
  'express-bare-peer': ['express', 'none', '', 'Express 5 bare, client address set', RL_PEER],
  'express-rl': ['express', 'full', 'rl,metoff', 'Express 5 + autom8 rate limit only (metrics, telemetry off)', RL_PEER],
  'express-rl-nohdr': ['express', 'full', 'rl,metoff,nohdr', 'Express 5 + autom8 rate limit only, no headers (as rate-limiter-flexible sends none)', RL_PEER],
  'express-rlflex': ['express', 'rlflex', '', 'Express 5 + rate-limiter-flexible (RateLimiterMemory)', RL_PEER],
  'express-erl': ['express', 'erl', '', 'Express 5 + express-rate-limit (memory store)', RL_PEER],
  'express4-bare-peer': ['express4', 'none', '', 'Express 4 bare, client address set', RL_PEER],
  'express4-rl': ['express4', 'full', 'rl,metoff', 'Express 4 + autom8 rate limit only (metrics, telemetry off)', RL_PEER],
  'express4-rl-nohdr': ['express4', 'full', 'rl,metoff,nohdr', 'Express 4 + autom8 rate limit only, no headers (as rate-limiter-flexible sends none)', RL_PEER],
  'express4-rlflex': ['express4', 'rlflex', '', 'Express 4 + rate-limiter-flexible (RateLimiterMemory)', RL_PEER],
  'express4-erl': ['express4', 'erl', '', 'Express 4 + express-rate-limit (memory store)', RL_PEER],
  'koa-bare-peer': ['koa', 'none', '', 'Koa 3 bare, client address set', RL_PEER],
  'koa-rl': ['koa', 'full', 'rl,metoff', 'Koa 3 + autom8 rate limit only (metrics, telemetry off)', RL_PEER],
  'koa-rl-nohdr': ['koa', 'full', 'rl,metoff,nohdr', 'Koa 3 + autom8 rate limit only, no headers (as rate-limiter-flexible sends none)', RL_PEER],
  'koa-rlflex': ['koa', 'rlflex', '', 'Koa 3 + rate-limiter-flexible (RateLimiterMemory)', RL_PEER],
  'koa-erl': ['koa', 'erl', '', 'Koa 3 + koa-ratelimit (memory driver)', RL_PEER],
  // Controls for the peers, which call next() from a promise: a pass-through middleware doing just
  // that (issue #23: Express's own work is the same; only where V8's GC falls moves).
  'express-asyncnext': ['express', 'asyncnext', '', 'Express 5 + a middleware calling next() from a microtask (control)', RL_PEER],
  'express4-asyncnext': ['express4', 'asyncnext', '', 'Express 4 + a middleware calling next() from a microtask (control)', RL_PEER],
  // Control for the rate limit's header fields: node's own cost of setting and sending two fields of
  // the same length, constant (issue #23: what of autom8's header cost is node's).
  'express-hdr2': ['express', 'hdr2', '', "Express 5 + a middleware setting two constant fields like autom8's RateLimit pair (control)", RL_PEER],
  'express4-hdr2': ['express4', 'hdr2', '', "Express 4 + a middleware setting two constant fields like autom8's RateLimit pair (control)", RL_PEER],
  'koa-hdr2': ['koa', 'hdr2', '', "Koa 3 + a middleware setting two constant fields like autom8's RateLimit pair (control)", RL_PEER],
  // ...less a middleware that does nothing: Express 5 pays much more per middleware than the others.
  'express-noop-peer': ['express', 'noop', '', 'Express 5 + a no-op middleware, client address set (control)', RL_PEER],
  'express4-noop-peer': ['express4', 'noop', '', 'Express 4 + a no-op middleware, client address set (control)', RL_PEER],
  'koa-noop-peer': ['koa', 'noop', '', 'Koa 3 + a no-op middleware, client address set (control)', RL_PEER],
};
/** The bare row a row is measured against: the same framework with the same extra environment (PEER). */
function bareOf(id) {
  const [fw, , , , env] = CONFIGS[id];
  const same = (a, b) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
  return Object.keys(CONFIGS).find((b) => CONFIGS[b][0] === fw && CONFIGS[b][1] === 'none' && same(CONFIGS[b][4], env)) ?? `${fw}-bare`;
}
// By default all but the extra front-mode, Express 4 SDK and control rows (each configuration costs ~90 s of valgrind).
const CONTROL = /-(asyncnext|hdr2|noop-peer)$/;
const DEFAULT = Object.keys(CONFIGS).filter((id) => id !== 'express-all-sdk-front' && id !== 'express4-all-sdk' && !CONTROL.test(id));
// INSTR_MERGE=1: keep the rows of the last run for configurations not counted now (their bare row
// included, for the added figures), replacing only the rows counted now.
const wanted = process.env.INSTR_CONFIGS === 'all' ? Object.keys(CONFIGS) : process.env.INSTR_CONFIGS ? process.env.INSTR_CONFIGS.split(',') : DEFAULT;
for (const id of wanted) if (!CONFIGS[id]) throw new Error(`unknown config ${id}`);

function has(cmd) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
if (!has('valgrind')) {
  console.log('valgrind is not installed (apt-get install -y valgrind): instruction counts skipped');
  process.exit(0);
}
const setarch = has('setarch');
const dir = mkdtempSync(join(tmpdir(), 'autom8-callgrind-'));

// V8's garbage collector's functions, by name (node's binary has its symbols).
const GC_FUNCTION =
  /Scaveng|Marking|MarkCompact|MarkBit|Sweep|Evacuat|RememberedSet|BodyDescriptor|LiveObject|Worklist|WriteBarrier|RecordWrite|IterateObjectCache|SlotSet|TypedSlot|Pretenuring|Heap::|RecordMigrated|MinorGC|GCTracer|PointersUpdating|Compaction|FreeList|MemoryAllocator|heap::base|GlobalHandles|TracedHandles|ClearStringTable|SizeFromMap|Visit.*Visitor|Visitor::Visit|ShouldVisit|popcount/;
// callgrind_annotate (valgrind's) answers --version with exit status 255: look for it on the PATH.
const annotate = process.env.PATH?.split(':').some((d) => existsSync(join(d, 'callgrind_annotate'))) ?? false;
/** The collector's instructions in a callgrind output file (undefined without callgrind_annotate). */
function gcOf(file) {
  if (!annotate) return undefined;
  const text = execFileSync('callgrind_annotate', ['--threshold=100', '--inclusive=no', file], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  let gc = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$/.exec(line);
    if (m && !m[2].startsWith('PROGRAM TOTALS') && GC_FUNCTION.test(m[2])) gc += Number(m[1].replaceAll(',', ''));
  }
  return gc;
}

/** Instructions of one harness run of `n` requests (after the warm-up), and the collector's share. */
function countOnce(id, n) {
  const [fw, mode, features, , env] = CONFIGS[id];
  const out = join(dir, `${id}.${n}.out`);
  const node = [process.execPath, '--single-threaded', '--hash-seed=1', '--random-seed=1', HARNESS, mode];
  const cmd = ['valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`, ...node];
  const argv = setarch ? ['setarch', '-R', ...cmd] : cmd;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: { ...process.env, ...env, FW: fw, F: features, W: String(WARMUP), N: String(n), TIMER_SCALE: String(TIMER_SCALE) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const m = /^totals:\s+(\d+)/m.exec(safeRead(out));
      let gc;
      try {
        if (code === 0 && m) gc = gcOf(out);
      } finally {
        rmSync(out, { force: true });
      }
      if (code === 0 && m) resolve({ total: Number(m[1]), gc });
      else reject(new Error(`${id} N=${n}: exit ${code}\n${err.slice(-2000)}`));
    });
  });
}
function safeRead(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

// Both counts of every configuration, as many valgrinds at a time as there are cores (or INSTR_JOBS).
const jobs = wanted.flatMap((id) => [N_LO, N_HI].map((n) => ({ id, n })));
const totals = {};
let next = 0;
const t0 = Date.now();
async function worker() {
  while (next < jobs.length) {
    const job = jobs[next++];
    (totals[job.id] ??= {})[job.n] = await countOnce(job.id, job.n);
    process.stdout.write('.');
  }
}
await Promise.all(Array.from({ length: Math.max(1, Number(process.env.INSTR_JOBS) || cpus().length) }, worker));
rmSync(dir, { recursive: true, force: true });
console.log(` ${Math.round((Date.now() - t0) / 1000)} s`);

const perRequest = Object.fromEntries(wanted.map((id) => [id, (totals[id][N_HI].total - totals[id][N_LO].total) / (N_HI - N_LO)]));
const gcPerRequest = Object.fromEntries(
  wanted.filter((id) => totals[id][N_HI].gc !== undefined).map((id) => [id, (totals[id][N_HI].gc - totals[id][N_LO].gc) / (N_HI - N_LO)]),
);
const RESULTS_NAME = `instructions-node${process.versions.node.split('.')[0]}`;
let previous = [];
/** When each kept row was counted (a merged table says which rows are older). */
const countedAt = {};
const now = new Date().toISOString();
if (process.env.INSTR_MERGE === '1') {
  let previousWhen;
  try {
    const doc = JSON.parse(readFileSync(new URL(`./results/${RESULTS_NAME}.json`, import.meta.url), 'utf8'));
    previous = doc.rows;
    previousWhen = doc.when;
  } catch {
    // no earlier run: nothing to keep
  }
  for (const [id, [, , , label]] of Object.entries(CONFIGS)) {
    const row = previous.find((r) => r.stack === label);
    if (perRequest[id] === undefined && row) {
      perRequest[id] = row.kInstrPerReq * 1000;
      if (row.gcK != null) gcPerRequest[id] = row.gcK * 1000;
      countedAt[id] = row.countedAt ?? previousWhen;
    }
  }
}
const rows = [];
const printed = [];
const listed = process.env.INSTR_MERGE === '1' ? Object.keys(CONFIGS).filter((id) => perRequest[id] !== undefined) : wanted;
for (const id of listed) {
  const [, , , label] = CONFIGS[id];
  const bare = perRequest[bareOf(id)];
  const instr = perRequest[id];
  const added = bare === undefined || id === bareOf(id) ? undefined : instr - bare;
  const gc = gcPerRequest[id];
  const bareGc = gcPerRequest[bareOf(id)];
  const addedNoGc = added === undefined || gc === undefined || bareGc === undefined ? undefined : instr - gc - (bare - bareGc);
  rows.push({
    section: 'instructions',
    stack: label,
    kInstrPerReq: round(instr / 1000, 1),
    addedK: added === undefined ? undefined : round(added / 1000, 1),
    addedPct: added === undefined ? undefined : round((100 * added) / bare, 1),
    vsBare: bare === undefined ? undefined : round(bare / instr, 3),
    gcK: gc === undefined ? undefined : round(gc / 1000, 1),
    addedNoGcK: addedNoGc === undefined ? undefined : round(addedNoGc / 1000, 1),
    countedAt: countedAt[id] ?? now,
  });
  printed.push({
    stack: label,
    'k instr/req': fmt(instr / 1000, 1),
    'added k': added === undefined ? '' : fmt(added / 1000, 1),
    'added %': added === undefined ? '' : fmt((100 * added) / bare, 1),
    'bare ÷ this': bare === undefined ? '' : fmt(bare / instr, 3),
    'GC k': gc === undefined ? '' : fmt(gc / 1000, 1),
    'added w/o GC k': addedNoGc === undefined ? '' : fmt(addedNoGc / 1000, 1),
  });
}
console.log(`\ninstructions per request (callgrind, in-process, N ${N_LO} → ${N_HI} after ${WARMUP} warm-up)`);
table(printed);
writeResults(RESULTS_NAME, rows, {
  config: {
    warmup: WARMUP,
    nLo: N_LO,
    nHi: N_HI,
    timerScale: TIMER_SCALE,
    harness: 'benchmarks/tools/inproc.mjs',
    seeds: 'hash 1, random 1',
    aslr: setarch ? 'off (setarch -R)' : 'on',
  },
  titles: { instructions: 'Instructions per request under callgrind, in-process (no sockets): the framework bare and with autom8' },
  headers: {
    kInstrPerReq: 'k instructions / request',
    addedK: 'added (k)',
    addedPct: 'added %',
    vsBare: 'bare ÷ this (throughput-equivalent)',
    gcK: "of which V8's GC (k)",
    addedNoGcK: 'added without GC (k)',
  },
});
