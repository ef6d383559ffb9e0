// A real node request/response pair for driving the core pipeline without sockets. `parts`: which
// inputs of the SDK span's recommended attributes the request carries (issue #25): host
// (server.address/port), ua (user_agent.original), query (url.query), peer (network.peer.*; and
// client.address from it), version (network.protocol.version).
import http from 'node:http';
import { Socket } from 'node:net';

export function makePair(parts = ['host', 'ua']) {
  const has = new Set(parts);
  const socket = new Socket();
  if (has.has('peer')) {
    Object.defineProperty(socket, 'remoteAddress', { value: '203.0.113.9' });
    Object.defineProperty(socket, 'remotePort', { value: 53124 });
    Object.defineProperty(socket, 'localPort', { value: 8080 });
  }
  const req = new http.IncomingMessage(socket);
  req.method = 'GET';
  req.url = has.has('query') ? '/users/42?page=2&sort=name' : '/users/42';
  req.headers = {};
  if (has.has('host')) req.headers.host = 'api.example.com:8080';
  if (has.has('ua')) req.headers['user-agent'] = 'Mozilla/5.0 (X11; Linux x86_64) bench/1.0';
  if (has.has('version')) req.httpVersion = '1.1';
  return { req, res: new http.ServerResponse(req) };
}

/**
 * One request through the core pipeline on a pair, as an adapter drives it: begin → admit →
 * setRoute → 'finish' → 'close'. Returns admit's answer (undefined = admitted).
 */
export function pipelineRequest(engine, { req, res }) {
  const ex = engine.begin(req, res, req.url);
  const refusal = engine.admit(ex);
  ex.setRoute('/users/:id');
  res.emit('finish');
  res.emit('close');
  return refusal;
}

/**
 * Pairs are reused, request `i` on `pairs[i % pairs.length]`: after the last of each lap, drops the
 * listeners the engine left on them. Returns whether a lap ended.
 */
export function endOfLap(pairs, i) {
  if (i % pairs.length !== pairs.length - 1) return false;
  for (const p of pairs) p.res.removeAllListeners();
  return true;
}
