// The engine-level request of the shed tests: an exchange begun on a response stub, decided by the
// engine's admit, and ended as node ends it (the app's end() sets `finished`, and 'close' follows).
// No server: the tests drive a ManualClock and the load signal themselves.
import { EventEmitter } from 'node:events';
import type { Autom8, ResponseView } from '../src/adapter';

/** A logger that drops everything. */
export const silent = { info() {}, warn() {}, error() {} };

/** Resolves after the current poll phase's batch: the engine's end-of-batch `setImmediate` has run. */
export const nextBatch = () => new Promise((r) => setImmediate(r));

/** A request read and decided: its exchange, the decision, and the function that ends its response. */
export function begin(engine: Autom8, path: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = Object.assign(new EventEmitter(), {
    statusCode: 200,
    headersSent: false,
    finished: false,
    getHeader: () => undefined,
    setHeader: () => undefined,
  }) as unknown as ResponseView & EventEmitter;
  const ex = engine.begin({ method, headers, socket: { remoteAddress: '127.0.0.1' } }, res, path);
  const decision = engine.admit(ex);
  const end = () => {
    (res as { finished: boolean }).finished = true;
    return res.emit('close');
  };
  return { ex, decision, end };
}
