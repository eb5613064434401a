/**
 * A set of IP addresses and CIDR blocks, IPv4 and IPv6, compiled once into a sorted list of disjoint
 * ranges, so a lookup is a binary search: O(log ranges), whatever the list length, with no allocation.
 *
 * Every address lives in one 128-bit space: IPv4 `a.b.c.d` is stored as its IPv4-mapped IPv6 form
 * `::ffff:a.b.c.d` (and an IPv4 `/n` as `/96+n`), so a client seen as `::ffff:10.0.0.1` by a dual-stack
 * socket matches an IPv4 rule, and the rule `::ffff:0:0/96` matches every IPv4 client.
 * node:net's BlockList checks its rules one by one (O(list)), hence this structure for long lists.
 */

/** Parse output of the hot path: one module-wide buffer (the data plane is single-threaded). */
const SCRATCH = new Uint32Array(4);
const GROUPS = new Uint16Array(8);

/**
 * Parses an IPv4 or IPv6 address (zone id ignored) into `out` as four big-endian 32-bit words.
 * Returns false, leaving `out` undefined, when `s` is not an address.
 */
export function parseIp(s: string, out: Uint32Array): boolean {
  const len = s.length;
  if (len === 0 || len > 45 + 16) return false;
  let dot = false;
  let colon = false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c === 58) {
      colon = true;
      break;
    }
    if (c === 46) dot = true;
  }
  if (!colon) {
    if (!dot) return false;
    const v = parseV4(s, 0, len);
    if (v < 0) return false;
    out[0] = 0;
    out[1] = 0;
    out[2] = 0xffff;
    out[3] = v;
    return true;
  }
  return parseV6(s, len, out);
}

/** Dotted quad in s[from, to) → its 32-bit value, or -1. Leading zeros are refused (ambiguous octal). */
function parseV4(s: string, from: number, to: number): number {
  let value = 0;
  let parts = 0;
  let i = from;
  while (parts < 4) {
    const start = i;
    let n = 0;
    while (i < to) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      i++;
      if (i - start > 3) return -1;
    }
    if (i === start || n > 255 || (i - start > 1 && s.charCodeAt(start) === 48)) return -1;
    value = value * 256 + n;
    parts++;
    if (parts < 4) {
      if (i >= to || s.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === to ? value >>> 0 : -1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseV6(s: string, len: number, out: Uint32Array): boolean {
  const pct = s.indexOf('%');
  const end = pct === -1 ? len : pct;
  const g = GROUPS;
  g.fill(0);
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === end) return finishV6(g, n, gap, out);
  }
  while (i < end) {
    const start = i;
    let v = 0;
    while (i < end) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      i++;
      if (i - start > 4) return false;
    }
    if (i < end && s.charCodeAt(i) === 46) {
      // Embedded IPv4 in the last 32 bits (::ffff:1.2.3.4, 64:ff9b::1.2.3.4).
      if (n > 6) return false;
      const v4 = parseV4(s, start, end);
      if (v4 < 0) return false;
      g[n++] = v4 >>> 16;
      g[n++] = v4 & 0xffff;
      break;
    }
    if (i === start || n >= 8) return false;
    g[n++] = v;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap !== -1) return false;
      gap = n;
      i++;
    } else if (i === end) return false;
  }
  return finishV6(g, n, gap, out);
}

function finishV6(g: Uint16Array, n: number, gap: number, out: Uint32Array): boolean {
  if (gap === -1) {
    if (n !== 8) return false;
  } else {
    if (n > 7) return false;
    const tail = n - gap;
    // Move the groups after `::` to the end, zero-filling the gap.
    for (let k = 1; k <= tail; k++) {
      g[8 - k] = g[n - k]!;
      g[n - k] = 0;
    }
    for (let k = gap; k < 8 - tail; k++) g[k] = 0;
  }
  for (let w = 0; w < 4; w++) out[w] = ((g[2 * w]! << 16) | g[2 * w + 1]!) >>> 0;
  return true;
}

/** Compares two 128-bit values stored at `a[ai..]` and `b[bi..]`. */
function cmp(a: Uint32Array, ai: number, b: Uint32Array, bi: number): number {
  for (let w = 0; w < 4; w++) {
    const x = a[ai + w]!;
    const y = b[bi + w]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Parses `addr` or `addr/prefix` into its first and last address (8 words). Throws on a bad entry. */
export function parseCidr(entry: string): Uint32Array {
  const c = entry.trim();
  const slash = c.indexOf('/');
  const addr = slash === -1 ? c : c.slice(0, slash);
  const r = new Uint32Array(8);
  const lo = r.subarray(0, 4);
  if (!parseIp(addr, lo)) throw new Error(`'${entry}' is not an IP address or CIDR block`);
  const v4 = !addr.includes(':');
  let prefix = 128;
  if (slash !== -1) {
    const p = c.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > (v4 ? 32 : 128)) throw new Error(`'${entry}' has an invalid prefix length`);
    prefix = Number(p) + (v4 ? 96 : 0);
  }
  // Host bits set in the address (10.1.2.3/8) are ignored, as Kong and nginx do.
  for (let w = 0; w < 4; w++) {
    const bits = Math.max(0, Math.min(32, prefix - 32 * w));
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    r[w] = (r[w]! & mask) >>> 0;
    r[4 + w] = (r[w]! | (~mask >>> 0)) >>> 0;
  }
  return r;
}

/** Adds one to the 128-bit value at a[ai..] in place; returns false on overflow. */
function increment(a: Uint32Array, ai: number): boolean {
  for (let w = 3; w >= 0; w--) {
    if (a[ai + w] !== 0xffffffff) {
      a[ai + w]!++;
      return true;
    }
    a[ai + w] = 0;
  }
  return false;
}

export class IpSet {
  /** Disjoint, sorted ranges: 8 words each, first address then last. */
  private readonly ranges: Uint32Array;
  readonly size: number;

  constructor(entries: readonly string[]) {
    const parsed = entries.map(parseCidr).sort((a, b) => cmp(a, 0, b, 0));
    const merged: Uint32Array[] = [];
    const next = new Uint32Array(4);
    for (const r of parsed) {
      const last = merged[merged.length - 1];
      if (last !== undefined) {
        // Merge overlapping or adjacent ranges: r starts at or before last.end + 1.
        next.set(last.subarray(4, 8));
        const overflow = !increment(next, 0);
        if (overflow || cmp(r, 0, next, 0) <= 0) {
          if (cmp(r, 4, last, 4) > 0) last.set(r.subarray(4, 8), 4);
          continue;
        }
      }
      merged.push(r);
    }
    this.ranges = new Uint32Array(merged.length * 8);
    merged.forEach((r, i) => this.ranges.set(r, i * 8));
    this.size = merged.length;
  }

  /** Whether the parsed address in `ip` (4 words) is in the set. */
  hasParsed(ip: Uint32Array): boolean {
    const r = this.ranges;
    let lo = 0;
    let hi = this.size - 1;
    // The last range whose first address is <= ip.
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(r, mid * 8, ip, 0) <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found !== -1 && cmp(ip, 0, r, found * 8 + 4) <= 0;
  }

  /** Whether the address string is in the set (false when it is not an address). */
  has(address: string): boolean {
    return parseIp(address, SCRATCH) && this.hasParsed(SCRATCH);
  }
}

/** Parses `address` into the shared scratch buffer for `hasParsed`; undefined when it is not an address. */
export function parseClientIp(address: string): Uint32Array | undefined {
  return parseIp(address, SCRATCH) ? SCRATCH : undefined;
}
