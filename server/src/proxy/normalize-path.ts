/**
 * Parses the request-target and normalises its path (RFC 3986 §6.2.2) so that routing and the upstream
 * see one canonical spelling: `/a/./b/../c` and `/a/%63` both become `/a/c`, which keeps prefix routes and
 * path-based plugins from being bypassed by alternate encodings.
 */

/** Result of parsing a request-target; `authority` is set only for absolute-form targets. */
export interface ParsedTarget {
  path: string;
  query: string;
  authority: string | undefined;
}

/** Unreserved characters (RFC 3986 §2.3): only these are decoded, everything else stays escaped. */
const UNRESERVED = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9\-._~]/.test(ch)) UNRESERVED[c] = 1;
}
const HEX = '0123456789ABCDEF';
const MULTI_SLASH = /\/{2,}/g;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Normalises an origin-form path. Returns `null` when the path is unacceptable: not starting with `/`,
 * containing NUL (raw or `%00`), or carrying a malformed percent-escape. `%2F` stays encoded on purpose,
 * so an encoded slash never creates a new segment. Repeated slashes are merged (as nginx and Envoy's edge
 * settings do): many upstreams merge them, and `//admin` must not route differently from `/admin`.
 *
 * `strict` also refuses what upstream frameworks read in incompatible ways: `;` (path parameters, cut off
 * by Java servlet containers), `\` (a slash to some servers), and `%2F`, `%5C`, `%3B` (decoded into those by
 * others). Those spellings could reach a resource other than the one the route was matched for.
 */
export function normalizePath(p: string, strict = false): string | null {
  if (p.charCodeAt(0) !== 47) return null;
  let needsWork = false;
  let prev = 0;
  // The fast path: most paths have neither escapes, dot segments nor repeated slashes, and are returned untouched.
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c === 37) needsWork = true;
    else if ((c === 46 || c === 47) && prev === 47) needsWork = true;
    else if (c === 0) return null;
    else if (strict && (c === 59 || c === 92)) return null;
    prev = c;
  }
  if (!needsWork) return p;
  let decoded = '';
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p.charCodeAt(i) !== 37) continue;
    const hi = hexValue(p.charCodeAt(i + 1));
    const lo = hexValue(p.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return null;
    const v = hi * 16 + lo;
    if (v === 0) return null;
    if (strict && (v === 0x2f || v === 0x5c || v === 0x3b)) return null;
    decoded += p.slice(last, i);
    // Escapes of reserved characters keep their meaning; only their hex case is made canonical.
    decoded += v < 128 && UNRESERVED[v] === 1 ? String.fromCharCode(v) : '%' + HEX[hi]! + HEX[lo]!;
    i += 2;
    last = i + 1;
  }
  decoded += p.slice(last);
  return removeDotSegments(decoded.includes('//') ? decoded.replace(MULTI_SLASH, '/') : decoded);
}

/** RFC 3986 §5.2.4 for paths that start with `/`; `..` never climbs above the root. */
export function removeDotSegments(path: string): string {
  if (path.indexOf('/.') === -1) return path;
  const segs = path.split('/');
  const out: string[] = [];
  const n = segs.length;
  for (let i = 1; i < n; i++) {
    const seg = segs[i]!;
    const isLast = i === n - 1;
    if (seg === '.') {
      if (isLast) out.push('');
    } else if (seg === '..') {
      out.pop();
      if (isLast) out.push('');
    } else {
      out.push(seg);
    }
  }
  return '/' + out.join('/');
}

/**
 * Splits a request-target into a normalised path and the raw query. Accepts origin-form, absolute-form
 * (`http://host/p`, whose authority the caller compares with Host) and `*` for OPTIONS. Returns `null`
 * for anything else, which the proxy answers with 400 GW_ERR_BAD_PATH.
 */
export function parseRequestTarget(method: string, target: string, strict = false): ParsedTarget | null {
  let authority: string | undefined;
  let rest = target;
  const c0 = target.charCodeAt(0);
  if (c0 !== 47) {
    if (target === '*') return method === 'OPTIONS' ? { path: '*', query: '', authority: undefined } : null;
    const schemeEnd = target.indexOf('://');
    if (schemeEnd <= 0) return null;
    const scheme = target.slice(0, schemeEnd).toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') return null;
    const authStart = schemeEnd + 3;
    let authEnd = authStart;
    while (authEnd < target.length) {
      const c = target.charCodeAt(authEnd);
      if (c === 47 || c === 63 || c === 35) break;
      authEnd++;
    }
    authority = target.slice(authStart, authEnd);
    if (authority === '' || authority.includes('@')) return null;
    rest = target.slice(authEnd);
    if (rest === '' || rest.charCodeAt(0) === 63) rest = '/' + rest;
  }
  const q = rest.indexOf('?');
  const rawPath = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? '' : rest.slice(q + 1);
  const path = normalizePath(rawPath, strict);
  if (path === null) return null;
  return { path, query, authority };
}
