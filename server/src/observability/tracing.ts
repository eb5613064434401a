/**
 * OpenTelemetry tracing of proxied requests (issue 7).
 *
 * Every request gets a trace id and a span id in `begin` (taken from an incoming W3C `traceparent` or B3
 * context when there is a valid one), and the upstream always receives a `traceparent` naming the gateway
 * as its parent, sampled or not, so services behind the gateway keep the trace. Unsampled requests cost
 * nothing more than that: no span objects, no context objects. For a sampled request `end` encodes the
 * SERVER span, INTERNAL spans for the plugin phases that had plugins and a CLIENT span for the upstream call straight from
 * the proxy's own timings into OTLP JSON (otlp-encoder.ts); a batcher joins them into request bodies and
 * an exporter worker thread POSTs those to the collector (span-export.ts, span-exporter-worker.ts).
 *
 * This replaced the OpenTelemetry JS SDK (TracerProvider, BatchSpanProcessor, OTLPTraceExporter) on the
 * data plane: its per-span objects, OTLP transformation and JSON serialisation in the proxy thread cost
 * 40–75 µs per request at 10% sampling, over a third of the proxy's whole CPU per request. The wire format,
 * the sampling rule (TraceIdRatioBased on the trace id, parent-based) and the propagation are unchanged.
 */
import { randomFillSync } from 'node:crypto';
import type { PluginLogger } from '../plugins/types.js';
import { PHASE_ACCESS, PHASE_REWRITE, PHASE_UPSTREAM, type ProxyRequest, type RequestObserver } from '../proxy/proxy-request.js';
import { GATEHOUSE_VERSION } from '../version.js';
import { attrBool, attrInt, attrKey, attrString, encodeSpan, envelope, FLAGS_LOCAL_PARENT, FLAGS_REMOTE_PARENT, SpanFields, SPAN_KIND, STATUS_CODE } from './otlp-encoder.js';
import { ExportReporter, senderOptionsFromEnv, SpanBatcher, WorkerSpanTransport, type ExportCounters, type SpanTransport } from './span-export.js';

/** Context formats read from requests and written upstream: `b3` is the single header, `b3multi` the X-B3-* set. */
export type Propagation = 'w3c' | 'b3' | 'b3multi';

/** Tracing settings from the environment (config/env.ts); they reach the proxy worker through ProxyWorkerData. */
export interface TracingSettings {
  /** Full URL of the OTLP/HTTP traces endpoint (…/v1/traces). */
  endpoint: string;
  /** Share of new traces recorded, 0–1, decided on the trace id like OTel's TraceIdRatioBased sampler. */
  sampleRatio: number;
  /** Follow the caller's sampled flag when it sent one (OTel's parentbased_* samplers). */
  parentBased: boolean;
  /** Formats read (first valid one wins, in this order) and written upstream. */
  propagation: Propagation[];
  /** `service.name` of the spans. */
  serviceName: string;
  /** Export batching (OTEL_BSP_*): delay before a partial batch is sent (ms), and the most spans waiting
   * for export; more are dropped. */
  exportDelayMs: number;
  maxQueueSize: number;
}

// ---- ids ------------------------------------------------------------------------------------------

const POOL_BYTES = 8192;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let poolOffset = POOL_BYTES;
const ZERO_SPAN = '0000000000000000';
const ZERO_TRACE = '00000000000000000000000000000000';

/** A byte as two lower-case hex digits. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/**
 * Random ids come from a pooled CSPRNG buffer: one randomFillSync per few hundred requests. The hex text is
 * built from a table, not with `Buffer#toString('hex')`: that call measured +7.7% CPU per request on the
 * proxy thread for the two ids of an unsampled request (paired runs against tracing off; +1.4% with the
 * table), far above its 0.3 µs in a microbenchmark.
 */
function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const end = poolOffset + bytes;
  let s = '';
  for (let i = poolOffset; i < end; i++) s += HEX_BYTE[pool[i]!]!;
  poolOffset = end;
  return s;
}

