import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP, SocketAddress } from 'node:net';
import { canonicalAddress } from '../src/pipeline/ip-address';
import { groupAddress } from '../src/ratelimit/client-key';

// input → canonical address, or undefined: not an address.
const TABLE: Array<[string, string | undefined]> = [
  // IPv4
  ['1.2.3.4', '1.2.3.4'],
  ['0.0.0.0', '0.0.0.0'],
  ['255.255.255.255', '255.255.255.255'],
  [' \t1.2.3.4 ', '1.2.3.4'],
  ['1.2.3.4:5555', '1.2.3.4'],
  ['1.2.3.4:0', '1.2.3.4'],
  ['1.2.3.4:65535', '1.2.3.4'],
  ['1.2.3.4:65536', undefined],
  ['1.2.3.4:', undefined],
  ['1.2.3.4:80:80', undefined],
  ['1.2.3.4:x', undefined],
  ['001.002.003.004', undefined],
  ['01.2.3.4', undefined],
  ['1.2.3.00', undefined],
  ['1.2.3.256', undefined],
  ['1.2.3.1000', undefined],
  ['1.2.3', undefined],
  ['1.2.3.4.5', undefined],
  ['1..2.3', undefined],
  ['.1.2.3', undefined],
  ['1.2.3.', undefined],
  ['1.2. 3.4', undefined],
  ['0x1.2.3.4', undefined],
  ['16909060', undefined],
  ['[1.2.3.4]', undefined],
  ['[1.2.3.4]:80', undefined],
  // IPv6: case, leading zeros and zero compression
  ['2001:db8::1', '2001:db8::1'],
  ['2001:DB8::1', '2001:db8::1'],
  ['2001:db8:0:0::1', '2001:db8::1'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
  ['[2001:db8::1]', '2001:db8::1'],
  ['[2001:db8::1]:443', '2001:db8::1'],
  ['[2001:db8::1]:', undefined],
  ['[2001:db8::1]x', undefined],
  ['[2001:db8::1', undefined],
  ['2001:db8::1]', undefined],
  ['::', '::'],
  ['::1', '::1'],
  ['1::', '1::'],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
  ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
  ['0:0:1:0:0:1:0:0', '::1:0:0:1:0:0'],
  ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ['fe80::1%eth0', 'fe80::1'],
  ['[fe80::1%25eth0]:80', 'fe80::1'],
  ['fe80::1%', undefined],
  ['fe80::1%a b', undefined],
  ['1:2:3:4:5:6:7:8:9', undefined],
  ['1:2:3:4:5:6:7', undefined],
  ['1:2:3:4:5:6:7:8::', undefined],
  ['::1:2:3:4:5:6:7:8', undefined],
  ['1::2::3', undefined],
  [':::', undefined],
  [':1', undefined],
  ['1:', undefined],
  ['12345::1', undefined],
  ['g::1', undefined],
  // A port after a bare IPv6 cannot be told from a last group: read as the address it spells.
  ['2001:db8::1:5555:6666:7777:8888', '2001:db8:0:1:5555:6666:7777:8888'],
  ['2001:db8:1:2:3:4:5:6:5555', undefined],
  // IPv4-mapped IPv6 → IPv4, any case, dotted or hex
  ['::ffff:1.2.3.4', '1.2.3.4'],
  ['::FFFF:1.2.3.4', '1.2.3.4'],
  ['::ffff:7f00:1', '127.0.0.1'],
  ['0:0:0:0:0:FFFF:0102:0304', '1.2.3.4'],
  ['[::ffff:1.2.3.4]:80', '1.2.3.4'],
  ['::ffff:001.2.3.4', undefined],
  ['::ffff:1.2.3.4:80', undefined],
  ['::ffff:1.2.3', undefined],
  ['1:2:3:4:5:6:7:1.2.3.4', undefined],
  ['::1.2.3.4', '::102:304'],
  ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
  // Not addresses
  ['', undefined],
  ['   ', undefined],
  ['unknown', undefined],
  ['_hidden', undefined],
  ['localhost', undefined],
  ['"1.2.3.4"', undefined],
  ['for=1.2.3.4', undefined],
  ['x'.repeat(100), undefined],
  [`${'0'.repeat(60)}::1`, undefined],
];

describe('canonicalAddress', () => {
  for (const [input, expected] of TABLE) {
    test(`${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)} → ${expected ?? 'not an address'}`, () => {
      assert.equal(canonicalAddress(input), expected);
    });
  }

  test('parses a slice of a longer string without reading outside it', () => {
    const s = '9.9.9.9,1.2.3.4:80,2001:DB8::1';
    assert.equal(canonicalAddress(s, 0, 7), '9.9.9.9');
    assert.equal(canonicalAddress(s, 8, 18), '1.2.3.4');
    assert.equal(canonicalAddress(s, 19, s.length), '2001:db8::1');
    assert.equal(canonicalAddress(s, 0, 6), undefined, '9.9.9');
    assert.equal(canonicalAddress('[::1],x', 0, 5), '::1');
  });

  test('accepts what node accepts (bare addresses), except leading-zero IPv4 octets node also refuses', () => {
    for (const [input] of TABLE) {
      const bare = input.trim();
      if (bare.includes('[') || bare.includes('%') || /^\d+\.\d+\.\d+\.\d+:/.test(bare)) continue;
      assert.equal(canonicalAddress(bare) !== undefined, isIP(bare) !== 0, bare);
    }
  });

  test('random IPv6 addresses: the same canonical text as node (inet_ntop), from any spelling', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
    for (let n = 0; n < 5000; n++) {
      const g = Array.from({ length: 8 }, () => (rnd() < 0.5 ? 0 : Math.floor(rnd() * 65536)));
      // node prints these with an embedded dotted IPv4 (compatible/mapped): compared elsewhere.
      if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0 || g[5] === 0xffff)) continue;
      const full = g.map((x) => x.toString(16).padStart(4, '0').toUpperCase()).join(':');
      const expected = new SocketAddress({ address: full, family: 'ipv6' }).address;
      assert.equal(canonicalAddress(full), expected, full);
      assert.equal(canonicalAddress(expected), expected, expected);
      assert.equal(canonicalAddress(`[${expected.toUpperCase()}]:8080`), expected, expected);
    }
  });
});

describe('groupAddress', () => {
  test('IPv6 cut to the prefix, whatever the spelling; IPv4 and mapped IPv4 as IPv4', () => {
    for (const a of ['2001:db8:1:2::1', '2001:DB8:1:2:ffff::9', '2001:0db8:0001:0002:0:0:0:1']) assert.equal(groupAddress(a, 4), '2001:db8:1:2::/64');
    assert.equal(groupAddress('2001:db8::1', 4), '2001:db8:0:0::/64');
    assert.equal(groupAddress('::1', 4), '0:0:0:0::/64');
    assert.equal(groupAddress('2001:db8::1', 1), '2001::/16');
    assert.equal(groupAddress('2001:db8:0:0::1', 8), '2001:db8::1');
    assert.equal(groupAddress('::ffff:7f00:1', 4), '127.0.0.1');
    assert.equal(groupAddress('::FFFF:1.2.3.4', 8), '1.2.3.4');
    assert.equal(groupAddress('1.2.3.4', 4), '1.2.3.4');
    assert.equal(groupAddress('unknown', 4), 'unknown');
  });
});
