import { describe, expect, it } from 'vitest';
import { attrBool, attrDouble, attrInt, attrKey, attributes, attrString, encodeSpan, envelope, FLAGS_LOCAL_PARENT, FLAGS_REMOTE_PARENT, nanos, SpanFields, SPAN_KIND, STATUS_CODE } from './otlp-encoder.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';

function serverSpan(): SpanFields {
  const f = new SpanFields();
  f.traceId = T;
  f.spanId = '00f067aa0ba902b7';
  f.parentSpanId = 'b7ad6b7169203331';
  f.traceState = 'vendor=abc,other=1';
  f.flags = FLAGS_REMOTE_PARENT;
  f.name = 'GET orders';
  f.kind = SPAN_KIND.SERVER;
  f.startMs = 1764190801000.25;
  f.endMs = 1764190801012.5;
  f.attributes = [attrString(attrKey('http.request.method'), 'GET'), attrInt(attrKey('http.response.status_code'), 502), attrBool(attrKey('gatehouse.aborted'), false)].join(',');
  f.statusCode = STATUS_CODE.ERROR;
  f.statusMessage = 'GW_ERR_UPSTREAM_UNAVAILABLE';
  return f;
}

describe('OTLP JSON span encoding', () => {
  it('encodes a span exactly as the golden OTLP/JSON text', () => {
    expect(encodeSpan(serverSpan())).toBe(
      '{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","parentSpanId":"b7ad6b7169203331","traceState":"vendor=abc,other=1",' +
        '"flags":769,"name":"GET orders","kind":2,"startTimeUnixNano":"1764190801000250000","endTimeUnixNano":"1764190801012500000",' +
        '"attributes":[{"key":"http.request.method","value":{"stringValue":"GET"}},{"key":"http.response.status_code","value":{"intValue":"502"}},' +
        '{"key":"gatehouse.aborted","value":{"boolValue":false}}],"status":{"code":2,"message":"GW_ERR_UPSTREAM_UNAVAILABLE"}}',
    );
  });

  it('leaves out what a child or unset span does not have: parent, tracestate, status', () => {
    const f = serverSpan();
    f.parentSpanId = '';
    f.traceState = '';
    f.flags = FLAGS_LOCAL_PARENT;
    f.kind = SPAN_KIND.INTERNAL;
    f.attributes = '';
    f.statusCode = STATUS_CODE.UNSET;
    const s = JSON.parse(encodeSpan(f)) as Record<string, unknown>;
    expect(s).toEqual({
      traceId: T,
      spanId: '00f067aa0ba902b7',
      flags: 257,
      name: 'GET orders',
      kind: 1,
      startTimeUnixNano: '1764190801000250000',
      endTimeUnixNano: '1764190801012500000',
      attributes: [],
      status: {},
    });
    f.statusCode = STATUS_CODE.ERROR;
    f.statusMessage = undefined;
    expect((JSON.parse(encodeSpan(f)) as { status: unknown }).status).toEqual({ code: 2 });
  });

  it('escapes strings from requests (quotes, backslashes, control and non-ASCII characters) into valid JSON', () => {
    const f = serverSpan();
    const nasty = 'a"b\\c\nd\u0001é😀\ud800';
    f.name = nasty;
    f.attributes = attrString(attrKey('url.path'), nasty);
    f.statusMessage = nasty;
    const s = JSON.parse(encodeSpan(f)) as { name: string; attributes: { value: { stringValue: string } }[]; status: { message: string } };
    // A lone surrogate is escaped (\ud800), so even that survives the round trip.
    expect(s.name).toBe(nasty);
    expect(s.attributes[0]!.value.stringValue).toBe(nasty);
    expect(s.status.message).toBe(nasty);
  });

  it('writes times as exact decimal nanoseconds, carrying rounding into the seconds', () => {
    expect(nanos(1764190801000)).toBe('1764190801000000000');
    // Epoch milliseconds as a double resolve about 0.24 µs today: the string is as exact as the input.
    expect(Number(BigInt(nanos(1764190801123.456)) - 1764190801123456000n)).toBeLessThan(250);
    expect(nanos(1999.9999999)).toBe('2000000000'); // 999.9999999 ms rounds to a whole second
    expect(nanos(1000.000001)).toBe('1000000001');
    expect(nanos(0.5)).toBe('500000');
    // Strictly increasing with the input, digit count fixed: string order is numeric order.
    const a = nanos(1764190801000.001);
    const b = nanos(1764190801000.002);
    expect(BigInt(b) > BigInt(a)).toBe(true);
  });

  it('encodes attribute values by type, as proto3 JSON asks (int64 as strings, non-finite doubles as names)', () => {
    const k = attrKey('x');
    expect(JSON.parse(attrString(k, 'v'))).toEqual({ key: 'x', value: { stringValue: 'v' } });
    expect(JSON.parse(attrInt(k, 443))).toEqual({ key: 'x', value: { intValue: '443' } });
    expect(JSON.parse(attrInt(k, 1.5))).toEqual({ key: 'x', value: { doubleValue: 1.5 } });
    expect(JSON.parse(attrDouble(k, Number.NaN))).toEqual({ key: 'x', value: { doubleValue: 'NaN' } });
    expect(JSON.parse(attrDouble(k, -Infinity))).toEqual({ key: 'x', value: { doubleValue: '-Infinity' } });
    expect(JSON.parse(attrBool(k, true))).toEqual({ key: 'x', value: { boolValue: true } });
    expect(JSON.parse(`[${attributes({ a: 'b', n: 2, t: true })}]`)).toEqual([
      { key: 'a', value: { stringValue: 'b' } },
      { key: 'n', value: { intValue: '2' } },
      { key: 't', value: { boolValue: true } },
    ]);
  });

  it('wraps spans in one ExportTraceServiceRequest with the resource and the scope', () => {
    const { head, tail } = envelope({ 'service.name': 'gw', 'service.instance.id': 'n1' }, 'gatehouse', '1.2.3');
    const body = JSON.parse(`${head}${encodeSpan(serverSpan())},${encodeSpan(serverSpan())}${tail}`) as {
      resourceSpans: { resource: { attributes: unknown[]; droppedAttributesCount: number }; scopeSpans: { scope: unknown; spans: unknown[] }[] }[];
    };
    expect(body.resourceSpans).toHaveLength(1);
    expect(body.resourceSpans[0]!.resource).toEqual({
      attributes: [
        { key: 'service.name', value: { stringValue: 'gw' } },
        { key: 'service.instance.id', value: { stringValue: 'n1' } },
      ],
      droppedAttributesCount: 0,
    });
    expect(body.resourceSpans[0]!.scopeSpans[0]!.scope).toEqual({ name: 'gatehouse', version: '1.2.3' });
    expect(body.resourceSpans[0]!.scopeSpans[0]!.spans).toHaveLength(2);
    expect(envelope({}, 's').head).toContain('"scope":{"name":"s"}');
  });
});
