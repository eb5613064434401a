import { ROOT_CONTEXT } from '@opentelemetry/api';
import { TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'node:http';
import { deadPort, MemoryLogger, send, startGateway, startUpstream, type EchoBody, type Gateway, type Reply, type Upstream } from '../proxy/test-support/harness.js';
import type { ProxyRequest, RequestObserver } from '../proxy/proxy-request.js';
import { composeObservers } from './observers.js';
import { KIND, OtlpReceiver, type ReceivedSpan } from './test-support/otlp-receiver.js';
import {
  boundTracestate,
  Extracted,
  newSpanId,
  newTraceId,
  parseB3Multi,
  parseB3Single,
  parseTraceparent,
  ratioBound,
  traceIdHash,
  TracingObserver,
  type TracingSettings,
} from './tracing.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const P = '00f067aa0ba902b7';

function tp(v: string): Extracted | undefined {
  const ex = new Extracted();
  return parseTraceparent(v, ex) ? ex : undefined;
}

describe('traceparent parsing', () => {
  it('reads a valid version-00 header, sampled or not', () => {
    expect(tp(`00-${T}-${P}-01`)).toMatchObject({ traceId: T, parentId: P, sampled: 1 });
    expect(tp(`00-${T}-${P}-00`)).toMatchObject({ traceId: T, parentId: P, sampled: 0 });
    // Only bit 0 is the sampled flag; other bits do not make it sampled.
    expect(tp(`00-${T}-${P}-02`)).toMatchObject({ sampled: 0 });
    expect(tp(`00-${T}-${P}-03`)).toMatchObject({ sampled: 1 });
  });

  it('rejects version ff, all-zero ids, upper-case or non-hex characters and bad lengths', () => {
    expect(tp(`ff-${T}-${P}-01`)).toBeUndefined();
    expect(tp(`00-${'0'.repeat(32)}-${P}-01`)).toBeUndefined();
    expect(tp(`00-${T}-${'0'.repeat(16)}-01`)).toBeUndefined();
    expect(tp(`00-${T.toUpperCase()}-${P}-01`)).toBeUndefined();
    expect(tp(`00-${T}-${P}-0g`)).toBeUndefined();
    expect(tp(`0x-${T}-${P}-01`)).toBeUndefined();
    expect(tp(`00-${T}-${P}-01-extra`)).toBeUndefined(); // version 00 has exactly four fields
    expect(tp(`00-${T}-${P}-1`)).toBeUndefined();
    expect(tp(`00_${T}-${P}-01`)).toBeUndefined();
    expect(tp(`00-${T}-${P}-01,00-${T}-${P}-01`)).toBeUndefined(); // two headers joined
    expect(tp('')).toBeUndefined();
  });

  it('accepts a later version with extra fields, but only after a dash', () => {
    expect(tp(`01-${T}-${P}-01-what-the-future-holds`)).toMatchObject({ traceId: T, parentId: P, sampled: 1 });
    expect(tp(`01-${T}-${P}-01`)).toMatchObject({ traceId: T });
    expect(tp(`01-${T}-${P}-01x`)).toBeUndefined();
  });
});

describe('tracestate bounds', () => {
  it('passes a header within the limits through unchanged', () => {
    const v = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';
    expect(boundTracestate(v)).toBe(v);
  });

  it('drops a header with more than 32 members', () => {
    const v = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',');
    expect(boundTracestate(v)).toBeUndefined();
    expect(boundTracestate(Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(','))).toBeDefined();
  });

  it('cuts an over-long header: members over 128 characters first, then from the end', () => {
    const big = `big=${'x'.repeat(200)}`;
    const small = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, '0')}=${'v'.repeat(23)}`); // 27 characters each
    const out = boundTracestate([small[0], big, ...small.slice(1)].join(','))!;
    expect(out).not.toContain('big=');
    // 18 members and 17 commas make 503 characters; a 19th would pass 512.
    expect(out).toBe(small.slice(0, 18).join(','));
  });
});

describe('B3 parsing', () => {
  const b3 = (v: string): Extracted | undefined => {
    const ex = new Extracted();
    return parseB3Single(v, ex) ? ex : undefined;
  };
  it('reads the single header in all its forms', () => {
    expect(b3(`${T}-${P}-1-${'a'.repeat(16)}`)).toMatchObject({ traceId: T, parentId: P, sampled: 1 });
    expect(b3(`${T}-${P}-0`)).toMatchObject({ traceId: T, parentId: P, sampled: 0 });
    expect(b3(`${T}-${P}-d`)).toMatchObject({ sampled: 1 });
    expect(b3(`${T}-${P}`)).toMatchObject({ traceId: T, parentId: P, sampled: -1 });
    // 64-bit trace ids are left-padded to 128 bits.
    expect(b3(`a3ce929d0e0e4736-${P}-1`)).toMatchObject({ traceId: `0000000000000000a3ce929d0e0e4736` });
    // A bare sampling state carries a decision without a context.
    expect(b3('0')).toMatchObject({ traceId: '', sampled: 0 });
    expect(b3('d')).toMatchObject({ traceId: '', sampled: 1 });
  });
  it('rejects malformed single headers', () => {
    expect(b3(`${T}-${P.slice(1)}-1`)).toBeUndefined();
    expect(b3(`${T.slice(2)}-${P}-1`)).toBeUndefined();
    expect(b3(`${T}-${P}-x`)).toBeUndefined();
    expect(b3(`${T}-${P}-1-short`)).toBeUndefined();
    expect(b3(`${'0'.repeat(32)}-${P}-1`)).toBeUndefined();
    expect(b3(`${T}-${'0'.repeat(16)}-1`)).toBeUndefined();
    expect(b3('2')).toBeUndefined();
  });
  it('reads the multi-header form, with the legacy true/false and the debug flag', () => {
    const m = (t?: string, s?: string, sampled?: string, flags?: string): Extracted | undefined => {
      const ex = new Extracted();
      return parseB3Multi(t, s, sampled, flags, ex) ? ex : undefined;
    };
    expect(m(T, P, '1')).toMatchObject({ traceId: T, parentId: P, sampled: 1 });
    expect(m(T, P, 'false')).toMatchObject({ sampled: 0 });
    expect(m(T, P, 'True')).toMatchObject({ sampled: 1 });
    expect(m(T, P, undefined, '1')).toMatchObject({ sampled: 1 });
    expect(m(T, P)).toMatchObject({ sampled: -1 });
    expect(m(undefined, undefined, '0')).toMatchObject({ traceId: '', sampled: 0 });
    expect(m(T, undefined, '1')).toBeUndefined();
    expect(m(T, 'nothex!!nothex!!', '1')).toBeUndefined();
  });
});

describe('ids and sampling', () => {
  it('makes valid, distinct ids', () => {
    const seen = new Set<string>();
    let bad = 0;
    for (let i = 0; i < 2_000; i++) {
      const t = newTraceId();
      if (!/^[0-9a-f]{32}$/.test(t) || !/^[0-9a-f]{16}$/.test(newSpanId())) bad++;
      seen.add(t);
    }
    expect(bad).toBe(0);
    expect(seen.size).toBe(2_000);
  });

  it('decides on the trace id exactly like OTel’s TraceIdRatioBased sampler', () => {
    for (const ratio of [0, 0.1, 0.25, 0.9, 1]) {
      const sdk = new TraceIdRatioBasedSampler(ratio);
      const bound = ratioBound(ratio);
      let agreed = 0;
      for (let i = 0; i < 2_000; i++) {
        const id = newTraceId();
        const ours = bound === 4294967296 || (bound !== 0 && traceIdHash(id) < bound);
        const theirs = sdk.shouldSample(ROOT_CONTEXT, id).decision === 2;
        if (ours === theirs) agreed++;
      }
      expect(agreed, `ratio ${ratio}`).toBe(2_000);
    }
  });
});

// ---- through the proxy, exported to a stand-in OTLP receiver ----------------------------------------

function settings(receiver: OtlpReceiver, over: Partial<TracingSettings> = {}): TracingSettings {
  return {
    endpoint: receiver.url,
    sampleRatio: 1,
    parentBased: true,
    propagation: ['w3c'],
    serviceName: 'gatehouse-test',
    exportDelayMs: 50,
    maxQueueSize: 4096,
    ...over,
  };
}

const TP_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;
function upstreamTraceparent(body: EchoBody): { traceId: string; parentId: string; flags: string } {
  const v = body.headers.traceparent as string;
  const m = TP_RE.exec(v);
  expect(m, `traceparent ${v}`).not.toBeNull();
  return { traceId: m![1]!, parentId: m![2]!, flags: m![3]! };
}

/** A tracer followed by a probe that records what the other observers (the access log) see in `end`. */
class Traced {
  readonly seen: { requestId: string; traceId: string | undefined; spanId: string | undefined }[] = [];
  readonly observer: RequestObserver;
  constructor(readonly tracer: TracingObserver) {
    const seen = this.seen;
    const probe: RequestObserver = {
      begin() {},
      end(req: ProxyRequest) {
        seen.push({ requestId: req.requestId, traceId: req.traceId, spanId: req.spanId });
      },
    };
    this.observer = composeObservers([tracer, probe], new MemoryLogger())!;
  }
  ids(requestId: unknown): Traced['seen'][number] | undefined {
    return this.seen.find((x) => x.requestId === requestId);
  }
  /**
   * Waits until `end` ran for these requests (it runs once the response's connection side is done), or
   * for `count` requests in all, then exports what is queued.
   */
  async settle(what: Reply[] | number): Promise<void> {
    const done = (): boolean => (typeof what === 'number' ? this.seen.length >= what : what.every((r) => this.ids(r.headers['x-request-id']) !== undefined));
    for (const deadline = Date.now() + 10_000; !done() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
    expect(done(), 'every request ended').toBe(true);
    await this.tracer.forceFlush();
  }
}

/** GET over a keep-alive agent (the load test would otherwise measure connection set-up). */
function get(port: number, path: string, agent: Agent): Promise<EchoBody> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as EchoBody));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const s = spans.find((x) => x.name === name);
  expect(s, `span ${name} in ${spans.map((x) => x.name).join(', ')}`).toBeDefined();
  return s!;
}

describe('tracing through the proxy (real OTLP/HTTP export to a stand-in receiver)', () => {
  let up: Upstream;
  let receiver: OtlpReceiver;
  let tracer: TracingObserver;
  let traced: Traced;
  let gw: Gateway;

  beforeAll(async () => {
    up = await startUpstream();
    receiver = await OtlpReceiver.start();
    tracer = new TracingObserver(settings(receiver), new MemoryLogger(), { instanceId: 'node-1' });
    traced = new Traced(tracer);
    const dead = await deadPort();
    gw = await startGateway(
      {
        services: [
          { name: 'echo', url: `http://${up.address}` },
          { name: 'gone', url: `http://127.0.0.1:${dead}` },
        ],
        routes: [
          { name: 'echo-route', service: 'echo', paths: ['/echo'] },
          { name: 'plain-route', service: 'echo', paths: ['/plain'] },
          { name: 'gone-route', service: 'gone', paths: ['/gone'] },
          { name: 'blocked', service: 'echo', paths: ['/blocked'] },
        ],
        plugins: [
          { name: 'request-termination', route: 'blocked', config: { status_code: 403, message: 'no' } },
          // One plugin in the access phase and one in the upstream phase, so echo-route's trace has their spans.
          { name: 'request-transformer', route: 'echo-route', config: { add: { headers: { 'x-traced': '1' } } } },
          { name: 'circuit-breaker', route: 'echo-route' },
        ],
      },
      [],
      { observer: traced.observer },
    );
  });
  afterAll(async () => {
    await gw.close();
    await tracer.shutdown();
    await receiver.close();
    await up.close();
  });

  it('records a sampled request as SERVER, phase and CLIENT spans whose ids match the traceparent sent upstream', async () => {
    const r = await send(gw.port, '/echo/a?x=1', { headers: { 'user-agent': 'trace-test/1' } });
    expect(r.status).toBe(200);
    const sent = upstreamTraceparent(r.json());
    expect(sent.flags).toBe('01');
    await traced.settle([r]);
    const spans = receiver.trace(sent.traceId);
    // No rewrite plugin ran, so no rewrite span.
    expect(spans.map((s) => s.name).sort()).toEqual(['GET', 'GET echo-route', 'gatehouse.access', 'gatehouse.upstream_phase']);

    const server = byName(spans, 'GET echo-route');
    expect(server.kind).toBe(KIND.SERVER);
    expect(server.parentSpanId).toBe('');
    expect(server.status.code).toBe(0);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/echo/a',
      'url.scheme': 'http',
      'http.route': 'echo-route',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': gw.port,
      'client.address': '127.0.0.1',
      'user_agent.original': 'trace-test/1',
      'gatehouse.request_id': r.headers['x-request-id'],
      'gatehouse.service': 'echo',
    });
    expect(server.resource).toMatchObject({ 'service.name': 'gatehouse-test', 'service.instance.id': 'node-1' });

    const client = byName(spans, 'GET');
    expect(client.kind).toBe(KIND.CLIENT);
    expect(client.parentSpanId).toBe(server.spanId);
    // The upstream's parent is the gateway's CLIENT span.
    expect(client.spanId).toBe(sent.parentId);
    expect(client.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': up.port, 'http.response.status_code': 200, 'gatehouse.service': 'echo' });

    for (const name of ['gatehouse.access', 'gatehouse.upstream_phase']) {
      const p = byName(spans, name);
      expect(p.kind).toBe(KIND.INTERNAL);
      expect(p.parentSpanId).toBe(server.spanId);
    }
    // Children lie within the request, in order.
    for (const s of spans) {
      expect(s.start >= server.start && s.end <= server.end, s.name).toBe(true);
      expect(s.end >= s.start, s.name).toBe(true);
    }
    expect(byName(spans, 'gatehouse.access').end <= byName(spans, 'gatehouse.upstream_phase').start).toBe(true);
    expect(byName(spans, 'gatehouse.upstream_phase').end <= client.start).toBe(true);

    // The ids the other observers (the access log) read are the SERVER span's.
    const ids = traced.ids(r.headers['x-request-id']);
    expect(ids).toEqual({ requestId: r.headers['x-request-id'], traceId: sent.traceId, spanId: server.spanId });
    expect(receiver.requests.every((q) => q.contentType?.startsWith('application/json'))).toBe(true);
  });

  it('records no phase spans for a route without plugins: SERVER and CLIENT only', async () => {
    const r = await send(gw.port, '/plain/x');
    expect(r.status).toBe(200);
    const sent = upstreamTraceparent(r.json());
    await traced.settle([r]);
    const spans = receiver.trace(sent.traceId);
    expect(spans.map((s) => s.name).sort()).toEqual(['GET', 'GET plain-route']);
    expect(byName(spans, 'GET').parentSpanId).toBe(byName(spans, 'GET plain-route').spanId);
  });

  it('continues an incoming sampled trace: same trace id, the caller as parent, tracestate forwarded', async () => {
    const callerTrace = newTraceId();
    const callerSpan = newSpanId();
    const r = await send(gw.port, '/echo/b', { headers: { traceparent: `00-${callerTrace}-${callerSpan}-01`, tracestate: 'vendor=abc,other=1' } });
    const body = r.json();
    const sent = upstreamTraceparent(body);
    expect(sent).toMatchObject({ traceId: callerTrace, flags: '01' });
    expect(sent.parentId).not.toBe(callerSpan);
    expect(body.headers.tracestate).toBe('vendor=abc,other=1');
    await traced.settle([r]);
    const spans = receiver.trace(callerTrace);
    const server = byName(spans, 'GET echo-route');
    expect(server.parentSpanId).toBe(callerSpan);
    expect(server.traceState).toBe('vendor=abc,other=1');
    expect(byName(spans, 'GET').spanId).toBe(sent.parentId);
  });

  it('respects an unsampled caller: nothing exported, the trace id still propagated (flag 00) and logged', async () => {
    const callerTrace = newTraceId();
    const before = receiver.spans.length;
    const r = await send(gw.port, '/echo/c', { headers: { traceparent: `00-${callerTrace}-${newSpanId()}-00` } });
    const sent = upstreamTraceparent(r.json());
    expect(sent).toMatchObject({ traceId: callerTrace, flags: '00' });
    await traced.settle([r]);
    expect(receiver.spans.length).toBe(before);
    const ids = traced.ids(r.headers['x-request-id'])!;
    expect(ids.traceId).toBe(callerTrace);
    expect(ids.spanId).toBe(sent.parentId);
  });

  it('ignores an invalid traceparent: new trace, and the caller’s tracestate is not forwarded with it', async () => {
    const r = await send(gw.port, '/echo/d', { headers: { traceparent: `ff-${T}-${P}-01`, tracestate: 'vendor=abc' } });
    const body = r.json();
    const sent = upstreamTraceparent(body);
    expect(sent.traceId).not.toBe(T);
    expect(body.headers.tracestate).toBeUndefined();
    await traced.settle([r]);
    expect(byName(receiver.trace(sent.traceId), 'GET echo-route').parentSpanId).toBe('');
  });

  it('marks upstream failures as errors on the SERVER and CLIENT spans', async () => {
    const r = await send(gw.port, '/gone', { headers: { traceparent: `00-${newTraceId()}-${newSpanId()}-01` } });
    expect(r.status).toBe(502);
    await traced.settle([r]);
    const server = receiver.spans.find((s) => s.attributes['gatehouse.request_id'] === r.headers['x-request-id'])!;
    expect(server.status.code).toBe(2);
    expect(server.attributes).toMatchObject({ 'error.type': 'GW_ERR_UPSTREAM_UNAVAILABLE', 'gatehouse.error_code': 'GW_ERR_UPSTREAM_UNAVAILABLE', 'http.response.status_code': 502 });
    const client = byName(receiver.trace(server.traceId), 'GET');
    expect(client.status.code).toBe(2);
    expect(client.attributes['error.type']).toBe('connect');
    expect(client.attributes['http.response.status_code']).toBeUndefined();
  });

  it('records gateway answers without an upstream call: no CLIENT span, 4xx not an error', async () => {
    const miss = await send(gw.port, '/nowhere');
    expect(miss.status).toBe(404);
    const blocked = await send(gw.port, '/blocked');
    expect(blocked.status).toBe(403);
    await traced.settle([miss, blocked]);
    const missServer = receiver.spans.find((s) => s.attributes['gatehouse.request_id'] === miss.headers['x-request-id'])!;
    expect(missServer.name).toBe('GET');
    expect(missServer.status.code).toBe(0);
    expect(missServer.attributes['gatehouse.error_code']).toBe('GW_ERR_ROUTE_NOT_FOUND');
    expect(receiver.trace(missServer.traceId).map((s) => s.name)).toEqual(['GET']);

    const blockedServer = receiver.spans.find((s) => s.attributes['gatehouse.request_id'] === blocked.headers['x-request-id'])!;
    // The access phase answered: it runs to the end of the request, and nothing went upstream.
    expect(receiver.trace(blockedServer.traceId).map((s) => s.name).sort()).toEqual(['GET blocked', 'gatehouse.access']);
    expect(byName(receiver.trace(blockedServer.traceId), 'gatehouse.access').end).toBe(blockedServer.end);
  });
});