export function newSpanId(): string {
  let id = randomHex(8);
  // All-zero ids are invalid (W3C); with 2^-64 odds one retry is enough in practice, but loop to be exact.
  while (id === ZERO_SPAN) id = randomHex(8);
  return id;
}

export function newTraceId(): string {
  let id = randomHex(16);
  while (id === ZERO_TRACE) id = randomHex(16);
  return id;
}

// ---- propagation parsing --------------------------------------------------------------------------

const HEX = new Uint8Array(128);
for (let c = 48; c <= 57; c++) HEX[c] = 1;
for (let c = 97; c <= 102; c++) HEX[c] = 1;

/** Lower-case hex in [from, to) and not all zeros (W3C and B3 both reject all-zero ids). */
function isNonZeroHex(s: string, from: number, to: number): boolean {
  let nonZero = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || HEX[c] === 0) return false;
    if (c !== 48) nonZero = true;
  }
  return nonZero;
}

function hexByte(s: string, i: number): number {
  const a = s.charCodeAt(i);
  const b = s.charCodeAt(i + 1);
  if (a > 127 || b > 127 || HEX[a] === 0 || HEX[b] === 0) return -1;
  return ((a < 58 ? a - 48 : a - 87) << 4) | (b < 58 ? b - 48 : b - 87);
}

/** A caller's trace context; `sampled` is -1 when the caller left the decision to us (B3 without a flag). */
export class Extracted {
  traceId = '';
  parentId = '';
  sampled: -1 | 0 | 1 = -1;
  reset(): void {
    this.traceId = '';
    this.parentId = '';
    this.sampled = -1;
  }
}

/**
 * W3C Trace Context `traceparent` (version-traceid-parentid-flags). Version 00 must be exactly 55
 * characters; a later version may append fields after a dash, and ff is forbidden. Upper-case hex and
 * all-zero ids are invalid; an invalid header is ignored as if absent (the gateway starts a new trace).
 */
export function parseTraceparent(v: string, out: Extracted): boolean {
  if (v.length < 55) return false;
  const version = hexByte(v, 0);
  if (version === -1 || version === 0xff) return false;
  if (version === 0 ? v.length !== 55 : v.length > 55 && v.charCodeAt(55) !== 45) return false;
  if (v.charCodeAt(2) !== 45 || v.charCodeAt(35) !== 45 || v.charCodeAt(52) !== 45) return false;
  if (!isNonZeroHex(v, 3, 35) || !isNonZeroHex(v, 36, 52)) return false;
  const flags = hexByte(v, 53);
  if (flags === -1) return false;
  out.traceId = v.slice(3, 35);
  out.parentId = v.slice(36, 52);
  out.sampled = (flags & 1) === 1 ? 1 : 0;
  return true;
}

/** W3C limits: at most 32 list members; 512 characters is the size every hop must be able to forward. */
export const TRACESTATE_MAX_LENGTH = 512;
const TRACESTATE_MAX_MEMBERS = 32;
const TRACESTATE_MEMBER_MAX = 128;

/**
 * The `tracestate` to forward, or undefined to drop it. Within the limits it passes through untouched;
 * a longer one is cut the way the spec asks (members over 128 characters first, then from the end), and
 * one with more than 32 members is malformed and dropped.
 */
export function boundTracestate(v: string): string | undefined {
  if (v.length <= TRACESTATE_MAX_LENGTH) {
    // Fewer than 32 commas cannot make more than 32 members: the common case needs no split.
    let commas = 0;
    for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) === 44) commas++;
    if (commas < TRACESTATE_MAX_MEMBERS) return v;
  }
  const members = v
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  if (members.length > TRACESTATE_MAX_MEMBERS) return undefined;
  let kept = members.filter((m) => m.length <= TRACESTATE_MEMBER_MAX);
  let out = kept.join(',');
  while (out.length > TRACESTATE_MAX_LENGTH && kept.length > 0) {
    kept = kept.slice(0, -1);
    out = kept.join(',');
  }
  return out === '' ? undefined : out;
}

/** B3 trace ids are 16 or 32 hex characters; 64-bit ones are left-padded to 128 bits. */
function b3TraceId(v: string, from: number, to: number): string | undefined {
  const n = to - from;
  if ((n !== 16 && n !== 32) || !isNonZeroHex(v, from, to)) return undefined;
  return n === 32 ? v.slice(from, to) : ZERO_SPAN + v.slice(from, to);
}

