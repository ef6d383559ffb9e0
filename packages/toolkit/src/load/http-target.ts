import http from 'node:http';
import https from 'node:https';
import { parseTargetUrl, UsageError } from './parse.js';

/** How one request ended: an HTTP status, or a transport error kind (`ECONNREFUSED`, `timeout`…). */
export type Outcome = (status: number, error: string | undefined) => void;

/** Options of {@link HttpTarget}. */
export interface HttpTargetOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Idle time after which a request counts as a `timeout` error, ms. Default 10 000. */
  timeoutMs?: number;
  /**
   * Most sockets open at once (keep-alive). Requests beyond wait in the client for a free socket,
   * and that wait counts in their latency (as in any real client pool). Default 128: a burst of
   * due requests after a client stall would otherwise open a socket each, which costs both sides
   * more than the requests.
   */
  connections?: number;
  /** Values for the `:name` placeholders of the URL, used round-robin. */
  ids?: readonly string[];
}

/**
 * The URL under test, with its placeholders (`/users/:id`) filled from discovered IDs. Paths are
 * built once, up front, so sending costs one `http.request` and nothing else.
 */
export class HttpTarget {
  readonly url: URL;
  /** True when the URL has `:name` placeholders. */
  readonly templated: boolean;
  private readonly paths: string[];
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly opts: Required<Omit<HttpTargetOptions, 'ids' | 'body'>> & { body: string | undefined };

  constructor(template: string, o: HttpTargetOptions = {}) {
    const url = parseTargetUrl(template);
    this.url = url;
    this.mod = url.protocol === 'https:' ? https : http;
    const pathTemplate = decodeURI(url.pathname) + url.search;
    const placeholders = pathTemplate.match(/:[A-Za-z_]\w*/g) ?? [];
    if (placeholders.length > 0 && (o.ids === undefined || o.ids.length === 0)) {
      throw new UsageError(`the URL has ${placeholders[0]} but no IDs: give --ids-from <list endpoint> (or --ids a,b,c)`);
    }
    this.templated = placeholders.length > 0;
    const ids = this.templated ? o.ids! : [''];
    this.paths = ids.map((id) => pathTemplate.replace(/:[A-Za-z_]\w*/g, encodeURIComponent(id)));
    this.opts = {
      method: (o.method ?? 'GET').toUpperCase(),
      headers: o.headers ?? {},
      body: o.body,
      timeoutMs: o.timeoutMs ?? 10_000,
      connections: o.connections ?? 128,
    };
    this.agent = new this.mod.Agent({ keepAlive: true, maxSockets: this.opts.connections });
  }

  /** Most sockets open at once. */
  get connections(): number {
    return this.opts.connections;
  }

  /** Number of distinct paths (IDs) requests rotate through. */
  get pathCount(): number {
    return this.paths.length;
  }

  /** The `n`-th request's path. */
  pathOf(n: number): string {
    return this.paths[n % this.paths.length]!;
  }

  /** Sends request number `n`; `done` is called exactly once, when the body has been read or it failed. */
  send(n: number, done: Outcome): void {
    let finished = false;
    const finish = (status: number, error: string | undefined) => {
      if (finished) return;
      finished = true;
      done(status, error);
    };
    const { method, headers, body, timeoutMs } = this.opts;
    const req = this.mod.request(
      {
        agent: this.agent,
        protocol: this.url.protocol,
        hostname: this.url.hostname,
        port: this.url.port,
        method,
        path: this.pathOf(n),
        headers,
        timeout: timeoutMs,
      },
      (res) => {
        res.on('end', () => finish(res.statusCode ?? 0, undefined));
        res.on('error', (err) => finish(0, errorKind(err)));
        res.on('aborted', () => finish(0, 'ECONNRESET'));
        res.resume();
      },
    );
    req.on('timeout', () => {
      finish(0, 'timeout');
      req.destroy();
    });
    req.on('error', (err) => finish(0, errorKind(err)));
    req.end(body);
  }

  /** Closes the sockets. */
  close(): void {
    this.agent.destroy();
  }
}

function errorKind(err: unknown): string {
  const code = (err as { code?: string }).code;
  return typeof code === 'string' ? code : 'error';
}
