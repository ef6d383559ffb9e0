// Before any stack of the stacks benchmark is timed, prove that it does its job: a stack whose
// limiter never engages, whose cache never hits or whose SDK exports nothing would be fast for the
// wrong reason. Each check starts the stack with STACK_CHECK=1 (rate limit 3/min, a stats route)
// and throws, naming the stack, on the first thing that is not as it should be.
import { startServer } from './http-bench.mjs';

const SERVER = new URL('../servers/stacks.mjs', import.meta.url);

let shedRetries = 0;
async function get(base, path) {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(base + path);
    const res = { status: r.status, headers: r.headers, text: await r.text() };
    // autom8's shedder may still see the start-up's event-loop delay (module loading, a loaded
    // machine) and answer 503: that is the feature working, so wait for it to settle and retry.
    if (res.status !== 503 || !res.text.includes('overloaded') || attempt === 20) return res;
    shedRetries++;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Runs the checks on one stack ({ id, variant, family }); returns a one-line summary. */
export async function checkStack(stack) {
  const server = await startServer(SERVER, [stack.id], { STACK_CHECK: '1' });
  shedRetries = 0;
  const fail = (what) => {
    throw new Error(`stack ${stack.id} is misconfigured: ${what}`);
  };
  try {
    const base = server.url;
    const u = await get(base, '/users/7');
    if (u.status !== 200) fail(`GET /users/7 answered ${u.status}`);
    const body = JSON.parse(u.text);
    if (body.id !== '7' || body.name !== 'Ada Lovelace') fail(`GET /users/7 body ${u.text}`);

    const c1 = await get(base, '/catalog');
    const c2 = await get(base, '/catalog');
    if (c1.status !== 200 || c2.status !== 200 || c1.text !== c2.text || JSON.parse(c1.text).total !== 20)
      fail(`GET /catalog did not serve the catalog twice (${c1.status} ${c1.text.slice(0, 60)} / ${c2.status} ${c2.text.slice(0, 60)})`);

    // What each variant must do (the per-feature variants do one job each).
    const v = stack.variant;
    const full = ['autom8', 'front', 'nosdk', 'sampled'].includes(v);
    const autom8Cache = full || v === 'a8cache';
    const autom8Metrics = full || v === 'a8metrics' || v === 'a8metrl';
    const promMetrics = v === 'peers' || v === 'prom';
    const limits = full || ['peers', 'a8rl', 'a8rlnohdr', 'erl', 'rlflex', 'koarl', 'a8metrl'].includes(v);
    const cached = full || ['peers', 'a8cache', 'apicache', 'koacash'].includes(v);
    // Stacks that export through the SDK; `sdk` registers it with nothing to record.
    const otel = full ? v !== 'nosdk' : ['peers', 'otel', 'floor', 'a8otel'].includes(v);

    // Metrics endpoint, before the limiter is exhausted.
    if (autom8Cache && c2.headers.get('x-cache') !== 'HIT') fail(`second GET /catalog has x-cache ${c2.headers.get('x-cache')}, expected HIT`);
    if (autom8Metrics) {
      const m = JSON.parse((await get(base, '/api/v1/metrics')).text);
      if (!m.routes?.['GET /users/:id'] || m.routes['GET /users/:id'].total.count < 1) fail('/api/v1/metrics has no GET /users/:id series');
    } else if (promMetrics) {
      const m = (await get(base, '/metrics')).text;
      if (!/http_request_duration_seconds_count\{[^}]*path="\/users\/#val"[^}]*\} [1-9]/.test(m))
        fail('express-prom-bundle /metrics has no /users/#val series');
    }

    // Rate limit: 3 per minute in check mode, so a 429 must come within a few requests.
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(base, `/users/${i}`)).status);
    if (limits && !statuses.includes(429)) fail(`no 429 with a limit of 3/min (statuses ${statuses})`);
    if (!limits && statuses.some((s) => s !== 200)) fail(`unexpected statuses ${statuses}`);

    const stats = JSON.parse((await get(base, '/__bench/stats')).text);
    if (stats.catalogCalls !== (cached ? 1 : 2))
      fail(`/catalog handler ran ${stats.catalogCalls} times for 2 requests (${cached ? 'cached' : 'uncached'} stack)`);

    // OTel: the SDK must have exported spans and the duration histogram.
    if (otel) {
      if (stats.spans < 3) fail(`the OTel SDK exported ${stats.spans} spans`);
      if (!stats.spanNames.includes('GET /users/:id')) fail(`no span named "GET /users/:id" (got ${stats.spanNames})`);
      if (!stats.metricNames.includes('http.server.request.duration')) fail(`no http.server.request.duration points (got ${stats.metricNames})`);
      if (full) {
        for (const name of ['autom8.shed.load', 'autom8.ratelimit.decisions', 'autom8.cache.requests']) {
          if (!stats.metricNames.includes(name)) fail(`no ${name} metric: is the feature on?`);
        }
      } else if (v === 'peers' || v === 'otel') {
        // The framework instrumentation, not only the http one, must be producing spans.
        const framework = stack.family === 'express' ? /^request handler/ : /^router - /;
        if (!stats.spanNames.some((n) => framework.test(n))) fail(`no ${stack.family} instrumentation span (got ${stats.spanNames})`);
      }
    } else if (stats.spans !== 0) fail(`a ${stack.variant} stack exported ${stats.spans} spans`);

    return `${stack.id}: ok (${otel ? `${stats.spans} spans, ` : ''}429 ${limits ? 'seen' : 'never'}, /catalog handler ran ${stats.catalogCalls}× for 2 GETs${shedRetries ? `; shed ${shedRetries}× while settling` : ''})`;
  } finally {
    await server.stop();
  }
}
