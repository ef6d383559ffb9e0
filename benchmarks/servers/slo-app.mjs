// Benchmark server for slo-events.bench.mjs: `node servers/slo-app.mjs <variant>`
//   metrics: autom8 metrics only (telemetry off)      slo: + 3 SLO objectives
//   slowlog: + slow-request log (threshold never hit)  all: + SLOs + slow log + dashboard
// Express 5, GET /users/:id (JSON). Prints "LISTENING <port>".
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [variant = 'metrics'] = process.argv.slice(2);
const slo = {
  objectives: [
    { name: 'api-latency', latency: { percentile: 95, thresholdMs: 150 } },
    { name: 'api-errors', errorRate: 0.01 },
    { name: 'users-latency', route: 'GET /users/:id', latency: { percentile: 99, thresholdMs: 300 } },
  ],
};
const slowLog = { thresholdMs: 1000 };
const options = { telemetry: { enabled: false } };
if (variant === 'slo' || variant === 'all') options.slo = slo;
if (variant === 'slowlog' || variant === 'all') options.slowLog = slowLog;
if (variant === 'all') options.dashboard = true;

const express = require('express');
const app = express();
app.set('etag', false);
app.set('x-powered-by', false);
app.use(require('@autom8/express').autom8Express(options));
const body = (id) => JSON.stringify({ id, name: 'Ada Lovelace', email: 'ada@example.com' });
app.get('/users/:id', (req, res) => res.type('json').send(body(req.params.id)));
const server = http.createServer(app);
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
