/**
 * Header hygiene shared by the HTTP and WebSocket paths: which request and response headers never
 * cross the gateway, and how the forwarding headers (X-Forwarded-*, Forwarded, Via) are composed.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 hop-by-hop headers plus the proxy-only ones; lower case. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  // Only meaningful with `Upgrade: h2c`, which the gateway never passes on (proxy-server.ts).
  'http2-settings',
]);

/**
 * Request headers the gateway writes itself, so the client's copies are dropped while copying:
 * the forwarding set (re-composed from trust decisions), Host (target or preserved), Via (appended),
 * X-Request-Id (validated), X-Real-IP (set to the resolved client address), Expect (Node answers 100-continue itself; undici refuses to forward it),
 * and the default identity headers of the auth plugins (auth/gate.ts): dropped on EVERY route, with or
 * without an auth plugin, so an upstream that trusts X-Consumer-* can never receive a client's forgery
 * (the auth gate sets the genuine values afterwards through setUpstreamHeader; renamed identity headers
 * are stripped by the gate itself).
 */
export const GATEWAY_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'forwarded',
  'via',
  'x-request-id',
  'x-real-ip',
  'expect',
  'x-consumer-id',
  'x-consumer-username',
  'x-consumer-custom-id',
  'x-consumer-groups',
  'x-credential-identifier',
  'x-anonymous-consumer',
]);

export const VIA_VALUE = '1.1 gatehouse';

/** Splits a Connection header's value into lower-case option names (the extra hop-by-hop headers). */
export function connectionTokens(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const out: string[] = [];
  for (const t of value.split(',')) {
    const n = t.trim().toLowerCase();
    if (n && n !== 'close' && n !== 'keep-alive') out.push(n);
  }
  return out.length ? out : undefined;
}

/** Connection values that name no other header (almost every upstream's), so need no token split. */
const PLAIN_CONNECTION: ReadonlySet<string> = new Set(['keep-alive', 'Keep-Alive', 'close', 'Close']);

/** Removes the fields a Connection value names (hop-by-hop too, RFC 9110 §7.6.1) from a response head. */
export function stripConnectionNamed(h: IncomingHttpHeaders, conn: string): void {
  if (PLAIN_CONNECTION.has(conn)) return;
  const tokens = connectionTokens(conn);
  if (tokens) for (const t of tokens) delete h[t];
}

/** Removes hop-by-hop headers, and those the upstream's Connection header names, from a response head. */
export function stripResponseHopByHop(h: IncomingHttpHeaders): void {
  const conn = h.connection;
  if (conn !== undefined) stripConnectionNamed(h, Array.isArray(conn) ? conn.join(',') : conn);
  for (const name of HOP_BY_HOP) if (h[name] !== undefined) delete h[name];
}

/** An X-Request-Id a trusted hop sent is reused only if it looks like an id, not like an injection. */
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
export function isWellFormedRequestId(v: string): boolean {
  return REQUEST_ID_RE.test(v);
}

/** RFC 7239 node: IPv6 addresses are bracketed and quoted. */
export function forwardedNode(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

/** RFC 9110 tchar, by character code: 1 for the characters a token (a field name, a method) may hold. */
export const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

/** An RFC 9110 token: one or more tchar. */
export function isToken(s: string): boolean {
  if (s === '') return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

const FORWARDED_QUOTED = /["\\]/g;

/** RFC 7239 values are tokens or quoted strings; a Host with a port (`:`) must be quoted. */
export function forwardedValue(v: string): string {
  return isToken(v) ? v : `"${v.replace(FORWARDED_QUOTED, '\\$&')}"`;
}

/**
 * The client address seen through trusted proxies: the right-most X-Forwarded-For entry that is not
 * itself a trusted proxy (entries left of it could have been written by the client).
 */
export function clientFromForwardedFor(xff: string, trusted: { has(ip: string): boolean }): string | undefined {
  const parts = xff.split(',');
  let last: string | undefined;
  for (let i = parts.length - 1; i >= 0; i--) {
    const ip = parts[i]!.trim();
    if (!ip) continue;
    last = ip;
    if (!trusted.has(ip)) return ip;
  }
  return last;
}

/** Value of one cookie in a Cookie header, without splitting the others into an array per request. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let i = 0;
  while (i < header.length) {
    while (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9) i++;
    const end = header.indexOf(';', i);
    const stop = end === -1 ? header.length : end;
    if (header.startsWith(name, i) && header.charCodeAt(i + name.length) === 61) return header.slice(i + name.length + 1, stop).trim();
    i = stop + 1;
  }
  return undefined;
}

/**
 * One request header from the raw list (`lc`: a lower-case name), repeats joined with ", " as Node's
 * `req.headers` joins them. For a plugin that needs one or two headers: reading `req.headers` makes
 * Node build an object of all of them first.
 */
export function rawHeader(raw: readonly string[], lc: string): string | undefined {
  let out: string | undefined;
  const len = lc.length;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== len || (name !== lc && name.toLowerCase() !== lc)) continue;
    out = out === undefined ? raw[i + 1]! : `${out}, ${raw[i + 1]!}`;
  }
  return out;
}
