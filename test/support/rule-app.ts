// A small app for attack tests, on every adapter: POST /login, GET /users/:id, GET /health,
// GET /private/:id, GET /open, each counting the requests that reach it per client (X-Client), so a
// test can tell which spellings of a request the router sent to a handler. And a raw-socket client
// that sends a request exactly as written.
import http, { type Server } from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import type { Autom8Options } from '@autom8/core';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { freshMonitoring } from './apps';
import { close, listen } from './http';

const require = createRequire(__filename);
const quiet = { info() {}, warn() {}, error() {} };
export const FRAMEWORKS = ['express5', 'express4', 'express5-front', 'express4-front', 'koa3', 'koa2'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
export interface Mode {
  name: string;
  caseSensitive: boolean;
  strict: boolean;
}
export const MODES: Mode[] = [
  { name: 'router defaults', caseSensitive: false, strict: false },
  { name: 'case-sensitive routing', caseSensitive: true, strict: false },
  { name: 'strict routing', caseSensitive: false, strict: true },
];

/** Handler hits per `route|client`. */
export type Hits = Map<string, number>;

export interface Running {
  port: number;
  hits: Hits;
  server: Server;
  close(): Promise<void>;
}

/**
 * POST /login and GET /users/:id (limited to LIMIT per client), GET /health (exempt), GET
 * /private/:id (never cached), GET /open (global limit only). The router gets the mode's settings
 * the framework's own way; Koa's autom8 is told through its `routing` option.
 */
export async function start(fw: Framework, mode: Mode, options: Autom8Options): Promise<Running> {
  const hits: Hits = new Map();
  const hit = (route: string, client: string | string[] | undefined) => {
    const k = `${route}|${String(client)}`;
    const n = (hits.get(k) ?? 0) + 1;
    hits.set(k, n);
    return n;
  };
  // The monitoring endpoints' own token bucket and answer cache off: these tests send bursts to them.
  const opts: Autom8Options = freshMonitoring({ logger: quiet, telemetry: { enabled: false }, ...options });
  let server: Server;
  let stop: () => Promise<void>;
  if (fw.startsWith('express')) {
    const express = require(fw.startsWith('express5') ? 'express' : 'express4');
    const app = express();
    // Before the first app.use: Express reads both settings when it creates the router.
    app.set('case sensitive routing', mode.caseSensitive);
    app.set('strict routing', mode.strict);
    const mw = autom8Express(opts);
    app.use(mw);
    app.post('/login', (req: any, res: any) => res.json({ n: hit('login', req.headers['x-client']) }));
    app.get('/users/:id', (req: any, res: any) => res.json({ n: hit('users', req.headers['x-client']) }));
    app.get('/health', (req: any, res: any) => res.json({ n: hit('health', req.headers['x-client']) }));
    app.get('/private/:id', (req: any, res: any) => res.json({ n: hit('private', req.headers['x-client']) }));
    app.get('/open', (req: any, res: any) => res.json({ n: hit('open', req.headers['x-client']) }));
    server = http.createServer(fw.endsWith('-front') ? mw.front(app) : app);
    stop = () => mw.close();
  } else {
    const Koa = require(fw === 'koa3' ? 'koa' : 'koa2');
    const Router = require('@koa/router');
    const app = new Koa();
    const mw = autom8Koa({ ...opts, routing: { caseSensitive: mode.caseSensitive, strict: mode.strict } });
    app.use(mw);
    const router = new Router({ sensitive: mode.caseSensitive, strict: mode.strict });
    router.post('/login', (ctx: any) => (ctx.body = { n: hit('login', ctx.get('x-client')) }));
    router.get('/users/:id', (ctx: any) => (ctx.body = { n: hit('users', ctx.get('x-client')) }));
    router.get('/health', (ctx: any) => (ctx.body = { n: hit('health', ctx.get('x-client')) }));
    router.get('/private/:id', (ctx: any) => (ctx.body = { n: hit('private', ctx.get('x-client')) }));
    router.get('/open', (ctx: any) => (ctx.body = { n: hit('open', ctx.get('x-client')) }));
    app.use(router.routes());
    server = http.createServer(app.callback());
    stop = () => mw.close();
  }
  const port = Number(new URL(await listen(server)).port);
  return {
    port,
    hits,
    server,
    async close() {
      await close(server);
      await stop();
    },
  };
}

/** Sends one request over a fresh socket, exactly as written; resolves with its status and body. */
export function raw(port: number, method: string, target: string, client: string): Promise<{ status: number; body: string; headers: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response to ${method} ${target} within 5 s`));
    }, 5000);
    socket.setEncoding('latin1');
    socket.on('connect', () => {
      const body = method === 'POST' ? '{}' : '';
      socket.write(
        `${method} ${target} HTTP/1.1\r\nHost: app.test\r\nX-Client: ${client}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    });
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m === null) return reject(new Error(`no status line for ${method} ${target}: ${JSON.stringify(data.slice(0, 80))}`));
      const split = data.indexOf('\r\n\r\n');
      resolve({ status: Number(m[1]), headers: data.slice(0, split), body: data.slice(split + 4) });
    });
  });
}

/**
 * Writes `payload` (one or more requests, possibly malformed) on one connection and collects every
 * status line the server answers until it closes the connection. A server that neither answers nor
 * closes within `waitMs` fails the call: a hung connection is a defect, not an answer.
 */
export function rawExchange(port: number, payload: string, waitMs = 5000): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server neither answered nor closed within ${waitMs} ms: ${JSON.stringify(payload.slice(0, 60))}`));
    }, waitMs);
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', () => undefined); // a reset after the server's answer is still its answer
    socket.on('close', () => {
      clearTimeout(timer);
      resolve([...data.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1])));
    });
  });
}