function b3SamplingState(c: string): -1 | 0 | 1 | undefined {
  if (c === '1' || c === 'd') return 1;
  if (c === '0') return 0;
  return undefined;
}

/**
 * The single `b3` header: `{traceid}-{spanid}[-{sampled}[-{parentspanid}]]`, or a bare sampling state
 * (`0`, `1`, `d`), which carries a decision without a context.
 */
export function parseB3Single(v: string, out: Extracted): boolean {
  if (v.length === 1) {
    const s = b3SamplingState(v);
    if (s === undefined) return false;
    out.sampled = s;
    return true;
  }
  const d1 = v.indexOf('-');
  if (d1 === -1) return false;
  const traceId = b3TraceId(v, 0, d1);
  if (traceId === undefined) return false;
  let d2 = v.indexOf('-', d1 + 1);
  if (d2 === -1) d2 = v.length;
  if (d2 - d1 - 1 !== 16 || !isNonZeroHex(v, d1 + 1, d2)) return false;
  let sampled: -1 | 0 | 1 = -1;
  if (d2 < v.length) {
    const d3 = v.indexOf('-', d2 + 1);
    const end = d3 === -1 ? v.length : d3;
    if (end - d2 - 1 !== 1) return false;
    const s = b3SamplingState(v[d2 + 1]!);
    if (s === undefined) return false;
    sampled = s;
    if (d3 !== -1 && (v.length - d3 - 1 !== 16 || !isNonZeroHex(v, d3 + 1, v.length))) return false;
  }
  out.traceId = traceId;
  out.parentId = v.slice(d1 + 1, d2);
  out.sampled = sampled;
  return true;
}

/** The X-B3-* headers: TraceId and SpanId, with Sampled (1/0, or the legacy true/false) and Flags (1 = debug). */
export function parseB3Multi(traceIdH: string | undefined, spanIdH: string | undefined, sampledH: string | undefined, flagsH: string | undefined, out: Extracted): boolean {
  let sampled: -1 | 0 | 1 = -1;
  if (flagsH === '1') sampled = 1;
  else if (sampledH !== undefined) {
    if (sampledH === '1' || sampledH.toLowerCase() === 'true') sampled = 1;
    else if (sampledH === '0' || sampledH.toLowerCase() === 'false') sampled = 0;
  }
  if (traceIdH === undefined || spanIdH === undefined) {
    // A decision without a context is valid; half a context is not.
    if (sampled === -1 || traceIdH !== undefined || spanIdH !== undefined) return false;
    out.sampled = sampled;
    return true;
  }
  const traceId = b3TraceId(traceIdH, 0, traceIdH.length);
  if (traceId === undefined || spanIdH.length !== 16 || !isNonZeroHex(spanIdH, 0, 16)) return false;
  out.traceId = traceId;
  out.parentId = spanIdH;
  out.sampled = sampled;
  return true;
}

// ---- sampling -------------------------------------------------------------------------------------

/** OTel's TraceIdRatioBased rule (XOR of the id's four 32-bit words under ratio·2^32), so the gateway and
 * OTel JS services at the same ratio make the same decision for a trace. */
export function ratioBound(ratio: number): number {
  if (!(ratio > 0)) return 0;
  return ratio >= 1 ? 4294967296 : Math.floor(ratio * 4294967295);
}

export function traceIdHash(traceId: string): number {
  let acc = 0;
  for (let i = 0; i < 32; i += 8) {
    let part = 0;
    for (let j = 0; j < 8; j++) {
      const c = traceId.charCodeAt(i + j);
      part = (part << 4) | (c < 58 ? c - 48 : c - 87);
    }
    acc = (acc ^ part) >>> 0;
  }
  return acc;
}

// ---- the observer ---------------------------------------------------------------------------------

/** What `end` needs of a sampled request; unsampled requests carry nothing. */
class SampledTrace {
  constructor(
    readonly clientSpanId: string,
    /** The caller's span, when the trace came in from outside; '' for a new trace. */
    readonly parentId: string,
    readonly tracestate: string | undefined,
  ) {}
}

