/**
 * The live dashboard at `{prefix}/metrics/dashboard`: a page drawing the monitoring JSON and the
 * recent past (`{prefix}/metrics/history`) with uPlot, served by the package. Off unless the
 * `dashboard` option is given.
 * @module
 */
export { createDashboard, DASHBOARD_PATH } from './dashboard.js';
export type { DashboardOptions } from './dashboard.js';
export type { HistoryReply } from './history-endpoint.js';
export type { LatencyHistory } from './dashboard-history.js';
