/**
 * Helpers shared by the bearer-token plugins (jwt, oauth2-introspection): finding a token in a cookie or
 * the query without parsing the rest, removing it before proxying, and rendering claims as header values.
 */

export { cookieValue } from '../../proxy/headers.js';

/** Value of one query parameter (percent-decoded); undefined when absent or badly encoded. */
export function queryValue(query: string, name: string): string | undefined {
  let i = 0;
  while (i < query.length) {
    const end = query.indexOf('&', i);
    const stop = end === -1 ? query.length : end;
    if (query.startsWith(name, i) && query.charCodeAt(i + name.length) === 61) {
      try {
        return decodeURIComponent(query.slice(i + name.length + 1, stop));
      } catch {
        return undefined;
      }
    }
    i = stop + 1;
  }
  return undefined;
}

export function withoutQueryParam(query: string, name: string): string {
  return query
    .split('&')
    .filter((p) => !(p.startsWith(name) && p.charCodeAt(name.length) === 61))
    .join('&');
}

export function withoutCookie(header: string, name: string): string {
  return header
    .split(';')
    .map((c) => c.trim())
    .filter((c) => !(c.startsWith(name) && c.charCodeAt(name.length) === 61))
    .join('; ');
}

/** Header-safe rendering of a claim (undefined when it cannot be sent as a header value). */
export function claimHeaderValue(v: unknown): string | undefined {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'boolean') s = String(v);
  else if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) s = v.join(',');
  else if (v !== null && typeof v === 'object') s = JSON.stringify(v);
  else return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 9) || c === 0x7f || c > 0xff) return undefined;
  }
  return s;
}
