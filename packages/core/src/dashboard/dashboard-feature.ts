import type { FeatureHost } from '../pipeline/feature-host.js';
import type { Feature } from '../pipeline/feature.js';
import type { Reply } from '../pipeline/request-view.js';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { chartAssets, UPLOT_CSS_PATH, UPLOT_JS_PATH } from './chart-assets.js';
import { DashboardHistory } from './dashboard-history.js';
import { HISTORY_PATH, historyEndpoint } from './history-endpoint.js';
import { renderDashboard } from './page.js';

/** The `dashboard` option: `true`, or settings. Off unless given. */
export interface DashboardOptions {
  /** Default true when the section is given. */
  enabled?: boolean;
  /** How often the page polls the JSON endpoints, ms (a `?poll=` query overrides). Default 2000. */
  pollMs?: number;
  /** Page title. Default `'autom8 dashboard'`. */
  title?: string;
  /**
   * Link to your trace backend for exemplar trace ids: an http(s) URL template where `{traceId}`
   * stands for the trace id, e.g. `'https://jaeger.example/trace/{traceId}'`. Default: no links.
   */
  traceUrl?: string;
  /**
   * Points of history kept for the page, one per collection interval (the shortest
   * `metrics.windows` interval, 10 s by default). Default 360 (the last hour at 10 s), at most 8640.
   */
  historyPoints?: number;
}

/** Path of the dashboard under the monitoring prefix. */
export const DASHBOARD_PATH = '/metrics/dashboard';

const TRACE_ID_PLACEHOLDER = '{traceId}';

/**
 * Serves the live dashboard at `{prefix}/metrics/dashboard`: a page (inline script and style,
 * allowed by hash in its CSP), the uPlot chart library it draws with (served from this package,
 * no CDN), and `{prefix}/metrics/history`, the recent past it shows on load. Every one of them is a
 * monitoring endpoint: behind `monitoring.authorize` and the endpoints' token bucket, exempt from
 * limiting, shedding and caching. The feature only keeps the history and stops its timer on close.
 */
export function createDashboard(section: unknown, engine: FeatureHost): Feature | undefined {
  if (section === undefined || section === false) return undefined;
  const o = section === true ? {} : v.optionalObject('dashboard', section)!;
  v.knownKeys('dashboard', o, ['enabled', 'pollMs', 'title', 'traceUrl', 'historyPoints']);
  if (!v.boolean('dashboard.enabled', o.enabled, true)) return undefined;
  const pollMs = v.positiveInteger('dashboard.pollMs', o.pollMs, 2000);
  const title = v.string('dashboard.title', o.title, 'autom8 dashboard');
  const traceUrl = validTraceUrl(o.traceUrl);
  const historyPoints = v.positiveInteger('dashboard.historyPoints', o.historyPoints, 360);
  if (historyPoints > 8640) throw new InvalidOptionError('dashboard.historyPoints', 'an integer from 1 to 8640', historyPoints);
  if (engine.monitoringPrefix === undefined) {
    throw new InvalidOptionError('dashboard', 'off while monitoring.enabled is false (the page reads the monitoring endpoints)', section);
  }
  const { js, css } = chartAssets();
  const history = new DashboardHistory(engine, historyPoints);
  // Built on first request, when every feature has registered its endpoints (is /metrics/slo there?).
  let reply: Reply | undefined;
  const build = (): Reply => {
    const prefix = engine.monitoringPrefix!;
    const { html, csp } = renderDashboard({
      prefix,
      pollMs,
      title,
      slo: engine.servesMonitoring(`${prefix}/metrics/slo`),
      traceUrl: traceUrl ?? null,
      intervalMs: history.intervalMs,
      uplotJs: `${prefix}${UPLOT_JS_PATH}?v=${js.version}`,
      uplotCss: `${prefix}${UPLOT_CSS_PATH}?v=${css.version}`,
    });
    const body = Buffer.from(html, 'utf8');
    const headers = Object.freeze({
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
      'cache-control': 'no-store',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    return { status: 200, headers, body };
  };
  engine.addMonitoringEndpoint(DASHBOARD_PATH, () => (reply ??= build()));
  engine.addMonitoringEndpoint(UPLOT_JS_PATH, () => js.reply);
  engine.addMonitoringEndpoint(UPLOT_CSS_PATH, () => css.reply);
  engine.addMonitoringEndpoint(HISTORY_PATH, historyEndpoint(engine, history), { cache: true });
  return { name: 'dashboard', stage: 0, close: () => history.close() };
}

function validTraceUrl(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  const expected = `an http(s) URL template containing ${TRACE_ID_PLACEHOLDER}, e.g. 'https://jaeger.example/trace/${TRACE_ID_PLACEHOLDER}'`;
  if (typeof input !== 'string' || !input.includes(TRACE_ID_PLACEHOLDER)) throw new InvalidOptionError('dashboard.traceUrl', expected, input);
  let url: URL;
  try {
    url = new URL(input.replaceAll(TRACE_ID_PLACEHOLDER, '0af7651916cd43dd8448eb211c80319c'));
  } catch {
    throw new InvalidOptionError('dashboard.traceUrl', expected, input);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOptionError('dashboard.traceUrl', expected, input);
  return input;
}
