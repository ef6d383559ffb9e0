import { InvalidOptionError } from '../util/errors.js';
import { dotted, isV4Mapped, parseIpv6 } from './ip-address.js';

/**
 * A set of addresses and CIDR blocks (the `trustProxy` list), matched against canonical addresses
 * (see `canonicalAddress`). Its own matcher rather than node's BlockList: `BlockList.check` builds a
 * native SocketAddress on every call, and this runs for each hop of each request. Entries are parsed
 * as strictly as the addresses they match; an IPv4-mapped IPv6 entry matches the IPv4 addresses.
 */
export class AddressSet {
  // IPv4 rules: value and mask pairs (int32 bit patterns).
  private readonly v4: number[] = [];
  // IPv6 rules: 8 groups then the prefix length, 9 numbers per rule.
  private readonly v6: number[] = [];
  private readonly groups = new Uint16Array(8);

  /** Parses `entries` (`'10.0.0.0/8'`, `'::1'`, `'fd00::/8'`); a bad one throws naming `optionPath[i]`. */
  constructor(entries: readonly unknown[], optionPath: string) {
    entries.forEach((entry, i) => {
      if (typeof entry !== 'string' || !this.add(entry)) throw new InvalidOptionError(`${optionPath}[${i}]`, 'an address or CIDR string', entry);
    });
  }

  /**
   * True when the canonical address `a` is in the set. An IPv4 address is also looked up as
   * `::ffff:a.b.c.d` among the IPv6 blocks, as BlockList does (`::/0` covers it).
   */
  has(a: string): boolean {
    const g = this.groups;
    if (a.indexOf(':') === -1) {
      const v = dotted(a, 0, a.length);
      if (v < 0) return false;
      const rules = this.v4;
      for (let i = 0; i < rules.length; i += 2) if (((v ^ rules[i]!) & rules[i + 1]!) === 0) return true;
      if (this.v6.length === 0) return false;
      g.fill(0, 0, 5);
      g[5] = 0xffff;
      g[6] = v >>> 16;
      g[7] = v & 0xffff;
    } else if (this.v6.length === 0 || !parseIpv6(a, 0, a.length, g)) {
      return false;
    }
    const rules = this.v6;
    for (let r = 0; r < rules.length; r += 9) {
      let bits = rules[r + 8]!;
      for (let k = 0; bits > 0; k++, bits -= 16) {
        const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
        if (((g[k]! ^ rules[r + k]!) & mask) !== 0) break;
      }
      if (bits <= 0) return true;
    }
    return false;
  }

  private add(entry: string): boolean {
    const slash = entry.indexOf('/');
    const addr = slash === -1 ? entry : entry.slice(0, slash);
    // A bare address: no brackets, port, zone or spaces.
    if (/[\s[\]%]/.test(addr)) return false;
    const v6 = addr.indexOf(':') !== -1;
    let bits = v6 ? 128 : 32;
    if (slash !== -1) {
      const text = entry.slice(slash + 1);
      if (!/^\d{1,3}$/.test(text) || Number(text) > bits) return false;
      bits = Number(text);
    }
    if (!v6) {
      const v = dotted(addr, 0, addr.length);
      if (v < 0) return false;
      this.addV4(v, bits);
      return true;
    }
    const g = this.groups;
    if (!parseIpv6(addr, 0, addr.length, g)) return false;
    // Addresses are matched canonical, mapped ones as IPv4: a mapped block is kept as an IPv4 one.
    if (isV4Mapped(g) && bits >= 96) this.addV4(g[6]! * 65536 + g[7]!, bits - 96);
    else for (let k = 0; k <= 8; k++) this.v6.push(k < 8 ? g[k]! : bits);
    return true;
  }

  private addV4(value: number, bits: number): void {
    const mask = bits === 0 ? 0 : ~0 << (32 - bits);
    this.v4.push(value & mask, mask);
  }
}
