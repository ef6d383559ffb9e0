// Prometheus end to end: both examples export through @opentelemetry/exporter-prometheus
// (OTEL_METRICS_EXPORTER=prometheus), a real Prometheus (Debian's package; scripts/ensure-system-deps.sh
// installs it) scrapes them every second, and its HTTP query API must give back exactly the traffic
// this test sent: request counts per route and status, the latency histogram, rate-limit decisions,
// shed requests and cache outcomes. Then every query of the Grafana dashboard in examples/grafana
// must return data from that same Prometheus.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/redis-server';

const root = join(__dirname, '..', '..');
const APPS = ['express-app', 'koa-app'] as const;
type AppName = (typeof APPS)[number];
const job = (name: AppName) => `autom8-${name}`;
/** Concurrency limit per route the examples run with (SHED_CONCURRENCY): bursts above it get 503s. */
const SHED_CONCURRENCY = 2;
const BURST = 6;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  output: () => string;
}

/** Spawns a process, keeping its output for failure messages, and resolves once `ready` says so. */
async function spawnUntil(cmd: string, args: string[], env: NodeJS.ProcessEnv, ready: () => Promise<boolean>, what: string): Promise<Proc> {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + String(d)).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const proc = { child, output: () => out };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${out}`);
    if (await ready().catch(() => false)) return proc;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} not ready within 20 s:\n${out}`);
    }
    await sleep(100);
  }
}

async function stop(p: Proc | undefined): Promise<void> {
  if (p === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    p.child.once('exit', () => resolve());
    p.child.kill('SIGTERM');
  });
}

