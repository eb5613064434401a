/**
 * The access log: one JSON line per request, written when the exchange is over (RequestObserver.end).
 *
 * The line is built by hand and handed to the sinks (log-sinks.ts, asynchronous): pino's own
 * `logger.info(obj)` costs an object per request and a generic serialisation pass over it, and
 * access-log.bench.ts measured the hand-built line at about twice its speed for the same bytes. The
 * fields are fixed at start (a bit mask), so `end` only tests bits and concatenates.
 *
 * Secrets never reach the line: no header is logged except User-Agent, the path is logged without its
 * query, and the query (only when the `query` field is enabled) has the values of credential-like
 * parameters replaced by `[redacted]`.
 */
import type { ProxyRequest, RequestObserver } from '../proxy/proxy-request.js';
import type { PluginLogger } from '../plugins/types.js';
import { FileSink, HttpBatchSink, StdoutSink, type LineSink, type SinkStats } from './log-sinks.js';

/** Every field a line can carry, in the order they appear. */
export const ACCESS_LOG_FIELDS = [
  'time',
  'request_id',
  'trace_id',
  'node',
  'client_ip',
  'consumer',
  'route',
  'service',
  'method',
  'host',
  'path',
  'query',
  'status',
  'bytes_in',
  'bytes_out',
  'latency_ms',
  'upstream_latency_ms',
  'gateway_latency_ms',
  'upstream',
  'upstream_error',
  'error_code',
  'cache',
  'breaker',
  'rate_limit',
  'user_agent',
] as const;
export type AccessLogField = (typeof ACCESS_LOG_FIELDS)[number];

/** `query` is opt-in: even redacted, it is where clients put tokens under names nobody predicted. */
export const DEFAULT_ACCESS_LOG_FIELDS: readonly AccessLogField[] = ACCESS_LOG_FIELDS.filter((f) => f !== 'query');

/** Query parameters whose values are always redacted (compared lower-case). */
export const SECRET_QUERY_PARAMS: readonly string[] = [
  'apikey',
  'api_key',
  'api-key',
  'x-api-key',
  'key',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'auth',
  'authorization',
  'client_secret',
  'secret',
  'password',
  'passwd',
  'pwd',
  'signature',
  'sig',
  'session',
  'sessionid',
  'jwt',
  'code',
];

export interface AccessLogSettings {
  /** `stdout`, `off`, or the path of a file (rotated by size). */
  destination: string;
  fields: AccessLogField[];
  /** Rotation of the file destination: bytes before rotating, and rotated files kept. */
  maxSize: number;
  maxFiles: number;
  /** Collector receiving NDJSON batches by POST; undefined: none. */
  httpUrl: string | undefined;
  /** Sent as the Authorization header of the batches (the collector's credential). */
  httpAuthorization: string | undefined;
  /** Query parameter names redacted in addition to SECRET_QUERY_PARAMS. */
  redactParams: string[];
  /** Written as `node` (the node id). */
  nodeId: string;
}

const BIT: Record<AccessLogField, number> = Object.fromEntries(ACCESS_LOG_FIELDS.map((f, i) => [f, 2 ** i])) as Record<AccessLogField, number>;
const F_TIME = BIT.time;
const F_REQUEST_ID = BIT.request_id;
const F_TRACE_ID = BIT.trace_id;
const F_NODE = BIT.node;
const F_CLIENT_IP = BIT.client_ip;
const F_CONSUMER = BIT.consumer;
const F_ROUTE = BIT.route;
const F_SERVICE = BIT.service;
const F_METHOD = BIT.method;
const F_HOST = BIT.host;
const F_PATH = BIT.path;
const F_QUERY = BIT.query;
const F_STATUS = BIT.status;
const F_BYTES_IN = BIT.bytes_in;
const F_BYTES_OUT = BIT.bytes_out;
const F_LATENCY = BIT.latency_ms;
const F_UPSTREAM_LATENCY = BIT.upstream_latency_ms;
const F_GATEWAY_LATENCY = BIT.gateway_latency_ms;
const F_UPSTREAM = BIT.upstream;
const F_UPSTREAM_ERROR = BIT.upstream_error;
const F_ERROR_CODE = BIT.error_code;
const F_CACHE = BIT.cache;
const F_BREAKER = BIT.breaker;
const F_RATE_LIMIT = BIT.rate_limit;
const F_USER_AGENT = BIT.user_agent;

/** Characters JSON cannot carry raw (controls, quote, backslash) and surrogates (lone ones must be escaped). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be found
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** A JSON string literal; the common case (nothing to escape) is one regex test and a concatenation. */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/** `.001` … `.999` without trailing zeros (`.5`, `.05`), and '' for 0: the fraction part of ms3. */
const FRACTIONS: readonly string[] = Array.from({ length: 1000 }, (_, f) => (f === 0 ? '' : `.${String(f).padStart(3, '0')}`.replace(/0+$/, '')));

