/**
 * The live dashboard at `{prefix}/metrics/dashboard`: a self-contained page polling the
 * monitoring JSON. Off unless the `dashboard` option is given.
 * @module
 */
export { createDashboard, DASHBOARD_PATH } from './dashboard.js';
export type { DashboardOptions } from './dashboard.js';