const KNOWN_METHODS: readonly string[] = ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'QUERY', 'TRACE'];

// Attribute keys, encoded once (OpenTelemetry HTTP semantic conventions, stable).
const K_METHOD = attrKey('http.request.method');
const K_METHOD_ORIGINAL = attrKey('http.request.method_original');
const K_URL_PATH = attrKey('url.path');
const K_URL_SCHEME = attrKey('url.scheme');
const K_SERVER_ADDRESS = attrKey('server.address');
const K_SERVER_PORT = attrKey('server.port');
const K_CLIENT_ADDRESS = attrKey('client.address');
const K_ROUTE = attrKey('http.route');
const K_STATUS = attrKey('http.response.status_code');
const K_USER_AGENT = attrKey('user_agent.original');
const K_ERROR_TYPE = attrKey('error.type');
const K_REQUEST_ID = attrKey('gatehouse.request_id');
const K_GW_ROUTE = attrKey('gatehouse.route');
const K_GW_SERVICE = attrKey('gatehouse.service');
const K_CONSUMER = attrKey('gatehouse.consumer');
const K_ERROR_CODE = attrKey('gatehouse.error_code');
const K_ABORTED = attrKey('gatehouse.aborted');

/** `http.request.method` attributes of the known methods, encoded once; anything else is `_OTHER`. */
const METHOD_ATTR = new Map(KNOWN_METHODS.map((m) => [m, attrString(K_METHOD, m)]));
const OTHER_METHOD_ATTR = attrString(K_METHOD, '_OTHER');
const SCHEME_HTTP = attrString(K_URL_SCHEME, 'http');
const SCHEME_HTTPS = attrString(K_URL_SCHEME, 'https');
const ABORTED = attrBool(K_ABORTED, true);

export interface TracingOptions {
  /** `service.instance.id` (the node id). */
  instanceId?: string;
  /** Replaces the exporter worker (the benchmark measures the request path without a network). */
  transport?: SpanTransport;
}

export class TracingObserver implements RequestObserver {
  private readonly ex = new Extracted();
  /** The one span being encoded; spans are encoded one after the other, synchronously. */
  private readonly f = new SpanFields();
  private readonly batcher: SpanBatcher;
  private readonly transport: SpanTransport;
  private readonly reporter: ExportReporter;
  private readonly bound: number;
  private readonly parentBased: boolean;
  private readonly readW3c: boolean;
  private readonly readB3: boolean;
  private readonly w3cFirst: boolean;
  private readonly writeW3c: boolean;
  private readonly writeB3: boolean;
  private readonly writeB3Multi: boolean;
  private closed = false;

  constructor(
    readonly settings: TracingSettings,
    logger: PluginLogger,
    opts: TracingOptions = {},
  ) {
    const p = settings.propagation;
    this.writeW3c = p.includes('w3c');
    this.writeB3 = p.includes('b3');
    this.writeB3Multi = p.includes('b3multi');
    this.readW3c = this.writeW3c;
    this.readB3 = this.writeB3 || this.writeB3Multi;
    const firstB3 = p.findIndex((f) => f !== 'w3c');
    this.w3cFirst = this.readW3c && (firstB3 === -1 || p.indexOf('w3c') < firstB3);
    this.bound = ratioBound(settings.sampleRatio);
    this.parentBased = settings.parentBased;
    this.reporter = new ExportReporter(logger, settings.endpoint);
    this.transport = opts.transport ?? new WorkerSpanTransport(senderOptionsFromEnv(settings.endpoint, settings.maxQueueSize), this.reporter, logger);
    const resource: Record<string, string> = { 'service.name': settings.serviceName };
    if (opts.instanceId) resource['service.instance.id'] = opts.instanceId;
    // Not the OpenTelemetry SDK any more: the semantic conventions ask an SDK of its own to name itself.
    resource['telemetry.sdk.name'] = 'gatehouse';
    resource['telemetry.sdk.language'] = 'nodejs';
    resource['telemetry.sdk.version'] = GATEHOUSE_VERSION;
    const { head, tail } = envelope(resource, 'gatehouse', GATEHOUSE_VERSION);
    this.batcher = new SpanBatcher(this.transport, head, tail, Math.min(512, settings.maxQueueSize), settings.exportDelayMs);
  }

