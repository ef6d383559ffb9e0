import type { IncomingHttpHeaders } from 'node:http';

/**
 * What core needs to see of an incoming request. Node's `IncomingMessage` (Express's `req`, Koa's
 * `ctx.req`) already has this shape, so adapters pass it as is and nothing is copied per request.
 */
export interface RequestView {
  method?: string | undefined;
  headers: IncomingHttpHeaders;
  /** `'1.1'`, `'1.0'`, `'2.0'` (node's `IncomingMessage.httpVersion`). */
  httpVersion?: string | undefined;
  socket?: { remoteAddress?: string | undefined; remotePort?: number | undefined; localPort?: number | undefined; encrypted?: boolean } | null | undefined;
}

/**
 * What core needs of the response: node's `ServerResponse` has this shape. Core reads the final
 * status, whether the app ended it, and its headers, and learns it is over from its 'close' event.
 */
export interface ResponseView {
  statusCode: number;
  readonly headersSent: boolean;
  /** True once the app called `end()` (node's field behind `writableEnded`). */
  readonly finished: boolean;
  getHeader(name: string): number | string | string[] | undefined;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/** A response produced by core (monitoring JSON, 429, 503, a cache hit) for the adapter to send. */
export interface Reply {
  status: number;
  /** Header name (lower case) → value. */
  headers: Record<string, string | number | readonly string[]>;
  /** The body; empty for HEAD and 304. */
  body: string | Buffer;
}
