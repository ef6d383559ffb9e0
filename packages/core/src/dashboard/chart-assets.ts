import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Reply } from '../pipeline/request-view.js';

/** Paths of the chart library's files under the monitoring prefix. */
export const UPLOT_JS_PATH = '/metrics/dashboard/uplot.js';
export const UPLOT_CSS_PATH = '/metrics/dashboard/uplot.css';

/** A static file served by the monitoring routes, and the version its URL carries. */
export interface Asset {
  reply: Reply;
  /** First hex digits of its SHA-256: the page asks for `?v=<version>`, so it may be cached for good. */
  version: string;
}

let assets: { js: Asset; css: Asset } | undefined;

/**
 * uPlot's browser build and style sheet, read once from the `uplot` dependency and served by the
 * monitoring routes (the page makes no request outside its origin). Behind `monitoring.authorize`
 * like every endpoint, hence `private` caching.
 */
export function chartAssets(): { js: Asset; css: Asset } {
  return (assets ??= {
    js: asset(require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'),
    css: asset(require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'),
  });
}

function asset(file: string, type: string): Asset {
  const body = readFileSync(file);
  const headers = Object.freeze({
    'content-type': type,
    'content-length': body.length,
    'cache-control': 'private, max-age=31536000, immutable',
    'x-content-type-options': 'nosniff',
  });
  return { reply: Object.freeze({ status: 200, headers, body }), version: createHash('sha256').update(body).digest('hex').slice(0, 12) };
}