describe('sampling ratio and B3 through the proxy', () => {
  let up: Upstream;
  let receiver: OtlpReceiver;
  afterAll(async () => {
    await receiver.close();
    await up.close();
  });
  beforeAll(async () => {
    up = await startUpstream();
    receiver = await OtlpReceiver.start();
  });

  it('records about 10% of 1,000 new traces at ratio 0.1, exactly the ones it told the upstream were sampled', async () => {
    const traced = new Traced(new TracingObserver(settings(receiver, { sampleRatio: 0.1 }), new MemoryLogger()));
    const tracer = traced.tracer;
    const gw = await startGateway({ services: [{ name: 'echo', url: `http://${up.address}` }], routes: [{ name: 'r', service: 'echo', paths: ['/'] }] }, [], { observer: traced.observer });
    const agent = new Agent({ keepAlive: true, maxSockets: 10 });
    const sampled = new Set<string>();
    const all: string[] = [];
    const worker = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const t = upstreamTraceparent(await get(gw.port, '/ratio', agent));
        all.push(t.traceId);
        if (t.flags === '01') sampled.add(t.traceId);
      }
    };
    await Promise.all(Array.from({ length: 10 }, () => worker(100)));
    agent.destroy();
    await traced.settle(1_000);
    await gw.close();
    await tracer.shutdown();
    const servers = receiver.spans.filter((s) => s.kind === KIND.SERVER);
    expect(all.length).toBe(1_000);
    // Binomial(1000, 0.1): sd ≈ 9.5, so 60–140 is over four sd either way.
    expect(sampled.size).toBeGreaterThan(60);
    expect(sampled.size).toBeLessThan(140);
    expect(new Set(servers.map((s) => s.traceId))).toEqual(sampled);
    const bound = ratioBound(0.1);
    for (const id of all) expect(sampled.has(id)).toBe(traceIdHash(id) < bound);
  });

  it('does no span work for unsampled requests: no per-request state, nothing sent to the exporter', async () => {
    const traced = new Traced(new TracingObserver(settings(receiver, { sampleRatio: 0 }), new MemoryLogger()));
    const tracer = traced.tracer;
    const observedAtEnd: unknown[] = [];
    const probe: RequestObserver = { begin() {}, end: (req) => void observedAtEnd.push(req.observed) };
    const gw = await startGateway({ services: [{ name: 'echo', url: `http://${up.address}` }], routes: [{ name: 'r', service: 'echo', paths: ['/'] }] }, [], {
      observer: composeObservers([traced.observer, probe], new MemoryLogger()),
    });
    try {
      const before = receiver.requests.length;
      const agent = new Agent({ keepAlive: true, maxSockets: 4 });
      for (let i = 0; i < 20; i++) expect(upstreamTraceparent(await get(gw.port, '/unsampled', agent)).flags).toBe('00');
      agent.destroy();
      await traced.settle(20);
      expect(observedAtEnd).toHaveLength(20);
      expect(observedAtEnd.every((o) => o === undefined)).toBe(true);
      expect(tracer.exportCounters).toEqual({ sent: 0, dropped: 0, failed: 0 });
      expect(receiver.requests.length).toBe(before);
    } finally {
      await gw.close();
      await tracer.shutdown();
    }
  });

  it('exports what is waiting on shutdown, and records nothing after it', async () => {
    const traced = new Traced(new TracingObserver(settings(receiver, { exportDelayMs: 600_000 }), new MemoryLogger()));
    const tracer = traced.tracer;
    const gw = await startGateway({ services: [{ name: 'echo', url: `http://${up.address}` }], routes: [{ name: 'r', service: 'echo', paths: ['/'] }] }, [], { observer: traced.observer });
    try {
      const r = await send(gw.port, '/before-shutdown');
      const sent = upstreamTraceparent(r.json());
      for (const deadline = Date.now() + 5_000; !traced.ids(r.headers['x-request-id']) && Date.now() < deadline; ) await new Promise((res) => setTimeout(res, 5));
      expect(receiver.trace(sent.traceId)).toHaveLength(0); // the batch delay has not passed
      await tracer.shutdown();
      expect(receiver.trace(sent.traceId).map((s) => s.name).sort()).toEqual(['GET', 'GET r']);
      const after = upstreamTraceparent((await send(gw.port, '/after-shutdown')).json());
      expect(after.flags).toBe('00');
      expect(tracer.exportCounters.sent).toBe(2);
    } finally {
      await gw.close();
    }
  });

  it('reads B3 and writes it next to traceparent when configured', async () => {
    const traced = new Traced(new TracingObserver(settings(receiver, { propagation: ['w3c', 'b3', 'b3multi'] }), new MemoryLogger()));
    const tracer = traced.tracer;
    const gw = await startGateway({ services: [{ name: 'echo', url: `http://${up.address}` }], routes: [{ name: 'r', service: 'echo', paths: ['/'] }] }, [], { observer: traced.observer });
    try {
      const t64 = 'a3ce929d0e0e4736';
      const r1 = await send(gw.port, '/b3', { headers: { b3: `${t64}-${P}-1` } });
      const single = r1.json();
      const sent = upstreamTraceparent(single);
      expect(sent.traceId).toBe(`0000000000000000${t64}`);
      expect(single.headers.b3).toBe(`${sent.traceId}-${sent.parentId}-1`);
      expect(single.headers).toMatchObject({ 'x-b3-traceid': sent.traceId, 'x-b3-spanid': sent.parentId, 'x-b3-sampled': '1' });
      await traced.settle([r1]);
      expect(byName(receiver.trace(sent.traceId), 'GET r').parentSpanId).toBe(P);

      const multi = (await send(gw.port, '/b3', { headers: { 'x-b3-traceid': T, 'x-b3-spanid': P, 'x-b3-sampled': '0', 'x-b3-parentspanid': 'aaaaaaaaaaaaaaaa', 'x-b3-flags': '0' } })).json();
      const m = upstreamTraceparent(multi);
      expect(m).toMatchObject({ traceId: T, flags: '00' });
      expect(multi.headers).toMatchObject({ 'x-b3-traceid': T, 'x-b3-spanid': m.parentId, 'x-b3-sampled': '0', b3: `${T}-${m.parentId}-0` });
      expect(multi.headers['x-b3-parentspanid']).toBeUndefined();
      expect(multi.headers['x-b3-flags']).toBeUndefined();

      // A valid traceparent wins over B3 when w3c is listed first.
      const both = upstreamTraceparent((await send(gw.port, '/b3', { headers: { traceparent: `00-${T}-${P}-01`, b3: `${'1'.repeat(32)}-${P}-1` } })).json());
      expect(both.traceId).toBe(T);
    } finally {
      await gw.close();
      await tracer.shutdown();
    }
  });

  it('logs failed exports instead of dropping them silently', async () => {
    const logger = new MemoryLogger();
    receiver.failWith = 400;
    const traced = new Traced(new TracingObserver(settings(receiver), logger));
    const tracer = traced.tracer;
    const gw = await startGateway({ services: [{ name: 'echo', url: `http://${up.address}` }], routes: [{ name: 'r', service: 'echo', paths: ['/'] }] }, [], { observer: traced.observer });
    try {
      const r = await send(gw.port, '/fail');
      await expect(traced.settle([r])).rejects.toThrow();
      expect(logger.lines.some((l) => l.level === 'warn' && l.msg === 'trace export failed')).toBe(true);
    } finally {
      receiver.failWith = undefined;
      await gw.close();
      await tracer.shutdown();
    }
  });
});
