// An in-process Express harness for counting what autom8 adds per request, without sockets.
// Not part of `npm run bench`: use it under callgrind, whose instruction counts repeat exactly on
// this noisy machine, at two request counts, and divide the difference by the extra requests:
//
//   for n in 5000 15000; do
//     W=5000 N=$n valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$MODE.$n \
//       node benchmarks/tools/express-inproc.mjs $MODE
//   done
//   (grep totals /tmp/cg.$MODE.15000 − grep totals /tmp/cg.$MODE.5000) / 10000 = instructions/request
//
// MODE: none | noop | full (app.use(autom8Express())) ; EXPRESS=4 for Express 4.
// Without valgrind it prints CPU µs per request (noisy). `node --trace-generalization` on it shows
// Express's request objects getting fresh hidden classes on every request.
import http from 'node:http';
import { Socket } from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const express = require(process.env.EXPRESS === '4' ? 'express4' : 'express');
const mode = process.argv[2] ?? 'none';
const app = express();
app.set('etag', false);
app.set('x-powered-by', false);
if (mode === 'noop') app.use((_req, _res, next) => next());
if (mode === 'full') app.use(require('@autom8/express').autom8Express({ telemetry: { enabled: false } }));
app.get('/users/:id', (req, res) => res.type('json').send(JSON.stringify({ id: req.params.id })));

function one() {
  const req = new http.IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/users/42';
  req.headers = { host: 'x' };
  const res = new http.ServerResponse(req);
  app(req, res);
  res.emit('close');
}

const W = Number(process.env.W ?? 30000);
const N = Number(process.env.N ?? 100000);
for (let i = 0; i < W; i++) one();
const c0 = process.cpuUsage();
for (let i = 0; i < N; i++) one();
const c = process.cpuUsage(c0);
console.log(mode.padEnd(6), ((c.user + c.system) / N).toFixed(2), 'µs CPU/request');
process.exit(0);
