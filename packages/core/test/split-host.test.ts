import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitHost } from '../src/telemetry/http-telemetry';

// Host header → server.address and server.port, as the SERVER span records them.
const TABLE: Array<[string, string, number | undefined]> = [
  ['example.com', 'example.com', undefined],
  ['example.com:8080', 'example.com', 8080],
  ['localhost:0', 'localhost', 0],
  ['a:65535', 'a', 65535],
  ['a:65536', 'a', undefined],
  ['a:00080', 'a', 80],
  ['a:123456', 'a', undefined],
  ['a:', 'a', undefined],
  ['a:b', 'a', undefined],
  ['a:b:80', 'a:b', 80],
  [':80', '', 80],
  ['[::1]:3000', '::1', 3000],
  ['[::1]', '::1', undefined],
  ['[::1', '[::1', undefined],
  ['[::1]x80', '::1', undefined],
  // Not plain digits: read as Number() reads them.
  ['a:0x1f', 'a', 31],
  ['a:1e3', 'a', 1000],
  ['a:+80', 'a', 80],
  ['a:80.5', 'a', undefined],
  ['a:-1', 'a', undefined],
];

test('splitHost: address and port from a Host header', () => {
  for (const [host, address, port] of TABLE) assert.deepEqual(splitHost(host), { address, port }, host);
});