  /** Spans sent to the exporter, dropped by its full queue, and lost to failed exports, since the start. */
  get exportCounters(): Readonly<ExportCounters> {
    return this.reporter.counters;
  }

  begin(req: ProxyRequest): void {
    const ex = this.ex;
    ex.reset();
    // One pass over the raw headers; names are checked by length first so most cost one comparison.
    const raw = req.req.rawHeaders;
    let tp: string | undefined;
    let ts: string | undefined;
    let b3: string | undefined;
    let xTrace: string | undefined;
    let xSpan: string | undefined;
    let xSampled: string | undefined;
    let xFlags: string | undefined;
    let xParent = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const len = name.length;
      if (len === 11) {
        const lc = name.toLowerCase();
        if (lc === 'traceparent') tp = tp === undefined ? raw[i + 1]! : `${tp},${raw[i + 1]!}`;
        else if (lc === 'x-b3-spanid') xSpan = raw[i + 1];
      } else if (len === 10) {
        const lc = name.toLowerCase();
        if (lc === 'tracestate') ts = ts === undefined ? raw[i + 1]! : `${ts},${raw[i + 1]!}`;
        else if (lc === 'x-b3-flags') xFlags = raw[i + 1];
      } else if (len === 2) {
        if (name === 'b3' || name === 'B3') b3 = raw[i + 1];
      } else if (len === 12) {
        const lc = name.toLowerCase();
        if (lc === 'x-b3-traceid') xTrace = raw[i + 1];
        else if (lc === 'x-b3-sampled') xSampled = raw[i + 1];
      } else if (len === 17 && name.toLowerCase() === 'x-b3-parentspanid') xParent = true;
    }

    let fromW3c = false;
    if (this.readW3c && this.w3cFirst && tp !== undefined) fromW3c = parseTraceparent(tp, ex);
    if (!fromW3c && this.readB3) {
      if (b3 === undefined || !parseB3Single(b3, ex)) {
        ex.reset();
        if (xTrace !== undefined || xSampled !== undefined || xFlags !== undefined) {
          if (!parseB3Multi(xTrace, xSpan, xSampled, xFlags, ex)) ex.reset();
        }
      }
    }
    if (!fromW3c && ex.traceId === '' && this.readW3c && !this.w3cFirst && tp !== undefined) {
      fromW3c = parseTraceparent(tp, ex);
      if (!fromW3c) ex.reset();
    }

    const traceId = ex.traceId !== '' ? ex.traceId : newTraceId();
    const sampled =
      !this.closed && (this.parentBased && ex.sampled !== -1 ? ex.sampled === 1 : this.bound === 4294967296 || (this.bound !== 0 && traceIdHash(traceId) < this.bound));
    const spanId = newSpanId();
    req.traceId = traceId;
    req.spanId = spanId;
    // The upstream's parent: the gateway's CLIENT span when it will be recorded; unsampled, nothing is
    // recorded, so the request's own span id stands in (one id fewer to make).
    let upstreamParent = spanId;
    let tracestate: string | undefined;
    if (fromW3c && ts !== undefined) tracestate = boundTracestate(ts);
    if (sampled) {
      upstreamParent = newSpanId();
      req.observed = new SampledTrace(upstreamParent, ex.parentId, tracestate);
    }

