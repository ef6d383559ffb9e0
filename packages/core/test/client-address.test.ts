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
  test('an absurd X-Forwarded-For chain costs a bounded amount and does not throw', () => {
    const hops = Array.from({ length: 100_000 }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`);
    // Every hop trusted: the walk stops at the furthest of the 32 right-most entries it looks at.
    assert.equal(compileTrustProxy(['10.0.0.0/8'])('10.0.0.1', xff(hops.join(','))), hops[hops.length - 32]);
    assert.equal(compileTrustProxy(1)('10.0.0.1', xff(['1.2.3.4', ...hops.slice(0, 5)].join(','))), hops[4]);
    assert.equal(compileTrustProxy(true)('10.0.0.1', xff(`${'x'.repeat(10_000)},1.2.3.4`)), '1.2.3.4');
  });
});
