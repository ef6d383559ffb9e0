import type { IncomingMessage, ServerResponse } from 'node:http';
import { Exchange } from '../pipeline/exchange.js';
import type { Reply } from '../pipeline/request-view.js';
import { normalizeMethod } from '../routing/http-method.js';
import type { RouteMatching } from '../routing/request-target.js';
import type { Clock } from '../util/clock.js';
import type { MonitoringRoutes } from './monitoring-routes.js';

/**
 * A node request handler serving only the monitoring endpoints, for a listener of their own (the
 * Prometheus / actuator pattern): `http.createServer(mw.monitoringHandler()).listen(9464)`.
 * Pair it with `monitoring.serveOnApp: false` so the app's port stops answering them. The same
 * `authorize`, token bucket and cache apply; anything else is a 404. These requests are not app
 * traffic: they are not counted in the metrics nor seen by the features.
 */
export function monitoringListener(
  monitoring: MonitoringRoutes,
  clock: Clock,
  routing: () => RouteMatching,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const ex = new Exchange(req, res, req.url ?? '/', normalizeMethod(req.method), clock.now(), routing());
    ex.monitoring = true;
    ex.exempt = true;
    if (monitoring.resolve(ex) === undefined) {
      send(res, { status: 404, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': 21 }, body: '{"error":"not found"}' });
      return;
    }
    const reply = monitoring.handle(ex);
    if (reply instanceof Promise)
      reply.then(
        (r) => send(res, r),
        () => send(res, { status: 500, headers: {}, body: '' }),
      );
    else send(res, reply);
  };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(reply.status, reply.headers as Record<string, string | number | string[]>);
  res.end(reply.body);
}
