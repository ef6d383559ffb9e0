/**
 * Strict parsing of IP address text into one canonical spelling, so that every way of writing an
 * address names the same client: dotted IPv4 without leading zeros, IPv6 in RFC 5952 form
 * (lower case, no leading zeros, the longest run of zero groups as `::`), IPv4-mapped IPv6 as the
 * IPv4 address. Everything else is not an address.
 *
 * Runs per request on the client-address path: no regex, no split, one string built at most.
 */

/** Longest text looked at (`[v6 with embedded IPv4 and a zone]:port` fits); longer is not an address. */
const MAX_TEXT = 64;

// Scratch for the IPv6 groups: parsing is synchronous, so one buffer serves every call.
const scratch = new Uint16Array(8);

/**
 * The canonical form of the address written in `s[start, end)`, or undefined when that is not an
 * IP address. Accepts what an `X-Forwarded-For` hop or a socket may carry: surrounding spaces/tabs,
 * `a.b.c.d`, `a.b.c.d:port`, IPv6, `[IPv6]`, `[IPv6]:port`, an IPv6 zone (`%eth0`, dropped).
 * Rejected: IPv4 octets with leading zeros (`010.0.0.1` reads as octal to some parsers, so its
 * meaning is ambiguous), fewer than four octets, names, `unknown`, `_hidden`, empty text.
 */
export function canonicalAddress(s: string, start = 0, end = s.length): string | undefined {
  while (start < end && isSpace(s.charCodeAt(start))) start++;
  while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
  if (end - start > MAX_TEXT || end === start) return undefined;
  if (s.charCodeAt(start) === 91 /* [ */) {
    const close = s.indexOf(']', start);
    if (close === -1 || close >= end) return undefined;
    if (close + 1 !== end && (s.charCodeAt(close + 1) !== 58 /* : */ || !isPort(s, close + 2, end))) return undefined;
    return ipv6Text(s, start + 1, close);
  }
  const colon = s.indexOf(':', start);
  if (colon === -1 || colon >= end) {
    // The common case: plain dotted IPv4, already canonical when it parses.
    if (dotted(s, start, end) < 0) return undefined;
    return start === 0 && end === s.length ? s : s.slice(start, end);
  }
  const next = s.indexOf(':', colon + 1);
  if (next === -1 || next >= end) {
    // One colon: IPv6 has at least two, so this is `a.b.c.d:port`.
    if (dotted(s, start, colon) < 0 || !isPort(s, colon + 1, end)) return undefined;
    return s.slice(start, colon);
  }
  // A dual-stack socket's peer `::ffff:a.b.c.d`: the IPv4 text is in the string already.
  if (next === start + 1 && colon === start && end - start > 7 && isFfffColon(s, start + 2) && dotted(s, start + 7, end) >= 0) return s.slice(start + 7, end);
  return ipv6Text(s, start, end);
}

/** `ffff:` in any case at `i`. */
function isFfffColon(s: string, i: number): boolean {
  return (
    (s.charCodeAt(i) | 0x20) === 102 &&
    (s.charCodeAt(i + 1) | 0x20) === 102 &&
    (s.charCodeAt(i + 2) | 0x20) === 102 &&
    (s.charCodeAt(i + 3) | 0x20) === 102 &&
    s.charCodeAt(i + 4) === 58
  );
}

/**
 * Reads the IPv6 address in `s[start, end)` (no brackets; a `%zone` is allowed and ignored) into
 * `out` (eight groups). False when the text is not an IPv6 address.
 */
export function parseIpv6(s: string, start: number, end: number, out: Uint16Array): boolean {
  const pct = s.indexOf('%', start);
  if (pct !== -1 && pct < end) {
    if (pct + 1 === end) return false;
    for (let i = pct + 1; i < end; i++) if (!isZoneChar(s.charCodeAt(i))) return false;
    end = pct;
  }
  if (end - start < 2) return false;
  let n = 0;
  let gap = -1; // group index where '::' stands
  let i = start;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    let v = 0;
    let j = i;
    for (; j < end; j++) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
    }
    if (j < end && s.charCodeAt(j) === 46 /* . */) {
      // Embedded IPv4 (`::ffff:1.2.3.4`): the last 32 bits, and nothing after it.
      if (n > 6) return false;
      const v4 = dotted(s, i, end);
      if (v4 < 0) return false;
      out[n++] = v4 >>> 16;
      out[n++] = v4 & 0xffff;
      break;
    }
    if (j === i || j - i > 4 || n === 8) return false;
    out[n++] = v;
    if (j === end) break;
    if (s.charCodeAt(j) !== 58) return false;
    j++;
    if (j < end && s.charCodeAt(j) === 58) {
      if (gap !== -1) return false;
      gap = n;
      j++;
    } else if (j === end) {
      return false; // a single trailing ':'
    }
    i = j;
  }
  if (gap === -1) return n === 8;
  if (n > 7) return false; // '::' stands for at least one zero group
  const moved = n - gap;
  for (let k = 1; k <= moved; k++) out[8 - k] = out[n - k]!;
  for (let k = gap; k < 8 - moved; k++) out[k] = 0;
  return true;
}

/** True when the groups are an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`). */
export function isV4Mapped(g: Uint16Array): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}

/** Dotted IPv4 text of the last 32 bits of the groups. */
export function mappedV4(g: Uint16Array): string {
  return `${g[6]! >>> 8}.${g[6]! & 255}.${g[7]! >>> 8}.${g[7]! & 255}`;
}

function ipv6Text(s: string, start: number, end: number): string | undefined {
  const g = scratch;
  if (!parseIpv6(s, start, end, g)) return undefined;
  if (isV4Mapped(g)) return mappedV4(g);
  // RFC 5952: compress the longest run (of two or more) of zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8;) {
    if (i === best) {
      out += '::';
      i += bestLen;
      continue;
    }
    out += i === 0 || i === best + bestLen ? hex(g[i]!) : `:${hex(g[i]!)}`;
    i++;
  }
  return out;
}

// Hex text of a byte: plain, and padded to two digits (the low byte after a non-zero high byte).
const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16));
const BYTE_HEX2 = BYTE_HEX.map((h) => h.padStart(2, '0'));

/** Lower-case hex of a 16-bit group without leading zeros (table lookups: cheaper than toString). */
function hex(v: number): string {
  return v > 255 ? BYTE_HEX[v >>> 8]! + BYTE_HEX2[v & 255]! : BYTE_HEX[v]!;
}

/** The 32-bit value of the strict dotted quad `s[start, end)` (no leading zeros), or -1. */
export function dotted(s: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

function isPort(s: string, start: number, end: number): boolean {
  if (end - start < 1 || end - start > 5) return false;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    v = v * 10 + (c - 48);
  }
  return v <= 65535;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20; // ASCII lower case
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/** RFC 6874 zone ids: unreserved characters. */
function isZoneChar(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 122) || c === 45 || c === 46 || c === 95 || c === 126;
}
