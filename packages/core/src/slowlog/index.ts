/**
 * Slow-request log: requests over a threshold (global or per route) as structured lines through
 * a pino-compatible logger, sampled and capped per minute; plus the `request.slow` event.
 * @module
 */
export { SlowLogFeature, createSlowLogFeature } from './slow-log.js';
export type { SlowLogOptions, SlowRequestLine } from './slow-log.js';