    if (this.writeW3c) {
      req.setUpstreamHeader('traceparent', sampled ? `00-${traceId}-${upstreamParent}-01` : `00-${traceId}-${upstreamParent}-00`);
      // The caller's tracestate belongs to the caller's traceparent: forwarded with it (within bounds),
      // dropped when that traceparent was invalid or absent.
      if (ts !== undefined) {
        if (tracestate === undefined) req.removeUpstreamHeader('tracestate');
        else if (tracestate !== ts) req.setUpstreamHeader('tracestate', tracestate);
      }
    }
    if (this.writeB3) {
      req.setUpstreamHeader('b3', sampled ? `${traceId}-${upstreamParent}-1` : `${traceId}-${upstreamParent}-0`);
    }
    if (this.writeB3Multi) {
      req.setUpstreamHeader('x-b3-traceid', traceId);
      req.setUpstreamHeader('x-b3-spanid', upstreamParent);
      req.setUpstreamHeader('x-b3-sampled', sampled ? '1' : '0');
      // The caller's parent and debug flag describe its hop, not ours.
      if (xParent) req.removeUpstreamHeader('x-b3-parentspanid');
      if (xFlags !== undefined) req.removeUpstreamHeader('x-b3-flags');
    } else if (this.writeB3 && (xTrace !== undefined || xSpan !== undefined || xSampled !== undefined || xParent || xFlags !== undefined)) {
      // Stale X-B3-* next to the fresh `b3` would give the upstream two contexts.
      req.removeUpstreamHeader('x-b3-traceid');
      req.removeUpstreamHeader('x-b3-spanid');
      req.removeUpstreamHeader('x-b3-sampled');
      req.removeUpstreamHeader('x-b3-parentspanid');
      req.removeUpstreamHeader('x-b3-flags');
    }
  }

  end(req: ProxyRequest): void {
    const st = req.observed;
    if (!(st instanceof SampledTrace)) return;
    req.observed = undefined;
    if (this.closed) return;
    this.record(req, st);
  }

  /** Encodes the request's spans from the recorded timings (performance.now() ms) and queues them for export. */
  private record(req: ProxyRequest, st: SampledTrace): void {
    // One wall-clock anchor per request keeps its spans consistent with each other.
    const anchor = Date.now() - performance.now();
    const f = this.f;
    const traceId = req.traceId!;
    const serverId = req.spanId!;
    const endedAt = req.endedAt || performance.now();
    const status = req.status;

    const methodAttr = METHOD_ATTR.get(req.method);
    const method = methodAttr !== undefined ? req.method : '_OTHER';
    const route = req.route;
    let a = `${methodAttr ?? `${OTHER_METHOD_ATTR},${attrString(K_METHOD_ORIGINAL, req.method)}`},${attrString(K_URL_PATH, req.path)},${
      (req.req.socket as { encrypted?: boolean }).encrypted ? SCHEME_HTTPS : SCHEME_HTTP
    },${attrString(K_SERVER_ADDRESS, req.host)},${attrString(K_CLIENT_ADDRESS, req.clientIp)},${attrString(K_REQUEST_ID, req.requestId)}`;
    if (req.port !== '') a += `,${attrInt(K_SERVER_PORT, Number(req.port))}`;
    if (route !== undefined) a += `,${attrString(K_ROUTE, route.name)},${attrString(K_GW_ROUTE, route.name)}`;
    const service = req.serviceName;
    if (service !== undefined) a += `,${attrString(K_GW_SERVICE, service)}`;
    if (req.consumer !== undefined) a += `,${attrString(K_CONSUMER, req.consumer.username)}`;
    if (status > 0) a += `,${attrInt(K_STATUS, status)}`;
    if (req.errorCode !== undefined) a += `,${attrString(K_ERROR_CODE, req.errorCode)}`;
    const ua = req.userAgent;
    if (ua !== undefined) a += `,${attrString(K_USER_AGENT, ua)}`;
    // HTTP semantic conventions: a SERVER span is an error for 5xx only (4xx are the caller's problem).
    const serverError = status >= 500;
    if (serverError) a += `,${attrString(K_ERROR_TYPE, req.errorCode ?? String(status))}`;
    else if (status === 0) a += `,${ABORTED}`;

    f.traceId = traceId;
    f.spanId = serverId;
    f.parentSpanId = st.parentId;
    f.traceState = st.tracestate ?? '';
    f.flags = st.parentId !== '' ? FLAGS_REMOTE_PARENT : FLAGS_LOCAL_PARENT;
    f.name = route !== undefined ? `${method} ${route.name}` : method;
    f.kind = SPAN_KIND.SERVER;
    f.startMs = anchor + req.startedAt;
    f.endMs = anchor + endedAt;
    f.attributes = a;
    f.statusCode = serverError ? STATUS_CODE.ERROR : STATUS_CODE.UNSET;
    f.statusMessage = req.errorCode;
    let out = encodeSpan(f);
    let count = 1;

    // Children share the trace id, the tracestate and the local parent.
    f.parentSpanId = serverId;
    f.flags = FLAGS_LOCAL_PARENT;
    // Plugin phases that had plugins to run (an empty phase is only noise in a trace, and a third of the
    // encoding): each runs from the end of the previous step to its own end, or to the answer when a
    // plugin (or the router) answered in it.
    const phases = req.pluginPhases;
    if (phases & PHASE_REWRITE) {
      out += `,${this.phase(anchor, 'gatehouse.rewrite_route', req.startedAt, req.routedAt || endedAt)}`;
      count++;
    }
    if (phases & PHASE_ACCESS && req.routedAt > 0) {
      out += `,${this.phase(anchor, 'gatehouse.access', req.routedAt, req.accessDoneAt || endedAt)}`;
      count++;
    }
    if (phases & PHASE_UPSTREAM && req.accessDoneAt > 0) {
      out += `,${this.phase(anchor, 'gatehouse.upstream_phase', req.accessDoneAt, req.upstreamPhaseDoneAt || endedAt)}`;
      count++;
    }
    if (req.upstreamStartAt > 0) {
      out += `,${this.upstream(req, st, anchor, endedAt, method)}`;
      count++;
    }
    this.batcher.add(out, count);
  }

  private phase(anchor: number, name: string, from: number, to: number): string {
    const f = this.f;
    f.spanId = newSpanId();
    f.name = name;
    f.kind = SPAN_KIND.INTERNAL;
    f.startMs = anchor + from;
    f.endMs = anchor + to;
    f.attributes = '';
    f.statusCode = STATUS_CODE.UNSET;
    f.statusMessage = undefined;
    return encodeSpan(f);
  }

  private upstream(req: ProxyRequest, st: SampledTrace, anchor: number, endedAt: number, method: string): string {
    let a = METHOD_ATTR.get(req.method) ?? OTHER_METHOD_ATTR;
    const target = req.targetAddress;
    if (target !== undefined) {
      const colon = target.lastIndexOf(':');
      a += `,${attrString(K_SERVER_ADDRESS, colon === -1 ? target : target.slice(0, colon))}`;
      if (colon !== -1) a += `,${attrInt(K_SERVER_PORT, Number(target.slice(colon + 1)))}`;
    }
    const service = req.serviceName;
    if (service !== undefined) a += `,${attrString(K_GW_SERVICE, service)}`;
    const answered = req.upstreamHeadAt > 0;
    if (answered) a += `,${attrInt(K_STATUS, req.status)}`;
    const failure = req.upstreamFailure;
    let error: string | undefined;
    if (failure !== undefined) error = failure;
    else if (answered && req.status >= 500) error = String(req.status);
    if (error !== undefined) a += `,${attrString(K_ERROR_TYPE, error)}`;
    const f = this.f;
    f.spanId = st.clientSpanId;
    f.name = method;
    f.kind = SPAN_KIND.CLIENT;
    f.startMs = anchor + req.upstreamStartAt;
    f.endMs = anchor + (req.upstreamEndAt || endedAt);
    f.attributes = a;
    f.statusCode = error !== undefined ? STATUS_CODE.ERROR : STATUS_CODE.UNSET;
    f.statusMessage = failure;
    return encodeSpan(f);
  }

  /** Sends what is waiting and waits until the exporter has exported it; rejects when spans were lost. */
  async forceFlush(): Promise<void> {
    this.batcher.flush();
    const lost = await this.transport.flush();
    if (lost > 0) throw new Error(`${lost} spans could not be exported (see the 'trace export failed' warning)`);
  }

  /**
   * Exports what is waiting (for at most `timeoutMs`), then stops the exporter. Requests ending after
   * this are not recorded.
   */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.batcher.flush();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.transport.flush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await this.transport.close();
  }
}
