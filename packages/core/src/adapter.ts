/**
 * `@autom8/core/adapter`: the contract between autom8's core and a framework adapter, for
 * `@autom8/express`, `@autom8/koa` and anyone writing one for another framework. Users of an
 * adapter never need it. See docs/adapters.md.
 *
 * An adapter builds an {@link Autom8} engine from the user's options and, per request:
 * 1. `engine.begin(req, res, url)` with node's request and response (or objects with their shape,
 *    {@link RequestView} / {@link ResponseView}) and the target as the client sent it → an
 *    {@link Exchange}, the request's state;
 * 2. `engine.admit(ex)` → a {@link Reply} to send instead of calling the app, or undefined to go
 *    on (a Promise only when a store does I/O: test with {@link isPromise});
 * 3. `engine.run(ex, next)` runs the rest of the chain inside the request's OTel context;
 * 4. `ex.setRoute(template)` when the router matched (full template, mount prefixes included),
 *    or `ex.lateRoute`, asked once when the response ended.
 * Core sees the end of the response itself (its 'close' event). The adapter returns its middleware
 * with {@link attachControls}, which puts the user's runtime controls on it. Anything autom8 throws
 * goes to `engine.reportFailure(where, err)`, and the request is served without autom8.
 *
 * @packageDocumentation
 */

// The engine and what it returns to adapters
export { Autom8, createEngine } from './pipeline/autom8.js';
export { attachControls, controlsOf, engineOf } from './pipeline/controls.js';
export { Exchange, ExchangeSlot } from './pipeline/exchange.js';
export type { Reply, RequestView, ResponseView } from './pipeline/request-view.js';
export type { RouteMatching } from './routing/request-target.js';
export type { NormalizedMethod } from './routing/http-method.js';
export { isPromise } from './store/contracts.js';
export { announceRoute } from './telemetry/http-telemetry.js';

// Writing features: the pipeline contract
export { Stage } from './pipeline/feature.js';
export type { Feature } from './pipeline/feature.js';
export type { FeatureHost } from './pipeline/feature-host.js';
export type { MonitoringHandler, MonitoringEndpointOptions } from './monitoring/monitoring-routes.js';
