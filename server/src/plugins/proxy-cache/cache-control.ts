/**
 * The parts of RFC 9111 a shared cache in front of an origin needs: Cache-Control directives of requests
 * and responses, the freshness lifetime of a response, and the Vary and conditional-request helpers.
 * Parsed by hand (no regex, no split) because request directives are read on the proxy hot path.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Headers may arrive folded into one value or as a list (undici keeps duplicates apart). */
export function headerString(v: string | number | readonly string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return v.join(', ');
}

/** delta-seconds (RFC 9111 §1.2.2): digits only; anything else is invalid and reads as 0 (stale). */
function deltaSeconds(s: string): number {
  if (s.length === 0) return 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return 0;
    // Values past 2^31 are capped, as §1.2.2 asks.
    n = Math.min(n * 10 + c, 2_147_483_648);
  }
  return n;
}

/** The directives of one Cache-Control field; -1 means "absent" for the numeric ones. */
export class CacheDirectives {
  noStore = false;
  noCache = false;
  private = false;
  onlyIfCached = false;
  maxAge = -1;
  sMaxAge = -1;
  minFresh = -1;

  /** Reads a Cache-Control value. Duplicated numeric directives keep the smallest (the conservative reading). */
  parse(s: string): this {
    const n = s.length;
    let i = 0;
    while (i < n) {
      let c = s.charCodeAt(i);
      if (c === 44 || c === 32 || c === 9) {
        i++;
        continue;
      }
      const start = i;
      while (i < n && (c = s.charCodeAt(i)) !== 44 && c !== 61) i++;
      const name = s.slice(start, i).trim().toLowerCase();
      let value = '';
      if (i < n && s.charCodeAt(i) === 61) {
        i++;
        while (i < n && s.charCodeAt(i) === 32) i++;
        if (s.charCodeAt(i) === 34) {
          // quoted-string: may contain commas (no-cache="set-cookie, x-foo")
          const vs = ++i;
          while (i < n && s.charCodeAt(i) !== 34) i += s.charCodeAt(i) === 92 ? 2 : 1;
          value = s.slice(vs, Math.min(i, n));
          while (i < n && s.charCodeAt(i) !== 44) i++;
        } else {
          const vs = i;
          while (i < n && s.charCodeAt(i) !== 44) i++;
          value = s.slice(vs, i).trim();
        }
      }
      this.apply(name, value);
    }
    return this;
  }

  private apply(name: string, value: string): void {
    switch (name) {
      case 'no-store':
        this.noStore = true;
        break;
      // The field-name forms (no-cache="x", private="x") are read as the unqualified directive: a cache
      // that does not strip those fields must not reuse the response without revalidation.
      case 'no-cache':
        this.noCache = true;
        break;
      case 'private':
        this.private = true;
        break;
      case 'only-if-cached':
        this.onlyIfCached = true;
        break;
      case 'max-age':
        this.maxAge = min(this.maxAge, deltaSeconds(value));
        break;
      case 's-maxage':
        this.sMaxAge = min(this.sMaxAge, deltaSeconds(value));
        break;
      case 'min-fresh':
        this.minFresh = min(this.minFresh, deltaSeconds(value));
        break;
    }
  }
}

function min(prev: number, v: number): number {
  return prev < 0 ? v : Math.min(prev, v);
}

/**
 * Freshness lifetime in seconds of a response a shared cache stores (RFC 9111 §4.2.1): s-maxage, then
 * max-age, then Expires − Date; `fallback` (the configured ttl, a heuristic per §4.2.2) when it states none.
 */
export function freshnessLifetime(d: CacheDirectives | undefined, headers: OutgoingHttpHeaders, fallback: number, now: number): number {
  if (d !== undefined) {
    if (d.sMaxAge >= 0) return d.sMaxAge;
    if (d.maxAge >= 0) return d.maxAge;
  }
  const expires = headerString(headers.expires);
  if (expires !== undefined) {
    const e = Date.parse(expires);
    // An invalid Expires (e.g. "0") means "already expired" (§5.3).
    if (Number.isNaN(e)) return 0;
    const date = headerString(headers.date);
    const base = date === undefined ? NaN : Date.parse(date);
    return Math.max(0, Math.floor((e - (Number.isNaN(base) ? now : base)) / 1000));
  }
  return fallback;
}

/** The origin's Age in seconds (0 when absent or invalid). */
export function ageOf(headers: OutgoingHttpHeaders): number {
  const a = headerString(headers.age);
  if (a === undefined) return 0;
  const n = Number(a.trim());
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** Field names a response's Vary lists: lower case, sorted, unique; null for `Vary: *` (never reusable). */
export function varyNames(v: string | undefined): string[] | null {
  const out: string[] = [];
  if (v === undefined) return out;
  let start = 0;
  for (let i = 0; i <= v.length; i++) {
    if (i !== v.length && v.charCodeAt(i) !== 44) continue;
    const name = v.slice(start, i).trim().toLowerCase();
    start = i + 1;
    if (name === '') continue;
    if (name === '*') return null;
    if (!out.includes(name)) out.push(name);
  }
  return out.sort();
}

/** The request's values of the Vary fields, as one string (the variant's identity). */
export function varyValues(names: readonly string[], headers: IncomingHttpHeaders): string {
  let s = '';
  for (let i = 0; i < names.length; i++) {
    const v = headerString(headers[names[i]!]);
    // Absent and empty are different selections.
    s += v === undefined ? '\u0000\n' : v + '\n';
  }
  return s;
}

/** Weak comparison (RFC 9110 §8.8.3.2) of an If-None-Match list against a stored ETag; `*` matches any. */
export function ifNoneMatch(list: string, etag: string): boolean {
  const want = etag.startsWith('W/') ? etag.slice(2) : etag;
  let start = 0;
  for (let i = 0; i <= list.length; i++) {
    if (i !== list.length && list.charCodeAt(i) !== 44) continue;
    let tag = list.slice(start, i).trim();
    start = i + 1;
    if (tag === '') continue;
    if (tag === '*') return true;
    if (tag.startsWith('W/')) tag = tag.slice(2);
    if (tag === want) return true;
  }
  return false;
}

/** The media type of a Content-Type value, lower case, without parameters. */
export function mediaType(v: string): string {
  const semi = v.indexOf(';');
  return (semi === -1 ? v : v.slice(0, semi)).trim().toLowerCase();
}

/**
 * The selected query parameters in a fixed order, as one string. `names` are sorted once per instance;
 * a parameter's repeated values keep their order; present-but-empty and absent differ.
 */
export function selectedQuery(query: string, names: readonly string[]): string {
  let out = '';
  for (let k = 0; k < names.length; k++) {
    const name = names[k]!;
    const nl = name.length;
    out += name;
    let i = 0;
    while (i <= query.length) {
      let end = query.indexOf('&', i);
      if (end === -1) end = query.length;
      if (end - i >= nl && query.startsWith(name, i) && (end - i === nl || query.charCodeAt(i + nl) === 61)) {
        out += '=' + query.slice(Math.min(i + nl + 1, end), end);
      }
      i = end + 1;
    }
    out += '&';
  }
  return out;
}