/**
 * Milliseconds with 3 decimals, as a JSON number: the text of `Math.round(x * 1000) / 1000`, built from
 * integers (turning a fraction into text costs about three times as much; three per line): the whole
 * milliseconds, then the fraction's text from a table.
 */
export function ms3(x: number): string {
  let us = Math.round(x * 1000);
  if (!Number.isSafeInteger(us)) return '' + x;
  let sign = '';
  if (us < 0) {
    sign = '-';
    us = -us;
  }
  const whole = Math.floor(us / 1000);
  return sign + whole + FRACTIONS[us - whole * 1000]!;
}

const RATE_LIMIT_OUTCOME: Partial<Record<string, string>> = {
  GW_ERR_RATE_LIMITED: 'limited',
  GW_ERR_CONCURRENCY_LIMITED: 'concurrency_limited',
  GW_ERR_RATE_LIMIT_UNAVAILABLE: 'unavailable',
};

const PLUS = /\+/g;

/**
 * The query with the values of secret parameters replaced; parameter names are matched decoded and
 * lower-case, so `API%5FKEY=` is caught too. Runs only when the `query` field is enabled.
 */
export function redactQuery(query: string, secret: ReadonlySet<string>): string {
  if (query === '') return '';
  const parts = query.split('&');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const eq = p.indexOf('=');
    let name = eq === -1 ? p : p.slice(0, eq);
    try {
      name = decodeURIComponent(name.replace(PLUS, ' '));
    } catch {
      // A malformed escape: match the raw name.
    }
    if (secret.has(name.toLowerCase()) && eq !== -1) parts[i] = p.slice(0, eq + 1) + '[redacted]';
  }
  return parts.join('&');
}

/** `.000` … `.999`: the milliseconds of an ISO time. */
const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, ms) => `.${String(ms).padStart(3, '0')}Z`);

/**
 * The ISO time of now. Under load most lines fall in a millisecond of their own, and toISOString costs
 * about ten times a concatenation: the text up to the second is made once a second, the milliseconds
 * come from a table.
 */
let lastSecond = -1;
let secondPrefix = '';
export function isoNow(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    // `YYYY-MM-DDTHH:MM:SS` of a full ISO time; years past 9999 (6-digit, signed) keep their own length.
    const iso = new Date(second * 1000).toISOString();
    secondPrefix = iso.slice(0, iso.length - 5);
  }
  return secondPrefix + MILLIS[now - second * 1000]!;
}

/** Date.now() − performance.now(), and when it was taken (performance.now()). */
let clockOffset = 0;
let clockOffsetAt = -Infinity;

/**
 * The wall-clock time (ms) of a recent performance.now() time: a request's end, which its line is written
 * up to a loop turn later (observers.ts). The offset is taken again once a second so that adjustments of
 * the wall clock show in the log as they do in Date.now().
 */
export function wallClockOf(t: number): number {
  if (!(t > 0)) return Date.now();
  if (t - clockOffsetAt > 1000 || t < clockOffsetAt - 1000) {
    clockOffsetAt = performance.now();
    clockOffset = Date.now() - clockOffsetAt;
  }
  return Math.floor(clockOffset + t);
}

/** Formats lines; separate from the sinks so tests and the benchmark can call it alone. */
export class AccessLineFormatter {
  private readonly mask: number;
  private readonly node: string;
  private readonly secret: ReadonlySet<string>;

  constructor(fields: readonly AccessLogField[], nodeId: string, redactParams: readonly string[] = []) {
    let mask = 0;
    for (const f of fields) mask |= BIT[f];
    this.mask = mask;
    this.node = jsonString(nodeId);
    this.secret = new Set([...SECRET_QUERY_PARAMS, ...redactParams.map((p) => p.toLowerCase())]);
  }

