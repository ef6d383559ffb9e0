import type { FeatureHost } from '../pipeline/feature-host.js';
import type { Reply } from '../pipeline/request-view.js';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { renderDashboard } from './page.js';

/** The `dashboard` option: `true`, or settings. Off unless given. */
export interface DashboardOptions {
  /** Default true when the section is given. */
  enabled?: boolean;
  /** How often the page polls the JSON endpoints, ms (a `?poll=` query overrides). Default 2000. */
  pollMs?: number;
  /** Page title. Default `'autom8 dashboard'`. */
  title?: string;
}

/** Path of the dashboard under the monitoring prefix. */
export const DASHBOARD_PATH = '/metrics/dashboard';

/**
 * Serves the live dashboard at `{prefix}/metrics/dashboard`: one self-contained page (inline
 * script and style, allowed by hash in its CSP; no CDN) built once here and served as is. As a
 * monitoring endpoint it is exempt from limiting, shedding and caching. Returns no feature: there
 * is nothing to do per request.
 */
export function createDashboard(section: unknown, engine: FeatureHost): undefined {
  if (section === undefined || section === false) return undefined;
  const o = section === true ? {} : v.optionalObject('dashboard', section)!;
  v.knownKeys('dashboard', o, ['enabled', 'pollMs', 'title']);
  if (!v.boolean('dashboard.enabled', o.enabled, true)) return undefined;
  const pollMs = v.positiveInteger('dashboard.pollMs', o.pollMs, 2000);
  const title = v.string('dashboard.title', o.title, 'autom8 dashboard');
  if (engine.monitoringPrefix === undefined) {
    throw new InvalidOptionError('dashboard', 'off while monitoring.enabled is false (the page reads the monitoring endpoints)', section);
  }
  // Built on first request, when every feature has registered its endpoints (is /metrics/slo there?).
  let reply: Reply | undefined;
  const build = (): Reply => {
    const prefix = engine.monitoringPrefix!;
    const { html, csp } = renderDashboard({ prefix, pollMs, title, slo: engine.servesMonitoring(`${prefix}/metrics/slo`) });
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
  return undefined;
}