/** An instant query; the result vector (or a scalar as one sample). Throws on a PromQL error. */
async function query(prom: string, expr: string): Promise<{ metric: Record<string, string>; value: number }[]> {
  const res = await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body: any = await res.json();
  if (body.status !== 'success') throw new Error(`query failed: ${expr}\n${JSON.stringify(body)}`);
  const { resultType, result } = body.data;
  if (resultType === 'scalar') return [{ metric: {}, value: Number(result[1]) }];
  if (resultType !== 'vector') throw new Error(`unexpected ${resultType} for ${expr}`);
  return result.map((r: any) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** `sum by (labels)` of an expression as a plain object: "a|b" → value. */
async function byLabels(prom: string, expr: string, labels: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await query(prom, `sum by (${labels.join(', ')}) (${expr})`)) out[labels.map((l) => s.metric[l] ?? '').join('|')] = s.value;
  return out;
}

/** Waits until Prometheus has scraped every app after `t` (ms since epoch), so what it holds includes all traffic before t. */
async function scrapedAfter(prom: string, t: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    // timestamp() of a plain selector is the scrape time (of anything else, the evaluation time).
    const ups = await query(prom, 'timestamp(up)').catch(() => []);
    if (ups.length === APPS.length && ups.every((u) => u.value * 1000 > t)) {
      const down = await query(prom, 'up == 0');
      if (down.length > 0) throw new Error(`scrape failing: ${JSON.stringify(down)}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`no scrape of every app after ${new Date(t).toISOString()}: ${JSON.stringify(ups)}`);
    await sleep(200);
  }
}

/** What the test sent and saw, per app. */
class Sent {
  /** "route|status" → responses seen (the route the app serves the path by). */
  readonly byRouteStatus: Record<string, number> = {};
  /** X-Cache header values seen on GET /users, lower-cased. */
  readonly cache: Record<string, number> = {};
  constructor(readonly base: string) {}

  async request(route: string, path: string, method = 'GET'): Promise<number> {
    const res = await fetch(`${this.base}${path}`, { method });
    await res.arrayBuffer();
    const k = `${route}|${res.status}`;
    this.byRouteStatus[k] = (this.byRouteStatus[k] ?? 0) + 1;
    const x = res.headers.get('x-cache');
    if (x !== null) this.cache[x.toLowerCase()] = (this.cache[x.toLowerCase()] ?? 0) + 1;
    return res.status;
  }

  count(route: string, status?: number): number {
    let n = 0;
    for (const [k, v] of Object.entries(this.byRouteStatus)) if (k.startsWith(`${route}|`) && (status === undefined || k === `${route}|${status}`)) n += v;
    return n;
  }

  get total(): number {
    return Object.values(this.byRouteStatus).reduce((a, b) => a + b, 0);
  }
}

/**
 * One round of traffic on every route. The first round creates every series; the second moves
 * every counter, so the dashboard's rate() queries have an increase to show.
 */
async function round(s: Sent, ids: number[], logins: number): Promise<void> {
  for (const id of ids) await s.request('/users/:id', `/users/${id}`);
  await s.request('/users/:id', '/users/9999'); // 404, still the route
  await s.request('/health', '/health'); // exempt: never limited, shed or cached, but measured
  // Sequential first, so the route is known at request start and the 503s carry it too.
  for (let i = 0; i < 2; i++) await s.request('/slow', '/slow');
  await Promise.all(Array.from({ length: BURST }, () => s.request('/slow', '/slow')));
  for (let i = 0; i < 3; i++) await s.request('/users', '/users');
  for (let i = 0; i < logins; i++) await s.request('/login', '/login', 'POST');
}

describe('Prometheus scraping the examples (OTEL_METRICS_EXPORTER=prometheus)', () => {
  const apps = new Map<AppName, { proc: Proc; sent: Sent }>();
  let prometheus: Proc | undefined;
  let prom = '';
  let tsdb = '';

  before(async () => {
    if (spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status !== 0) {
      throw new Error('prometheus is not on PATH: install it (apt-get install -y prometheus; `npm test` does so when run as root)');
    }
    const targets: Record<AppName, number> = {} as Record<AppName, number>;
    for (const name of APPS) {
      const port = await freePort();
      const metricsPort = await freePort();
      targets[name] = metricsPort;
      const env = {
        ...process.env,
        PORT: String(port),
        SHED_CONCURRENCY: String(SHED_CONCURRENCY),
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
        OTEL_EXPORTER_OTLP_ENDPOINT: '',
        OTEL_CONSOLE: '',
        OTEL_SERVICE_NAME: job(name),
      };
      const base = `http://127.0.0.1:${port}`;
      // Monitoring endpoints are not app traffic: probing them leaves the counts to the test's requests.
      const ok = async () => (await fetch(`${base}/api/v1/metrics`)).ok && (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).ok;
      const proc = await spawnUntil(process.execPath, [join(root, 'examples', name, 'dist', 'server.js')], env, ok, `examples/${name}`);
      apps.set(name, { proc, sent: new Sent(base) });
    }

    tsdb = mkdtempSync(join(tmpdir(), 'autom8-prometheus-'));
    const config = join(tsdb, 'prometheus.yml');
    const jobs = APPS.map((n) => `  - job_name: ${job(n)}\n    static_configs:\n      - targets: ['127.0.0.1:${targets[n]}']\n`).join('');
    writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${jobs}`);
    const promPort = await freePort();
    prom = `http://127.0.0.1:${promPort}`;
    prometheus = await spawnUntil(
      'prometheus',
      [`--config.file=${config}`, `--storage.tsdb.path=${join(tsdb, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      process.env,
      async () => (await fetch(`${prom}/-/ready`)).ok,
      'prometheus',
    );

    // Round 1: 5 logins allowed, 1 refused; round 2: 2 more refused.
    await Promise.all([...apps.values()].map(({ sent }) => round(sent, [1, 2, 3, 4, 5], 6)));
    await scrapedAfter(prom, Date.now());
    await Promise.all([...apps.values()].map(({ sent }) => round(sent, [6, 7, 8, 9, 10], 2)));
    await scrapedAfter(prom, Date.now());
  });

  after(async () => {
    await stop(prometheus);
    for (const { proc } of apps.values()) await stop(proc);
    if (tsdb) rmSync(tsdb, { recursive: true, force: true });
  });

  for (const name of APPS) {
    const sel = `job="${job(name)}"`;

    test(`${name}: requests per route and status equal what was sent`, async () => {
      const { sent } = apps.get(name)!;
      const seen = await byLabels(prom, `http_server_request_duration_count{${sel}}`, ['http_route', 'http_response_status_code']);
      assert.deepEqual(seen, sent.byRouteStatus);
      assert.equal(sent.count('/login', 429), 3, 'the login limit refused the 6th, 7th and 8th login');
      assert.ok(sent.count('/slow', 503) > 0, `a burst of ${BURST} over a limit of ${SHED_CONCURRENCY} is shed`);
    });

    test(`${name}: the duration series carry the protocol version and no per-request attribute`, async () => {
      const series = await query(prom, `http_server_request_duration_count{${sel}}`);
      assert.ok(series.length > 0);
      const perRequest = [
        'url_path',
        'url_query',
        'client_address',
        'network_peer_address',
        'network_peer_port',
        'user_agent_original',
        'server_address',
        'server_port',
      ];
      for (const { metric } of series) {
        assert.equal(metric.network_protocol_version, '1.1', JSON.stringify(metric));
        assert.equal(metric.url_scheme, 'http', JSON.stringify(metric));
        assert.deepEqual(
          perRequest.filter((l) => l in metric),
          [],
          JSON.stringify(metric),
        );
      }
    });

    test(`${name}: the histogram puts GET /slow (100-300 ms) where it belongs`, async () => {
      const slow = `{${sel}, http_route="/slow", http_response_status_code="200"}`;
      const [p50] = await query(prom, `histogram_quantile(0.5, sum by (le) (http_server_request_duration_bucket${slow}))`);
      assert.ok(p50 && p50.value >= 0.1 && p50.value <= 0.5, `p50 of /slow from the buckets: ${p50?.value} s`);
      const [mean] = await query(prom, `sum(http_server_request_duration_sum${slow}) / sum(http_server_request_duration_count${slow})`);
      assert.ok(mean && mean.value >= 0.1, `mean of /slow: ${mean?.value} s`);
      const [fast] = await query(prom, `sum(http_server_request_duration_bucket{${sel}, http_route="/slow", http_response_status_code="200", le="0.05"})`);
      assert.equal(fast?.value, 0, 'no /slow response within 50 ms');
      const [inf] = await query(prom, `sum(http_server_request_duration_bucket{${sel}, http_route="/slow", le="+Inf"})`);
      assert.equal(inf?.value, apps.get(name)!.sent.count('/slow'));
    });

    test(`${name}: rate-limit decisions equal the 204s and 429s seen`, async () => {
      const { sent } = apps.get(name)!;
      const login = await byLabels(prom, `autom8_ratelimit_decisions_total{${sel}, autom8_ratelimit_limiter="login"}`, [
        'http_route',
        'autom8_ratelimit_outcome',
      ]);
      assert.deepEqual(login, { '/login|allowed': sent.count('/login', 204), '/login|limited': sent.count('/login', 429) });
      // The default limit sees every request that is neither exempt (/health), shed first, nor refused by the login limit.
      const [def] = await query(prom, `sum(autom8_ratelimit_decisions_total{${sel}, autom8_ratelimit_limiter="default", autom8_ratelimit_outcome="allowed"})`);
      assert.equal(def?.value, sent.total - sent.count('/health') - sent.count('/slow', 503) - sent.count('/login', 429));
    });

    test(`${name}: shed requests equal the 503s seen`, async () => {
      const { sent } = apps.get(name)!;
      const shed = await byLabels(prom, `autom8_shed_requests_total{${sel}}`, ['autom8_shed_reason']);
      assert.deepEqual(shed, { concurrency: sent.count('/slow', 503) });
      assert.ok(sent.count('/slow', 503) > 0, 'the scenario sheds some /slow requests');
      // Per route, as docs/load-shedding.md says: the duration histogram's 503s by http_route.
      const byRoute = await byLabels(prom, `http_server_request_duration_count{${sel}, http_response_status_code="503"}`, ['http_route']);
      assert.deepEqual(byRoute, { '/slow': sent.count('/slow', 503) });
      const [limit] = await query(prom, `autom8_shed_concurrency_limit{${sel}, autom8_shed_route="GET /slow"}`);
      assert.equal(limit?.value, SHED_CONCURRENCY);
    });

    test(`${name}: cache outcomes equal the X-Cache headers seen`, async () => {
      const { sent } = apps.get(name)!;
      assert.deepEqual(sent.cache, { miss: 1, hit: 5 }, 'one miss, then hits within the 30 s TTL');
      assert.deepEqual(await byLabels(prom, `autom8_cache_requests_total{${sel}, http_route="/users"}`, ['autom8_cache_outcome']), sent.cache);
      // The same outcome on the duration histogram, so latency can be split by hit and miss.
      assert.deepEqual(await byLabels(prom, `http_server_request_duration_count{${sel}, http_route="/users"}`, ['autom8_cache_outcome']), sent.cache);
    });

    test(`${name}: Node runtime metrics come along (event-loop delay)`, async () => {
      const [p99] = await query(prom, `nodejs_eventloop_delay_p99{${sel}}`);
      assert.ok(p99 && p99.value > 0, `event-loop delay p99: ${p99?.value} s`);
    });
  }

  test('every query of examples/grafana/autom8-dashboard.json returns data', async () => {
    const dashboard = JSON.parse(readFileSync(join(root, 'examples', 'grafana', 'autom8-dashboard.json'), 'utf8'));
    const exprs: { panel: string; expr: string }[] = [];
    for (const p of dashboard.panels) for (const t of p.targets ?? []) exprs.push({ panel: p.title, expr: t.expr });
    assert.ok(exprs.length >= 20, `found ${exprs.length} queries`);
    // Grafana's variables, as Grafana would fill them in for this test's Prometheus.
    const fill = (e: string) => e.replaceAll('$__rate_interval', '1m').replaceAll('$job', APPS.map(job).join('|')).replaceAll('$route', '.*');
    for (const { panel, expr } of exprs) {
      const filled = fill(expr);
      assert.ok(!filled.includes('$'), `${panel}: a variable this test does not fill: ${filled}`);
      const result = await query(prom, filled);
      assert.ok(result.length > 0, `${panel}: no data for ${filled}`);
      assert.ok(
        result.some((r) => Number.isFinite(r.value)),
        `${panel}: only NaN/Inf for ${filled}: ${JSON.stringify(result)}`,
      );
    }
    // The variables' own queries too.
    for (const v of dashboard.templating.list.filter((x: any) => x.type === 'query')) {
      const m = /^label_values\((.*), (\w+)\)$/.exec(v.definition);
      assert.ok(m, `variable ${v.name}: ${v.definition}`);
      const series = await query(prom, `count by (${m[2]}) (${fill(m[1]!)})`);
      assert.ok(series.length > 0, `variable ${v.name}: no values`);
    }
  });
});

test('the dashboard is importable: a Prometheus datasource variable on every panel, unique ids, schemaVersion 39', () => {
  const d = JSON.parse(readFileSync(join(root, 'examples', 'grafana', 'autom8-dashboard.json'), 'utf8'));
  assert.equal(d.schemaVersion, 39);
  assert.ok(d.uid && d.title);
  const ds = d.templating.list.find((v: any) => v.type === 'datasource');
  assert.equal(ds?.query, 'prometheus');
  const ids = d.panels.map((p: any) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const p of d.panels) {
    assert.deepEqual(p.datasource, { type: 'prometheus', uid: `\${${ds.name}}` }, p.title);
    assert.ok(p.gridPos.w > 0 && p.gridPos.h > 0 && p.gridPos.x + p.gridPos.w <= 24, p.title);
    for (const t of p.targets) assert.deepEqual(t.datasource, p.datasource, p.title);
  }
});
