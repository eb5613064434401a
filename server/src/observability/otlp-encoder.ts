/**
 * A hand-written OTLP/HTTP JSON encoder for the gateway's spans (OTLP 1.x `ExportTraceServiceRequest`,
 * JSON Protobuf encoding: ids as lower-case hex, 64-bit integers and times as decimal strings, enums as
 * integers). It replaces the OpenTelemetry SDK's path (Span objects, then the OTLP transformer's object
 * tree, then JSON.stringify) with string building straight from the proxy's own fields: a recorded
 * request costs a few short string concatenations instead of dozens of objects that outlive the request.
 */

/** OTLP `Span.SpanKind` (the proto's numbering: the API's SpanKind + 1). */
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
/** OTLP `Status.StatusCode`. */
export const STATUS_CODE = { UNSET: 0, OK: 1, ERROR: 2 } as const;

/** OTLP `SpanFlags`: the W3C trace flags in the low byte, and whether the parent's remoteness is known/true. */
const FLAG_SAMPLED = 0x01;
const FLAG_HAS_IS_REMOTE = 0x100;
const FLAG_IS_REMOTE = 0x200;
export const FLAGS_LOCAL_PARENT = FLAG_SAMPLED | FLAG_HAS_IS_REMOTE;
export const FLAGS_REMOTE_PARENT = FLAG_SAMPLED | FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE;

/**
 * One span's fields. The observer fills one preallocated instance per span and encodes it at once, so a
 * recorded request allocates no span objects. `attributes` is already encoded (see attr*), without brackets.
 */
export class SpanFields {
  traceId = '';
  spanId = '';
  /** '' for a root span. */
  parentSpanId = '';
  /** W3C tracestate of the span's context; '' for none. */
  traceState = '';
  name = '';
  kind: number = SPAN_KIND.INTERNAL;
  /** Epoch milliseconds (fractional). */
  startMs = 0;
  endMs = 0;
  attributes = '';
  statusCode: number = STATUS_CODE.UNSET;
  /** Only sent with an ERROR status. */
  statusMessage: string | undefined = undefined;
  flags = FLAGS_LOCAL_PARENT;
}

/** JSON string literal (quotes included). JSON.stringify of a string is a native call, no objects made. */
export const q: (s: string) => string = JSON.stringify;

/** Epoch milliseconds to OTLP's fixed64 nanoseconds as a decimal string, exact to the nanosecond the float allows. */
export function nanos(ms: number): string {
  let s = Math.floor(ms / 1000);
  let ns = Math.round((ms - s * 1000) * 1e6);
  if (ns >= 1e9) {
    s += 1;
    ns -= 1e9;
  }
  if (s <= 0) return String(ns);
  // 1e9 + ns has ten digits; dropping the leading 1 zero-pads ns to nine.
  return `${s}${String(1e9 + ns).slice(1)}`;
}

// Attribute encoders: `{"key":…,"value":{…}}`. Keys are usually constants: attrKey() precomputes their prefix.

/** The encoded `{"key":"<k>","value":` prefix of a key, to compute once per key. */
export function attrKey(key: string): string {
  return `{"key":${q(key)},"value":`;
}

export function attrString(keyPrefix: string, value: string): string {
  return `${keyPrefix}{"stringValue":${q(value)}}}`;
}

/** An integer attribute; proto3 JSON writes int64 as a string. Non-integers are sent as doubles. */
export function attrInt(keyPrefix: string, value: number): string {
  if (!Number.isInteger(value)) return attrDouble(keyPrefix, value);
  return `${keyPrefix}{"intValue":"${value}"}}`;
}

export function attrDouble(keyPrefix: string, value: number): string {
  // NaN and ±Infinity are not JSON numbers; proto3 JSON spells them as strings.
  const v = Number.isFinite(value) ? String(value) : q(Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity');
  return `${keyPrefix}{"doubleValue":${v}}}`;
}

export function attrBool(keyPrefix: string, value: boolean): string {
  return `${keyPrefix}{"boolValue":${value ? 'true' : 'false'}}}`;
}

/** An attribute list from a plain record (resource and scope attributes; not for the hot path). */
export function attributes(record: Readonly<Record<string, string | number | boolean>>): string {
  const out: string[] = [];
  for (const [k, v] of Object.entries(record)) {
    const p = attrKey(k);
    out.push(typeof v === 'string' ? attrString(p, v) : typeof v === 'boolean' ? attrBool(p, v) : attrInt(p, v));
  }
  return out.join(',');
}

/** One span as an OTLP JSON object. Ids are trusted to be lower-case hex (the observer makes or validates them). */
export function encodeSpan(s: SpanFields): string {
  let out = `{"traceId":"${s.traceId}","spanId":"${s.spanId}"`;
  if (s.parentSpanId !== '') out += `,"parentSpanId":"${s.parentSpanId}"`;
  if (s.traceState !== '') out += `,"traceState":${q(s.traceState)}`;
  out += `,"flags":${s.flags},"name":${q(s.name)},"kind":${s.kind},"startTimeUnixNano":"${nanos(s.startMs)}","endTimeUnixNano":"${nanos(s.endMs)}","attributes":[${s.attributes}]`;
  if (s.statusCode === STATUS_CODE.UNSET) return `${out},"status":{}}`;
  if (s.statusMessage === undefined || s.statusMessage === '') return `${out},"status":{"code":${s.statusCode}}}`;
  return `${out},"status":{"code":${s.statusCode},"message":${q(s.statusMessage)}}}`;
}

/**
 * The request envelope around already-encoded spans, split in a head and a tail computed once: a batch is
 * `head + spans.join(',') + tail`. One resource and one instrumentation scope, as the gateway has.
 */
export function envelope(resource: Readonly<Record<string, string | number | boolean>>, scopeName: string, scopeVersion?: string): { head: string; tail: string } {
  const scope = scopeVersion === undefined ? `{"name":${q(scopeName)}}` : `{"name":${q(scopeName)},"version":${q(scopeVersion)}}`;
  return {
    head: `{"resourceSpans":[{"resource":{"attributes":[${attributes(resource)}],"droppedAttributesCount":0},"scopeSpans":[{"scope":${scope},"spans":[`,
    tail: ']}]}]}',
  };
}
