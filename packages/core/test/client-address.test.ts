import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTrustProxy } from '../src/pipeline/client-address';

const xff = (v: string) => ({ 'x-forwarded-for': v });

describe('client address under trustProxy', () => {
  test('false: the socket peer, whatever X-Forwarded-For says', () => {
    assert.equal(compileTrustProxy(false)('10.0.0.1', xff('1.2.3.4')), '10.0.0.1');
  });
  test('true: the left-most X-Forwarded-For entry', () => {
    assert.equal(compileTrustProxy(true)('10.0.0.1', xff('1.2.3.4, 10.0.0.2')), '1.2.3.4');
    assert.equal(compileTrustProxy(true)('10.0.0.1', {}), '10.0.0.1');
  });
  test('hop count: the entry that many hops from the right', () => {
    assert.equal(compileTrustProxy(1)('10.0.0.1', xff('6.6.6.6, 1.2.3.4')), '1.2.3.4');
    assert.equal(compileTrustProxy(2)('10.0.0.1', xff('6.6.6.6, 1.2.3.4, 10.0.0.2')), '1.2.3.4');
  });
  test('CIDR list: walk from the right while the hop is trusted; spoofed left entries are ignored', () => {
    const r = compileTrustProxy(['10.0.0.0/8', '::1']);
    assert.equal(r('10.0.0.1', xff('6.6.6.6, 1.2.3.4, 10.0.0.2')), '1.2.3.4');
    assert.equal(r('::1', xff('2001:db8::1')), '2001:db8::1');
    assert.equal(r('::ffff:10.1.2.3', xff('1.2.3.4')), '1.2.3.4');
    assert.equal(r('8.8.8.8', xff('1.2.3.4')), '8.8.8.8', 'an untrusted peer is the client');
    assert.equal(r('10.0.0.1', xff('not-an-ip, 1.2.3.4')), '1.2.3.4');
  });
  test("the socket address is canonical: a dual-stack socket's ::ffff:a.b.c.d is the IPv4 client", () => {
    assert.equal(compileTrustProxy(false)('::ffff:127.0.0.1', {}), '127.0.0.1');
    assert.equal(compileTrustProxy(false)('::FFFF:7f00:1', {}), '127.0.0.1');
    assert.equal(compileTrustProxy(false)('2001:0DB8:0:0::1', {}), '2001:db8::1');
    assert.equal(compileTrustProxy(false)(undefined, {}), 'unknown');
    const r = compileTrustProxy(['127.0.0.1']);
    assert.equal(r('::ffff:127.0.0.1', xff('1.2.3.4')), '1.2.3.4', 'a mapped peer matches its IPv4 trust entry');
  });

  test('every spelling of a hop gives one canonical client address', () => {
    for (const trust of [true, 1, ['127.0.0.1']] as const) {
      const r = compileTrustProxy(trust);
      for (const hop of ['1.2.3.4', ' 1.2.3.4 ', '1.2.3.4:5555', '::ffff:1.2.3.4', '::FFFF:1.2.3.4', '[::ffff:102:304]:80']) {
        assert.equal(r('127.0.0.1', xff(hop)), '1.2.3.4', `${JSON.stringify(trust)} ${hop}`);
      }
      for (const hop of ['2001:db8::1', '[2001:db8::1]', '[2001:db8::1]:443', '2001:DB8::1', '2001:db8:0:0::1']) {
        assert.equal(r('127.0.0.1', xff(hop)), '2001:db8::1', `${JSON.stringify(trust)} ${hop}`);
      }
    }
  });

  test('an unusable hop: the client is the hop that wrote it (nearest valid one closer to us), counted', () => {
    let invalid = 0;
    const count = () => void invalid++;
    const list = compileTrustProxy(['127.0.0.1', '10.0.0.0/8'], 'trustProxy', count);
    const hop1 = compileTrustProxy(1, 'trustProxy', count);
    const hop2 = compileTrustProxy(2, 'trustProxy', count);
    const all = compileTrustProxy(true, 'trustProxy', count);
    for (const bad of ['001.002.003.004', 'unknown', '_hidden', 'garbage', '', ' ', '1.2.3', '[::1', 'x'.repeat(200)]) {
      invalid = 0;
      assert.equal(list('127.0.0.1', xff(bad)), '127.0.0.1', `list, ${bad}: the socket peer`);
      assert.equal(list('127.0.0.1', xff(`6.6.6.6, ${bad}, 10.0.0.2`)), '10.0.0.2', `list, ${bad}: the proxy that appended it`);
      assert.equal(hop1('127.0.0.1', xff(`6.6.6.6, ${bad}`)), '127.0.0.1', `1 hop, ${bad}`);
      assert.equal(hop2('127.0.0.1', xff(`6.6.6.6, ${bad}, 10.0.0.2`)), '10.0.0.2', `2 hops, ${bad}`);
      assert.equal(all('127.0.0.1', xff(`${bad}, 10.0.0.2`)), '10.0.0.2', `true, ${bad}`);
      // An empty header is no header (the peer is the client either way), not an unusable hop.
      assert.equal(invalid, bad === '' ? 4 : 5, JSON.stringify(bad));
    }
    invalid = 0;
    // Hops beyond the one the rule points at are never read: not counted, no effect.
    assert.equal(list('127.0.0.1', xff('garbage, 1.2.3.4')), '1.2.3.4');
    assert.equal(hop1('127.0.0.1', xff('garbage, 1.2.3.4')), '1.2.3.4');
    assert.equal(hop1('127.0.0.1', xff('1.2.3.4, , 5.6.7.8')), '5.6.7.8');
    assert.equal(list('8.8.8.8', xff('garbage')), '8.8.8.8', 'untrusted peer: the header is not read');
    assert.equal(invalid, 0);
    // Empty hops are unusable, not skipped (a proxy never appends nothing).
    assert.equal(all('127.0.0.1', xff('1.2.3.4,,5.6.7.8')), '5.6.7.8');
    assert.equal(all('127.0.0.1', xff(',1.2.3.4')), '1.2.3.4');
    assert.equal(all('127.0.0.1', xff('1.2.3.4,')), '127.0.0.1');
    assert.equal(invalid, 3);
  });

  test('repeated X-Forwarded-For headers (joined by node, or an array) read as one chain', () => {
    const r = compileTrustProxy(['127.0.0.1']);
    assert.equal(r('127.0.0.1', { 'x-forwarded-for': ['6.6.6.6', '1.2.3.4'] }), '1.2.3.4');
    assert.equal(r('127.0.0.1', xff('6.6.6.6, 1.2.3.4')), '1.2.3.4');
    assert.equal(compileTrustProxy(1)('127.0.0.1', xff('\t1.2.3.4\t')), '1.2.3.4');
  });

  test('an absurd X-Forwarded-For chain costs a bounded amount and does not throw', () => {
    const hops = Array.from({ length: 100_000 }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`);
    // Every hop trusted: the walk stops at the furthest of the 32 right-most entries it looks at.
    assert.equal(compileTrustProxy(['10.0.0.0/8'])('10.0.0.1', xff(hops.join(','))), hops[hops.length - 32]);
    assert.equal(compileTrustProxy(1)('10.0.0.1', xff(['1.2.3.4', ...hops.slice(0, 5)].join(','))), hops[4]);
    assert.equal(compileTrustProxy(true)('10.0.0.1', xff(`${'x'.repeat(10_000)},1.2.3.4`)), '1.2.3.4');
  });
});