  /** One line, newline included. Fields without a value (no route, no upstream attempt…) are left out. */
  format(r: ProxyRequest): string {
    const m = this.mask;
    let s = '{"type":"access"';
    if (m & F_TIME) s += ',"time":"' + isoNow(wallClockOf(r.endedAt)) + '"';
    // Both ids need no escaping: a request id is a UUID or passed isWellFormedRequestId ([A-Za-z0-9._:-]),
    // a trace id is lower-case hex (parsed strictly or generated).
    if (m & F_REQUEST_ID) s += ',"request_id":"' + r.requestId + '"';
    if (m & F_TRACE_ID && r.traceId !== undefined) s += ',"trace_id":"' + r.traceId + '"';
    if (m & F_NODE) s += ',"node":' + this.node;
    if (m & F_CLIENT_IP && r.clientIp !== '') s += ',"client_ip":' + jsonString(r.clientIp);
    if (m & F_CONSUMER && r.consumer !== undefined) s += ',"consumer":' + jsonString(r.consumer.username);
    const route = r.route;
    if (m & F_ROUTE && route !== undefined) s += ',"route":' + jsonString(route.name);
    if (m & F_SERVICE && route !== undefined) {
      const svc = r.serviceName;
      if (svc !== undefined) s += ',"service":' + jsonString(svc);
    }
    if (m & F_METHOD) s += ',"method":' + jsonString(r.method);
    if (m & F_HOST && r.host !== '') s += ',"host":' + jsonString(r.host);
    if (m & F_PATH) s += ',"path":' + jsonString(r.path !== '' ? r.path : pathOf(r.req.url));
    if (m & F_QUERY && r.query !== '') s += ',"query":' + jsonString(redactQuery(r.query, this.secret));
    if (m & F_STATUS) s += ',"status":' + r.status;
    if (m & F_BYTES_IN) {
      const n = r.declaredBodyLength;
      if (n >= 0) s += ',"bytes_in":' + n;
    }
    if (m & F_BYTES_OUT) s += ',"bytes_out":' + r.bytesOut;
    const total = r.endedAt - r.startedAt;
    const upEnd = r.upstreamEndAt !== 0 ? r.upstreamEndAt : r.upstreamHeadAt;
    const upstream = r.upstreamStartAt !== 0 && upEnd !== 0 ? upEnd - r.upstreamStartAt : -1;
    if (m & F_LATENCY) s += ',"latency_ms":' + ms3(total);
    if (m & F_UPSTREAM_LATENCY && upstream >= 0) s += ',"upstream_latency_ms":' + ms3(upstream);
    if (m & F_GATEWAY_LATENCY) s += ',"gateway_latency_ms":' + ms3(upstream >= 0 ? total - upstream : total);
    if (m & F_UPSTREAM && r.targetAddress !== undefined) s += ',"upstream":' + jsonString(r.targetAddress);
    if (m & F_UPSTREAM_ERROR && r.upstreamFailure !== undefined) s += ',"upstream_error":"' + r.upstreamFailure + '"';
    const code = r.errorCode;
    if (code !== undefined) {
      if (m & F_ERROR_CODE) s += ',"error_code":"' + code + '"';
      if (m & F_BREAKER && code === 'GW_ERR_CIRCUIT_OPEN') s += ',"breaker":"open"';
      if (m & F_RATE_LIMIT) {
        const rl = RATE_LIMIT_OUTCOME[code];
        if (rl !== undefined) s += ',"rate_limit":"' + rl + '"';
      }
    }
    if (m & F_CACHE) {
      const c = r.responseHeaders?.['x-cache-status'];
      if (typeof c === 'string') s += ',"cache":' + jsonString(c);
    }
    if (m & F_USER_AGENT) {
      const ua = r.userAgent;
      if (ua !== undefined) s += ',"user_agent":' + jsonString(ua);
    }
    return s + '}\n';
  }
}

/** The path of a request the proxy refused before parsing its target (400, 414): the raw target without the query. */
function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export interface AccessLogStats {
  lines: number;
  sinks: Record<string, SinkStats>;
}

/** The observer: formats each request once and hands the line to every sink. */
export class AccessLog implements RequestObserver {
  private lines = 0;

  constructor(
    private readonly formatter: AccessLineFormatter,
    private readonly sinks: readonly LineSink[],
  ) {}

  begin(): void {}

  end(r: ProxyRequest): void {
    const line = this.formatter.format(r);
    this.lines++;
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) sinks[i]!.write(line);
  }

  stats(): AccessLogStats {
    const sinks: Record<string, SinkStats> = {};
    for (const s of this.sinks) sinks[s.name] = s.stats();
    return { lines: this.lines, sinks };
  }

  /** Writes what is buffered (the HTTP sink sends its last batch) and releases the sinks. */
  async close(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.close()));
  }
}

/** The access log the settings describe; undefined when every sink is off. */
export function createAccessLog(settings: AccessLogSettings, logger: PluginLogger): AccessLog | undefined {
  const sinks: LineSink[] = [];
  const dest = settings.destination;
  if (dest === 'stdout') sinks.push(new StdoutSink(logger));
  else if (dest !== 'off' && dest !== '') sinks.push(new FileSink({ file: dest, maxSize: settings.maxSize, maxFiles: settings.maxFiles, logger }));
  if (settings.httpUrl !== undefined) sinks.push(new HttpBatchSink({ url: settings.httpUrl, authorization: settings.httpAuthorization, logger }));
  if (sinks.length === 0) return undefined;
  return new AccessLog(new AccessLineFormatter(settings.fields, settings.nodeId, settings.redactParams), sinks);
}
