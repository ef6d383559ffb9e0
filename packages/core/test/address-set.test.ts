import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { AddressSet } from '../src/pipeline/address-set';
import { InvalidOptionError } from '../src/util/errors';

describe('AddressSet (the trustProxy list)', () => {
  test('addresses and CIDR blocks, IPv4 and IPv6', () => {
    const set = new AddressSet(['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8', '2001:db8:1::/48', '2001:db8:ff::/61'], 'trustProxy');
    const yes = ['10.0.0.1', '10.255.255.255', '192.168.1.7', '::1', 'fd12:3456::1', '2001:db8:1:ffff::1', '2001:db8:ff:7:1::'];
    const no = ['11.0.0.1', '9.255.255.255', '192.168.1.8', '::2', 'fe00::1', '2001:db8:2::1', '2001:db8:ff:8::1', 'unknown', ''];
    for (const a of yes) assert.equal(set.has(a), true, a);
    for (const a of no) assert.equal(set.has(a), false, a);
    assert.equal(new AddressSet(['0.0.0.0/0'], 'x').has('203.0.113.9'), true);
    assert.equal(new AddressSet(['0.0.0.0/0'], 'x').has('2001:db8::1'), false);
    assert.equal(new AddressSet(['::/0'], 'x').has('2001:db8::1'), true);
    assert.equal(new AddressSet(['::/0'], 'x').has('10.0.0.1'), true, 'as BlockList: IPv4 is ::ffff:a.b.c.d there');
    assert.equal(new AddressSet(['2000::/3'], 'x').has('10.0.0.1'), false);
    assert.equal(new AddressSet(['255.255.255.255/32'], 'x').has('255.255.255.255'), true);
  });

  test('an IPv4-mapped IPv6 entry matches the (canonical, IPv4) addresses it covers', () => {
    assert.equal(new AddressSet(['::ffff:10.0.0.0/104'], 'x').has('10.1.2.3'), true);
    assert.equal(new AddressSet(['::ffff:127.0.0.1'], 'x').has('127.0.0.1'), true);
    assert.equal(new AddressSet(['::ffff:127.0.0.1'], 'x').has('127.0.0.2'), false);
  });

  test('bad entries throw InvalidOptionError naming the entry', () => {
    for (const bad of [
      '010.0.0.0/8',
      '10.0.0.0/33',
      '10.0.0.0/',
      '10.0.0.0/-1',
      '10.0.0.0/8/8',
      '::1/129',
      '[::1]',
      '1.2.3.4:80',
      ' 10.0.0.1',
      'fe80::1%eth0',
      'localhost',
      '',
      7,
    ]) {
      assert.throws(
        () => new AddressSet(['127.0.0.1', bad], 'trustProxy'),
        (e: unknown) => e instanceof InvalidOptionError && e.option === 'trustProxy[1]',
        String(bad),
      );
    }
  });

  test("agrees with node's BlockList on random blocks and addresses", () => {
    let seed = 11;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const v4 = () => `${rnd(4)}.${rnd(3)}.${rnd(256)}.${rnd(256)}`;
    const v6 = () => `2001:${rnd(3).toString(16)}:${rnd(65536).toString(16)}::${rnd(4).toString(16)}`;
    for (let r = 0; r < 200; r++) {
      const entries = [`${v4()}/${rnd(33)}`, `${v6()}/${rnd(129)}`];
      const set = new AddressSet(entries, 'x');
      const list = new BlockList();
      list.addSubnet(entries[0]!.split('/')[0]!, Number(entries[0]!.split('/')[1]), 'ipv4');
      list.addSubnet(entries[1]!.split('/')[0]!, Number(entries[1]!.split('/')[1]), 'ipv6');
      for (let k = 0; k < 50; k++) {
        const a = k % 2 === 0 ? v4() : v6();
        assert.equal(set.has(a), list.check(a, k % 2 === 0 ? 'ipv4' : 'ipv6'), `${entries.join(' ')} ∋ ${a}`);
      }
    }
  });
});
