/**
 * Cost of tracing one request (TracingObserver.begin + end), in µs per request:
 *  - unsampled, new trace (ratio 0): ids, the sampling decision and the traceparent set upstream;
 *  - unsampled, caller's traceparent with flag 00 (parsed, then continued);
 *  - sampled (ratio 1): also five spans encoded to OTLP JSON and joined into batch bodies;
 *  - ratio 0.1: the mix the overhead budget is stated for.
 * plus the id generation alternatives. The exporter worker is replaced by a transport that drops the
 * finished bodies: the HTTP side runs in another thread and is not what is measured here.
 * Run from the build: node server/dist/observability/tracing.bench.js
 */
import { randomUUID } from 'node:crypto';
import type { ProxyRequest } from '../proxy/proxy-request.js';
import type { SpanTransport } from './span-export.js';
import { newSpanId, newTraceId, TracingObserver, type TracingSettings } from './tracing.js';

/** Takes the finished OTLP bodies and drops them: the encoding is measured, the exporter thread is not. */
class DiscardTransport implements SpanTransport {
  spans = 0;
  bytes = 0;
  send(_bytes: ArrayBuffer, length: number, spans: number): void {
    this.spans += spans;
    this.bytes += length;
  }
  flush(): Promise<number> {
    return Promise.resolve(0);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const silent = { info() {}, warn() {}, error() {} };

/** The parts of ProxyRequest the tracer touches, with setUpstreamHeader doing what the real one does. */
class FakeRequest {
  requestId = 'b4c1d5e0-1f2a-4b3c-8d9e-0f1a2b3c4d5e';
  clientIp = '10.0.0.7';
  method = 'GET';
  host = 'api.example.com';
  port = '';
  path = '/orders/42';
  route = { name: 'orders', service: 'orders', tags: [] };
  serviceName = 'orders';
  consumer = undefined;
  status = 200;
  errorCode = undefined;
  upstreamFailure = undefined;
  targetAddress = '10.1.0.3:8080';
  traceId: string | undefined = undefined;
  spanId: string | undefined = undefined;
  observed: unknown = undefined;
  startedAt = 0;
  routedAt = 0;
  accessDoneAt = 0;
  upstreamPhaseDoneAt = 0;
  upstreamStartAt = 0;
  upstreamHeadAt = 0;
  upstreamEndAt = 0;
  endedAt = 0;
  upSet: string[] | undefined = undefined;
  userAgent: string | undefined;
  req: { rawHeaders: string[]; socket: object };
  constructor(rawHeaders: string[]) {
    for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === 'user-agent') this.userAgent ??= rawHeaders[i + 1];
    this.req = { rawHeaders, socket: {} };
  }
  reset(): this {
    this.upSet = undefined;
    this.traceId = this.spanId = undefined;
    this.observed = undefined;
    const t = performance.now();
    this.startedAt = t;
    this.routedAt = t + 0.01;
    this.accessDoneAt = t + 0.02;
    this.upstreamPhaseDoneAt = t + 0.03;
    this.upstreamStartAt = t + 0.04;
    this.upstreamHeadAt = t + 0.5;
    this.upstreamEndAt = t + 0.6;
    this.endedAt = t + 0.62;
    return this;
  }
  setUpstreamHeader(name: string, value: string): void {
    const lc = name.toLowerCase();
    const set = (this.upSet ??= []);
    for (let i = 0; i < set.length; i += 2) {
      if (set[i] === lc) {
        set[i + 1] = value;
        return;
      }
    }
    set.push(lc, value);
  }
  removeUpstreamHeader(_name: string): void {}
}

const BROWSER_HEADERS = [
  'Host', 'api.example.com',
  'User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Accept', 'application/json',
  'Accept-Encoding', 'gzip, deflate, br',
  'Accept-Language', 'en-US,en;q=0.9',
  'Authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc',
  'Content-Type', 'application/json',
  'Connection', 'keep-alive',
];

function settings(ratio: number): TracingSettings {
  return { endpoint: 'http://127.0.0.1:1/v1/traces', sampleRatio: ratio, parentBased: true, propagation: ['w3c'], serviceName: 'bench', exportDelayMs: 1000, maxQueueSize: 8192 };
}

const ONLY = process.env.BENCH_ONLY;

async function bench(label: string, ratio: number, headers: string[], n: number): Promise<void> {
  if (ONLY !== undefined && !label.includes(ONLY)) return;
  const exporter = new DiscardTransport();
  const tracer = new TracingObserver(settings(ratio), silent, { transport: exporter });
  const reqs = Array.from({ length: 256 }, () => new FakeRequest(headers));
  // Chunks with an event-loop turn between them let the batcher's timer run, as it would between requests.
  const CHUNK = 256;
  const run = async (count: number): Promise<number> => {
    let elapsed = 0;
    for (let done = 0; done < count; done += CHUNK) {
      for (const r of reqs) r.reset();
      const t0 = performance.now();
      for (let i = 0; i < CHUNK; i++) {
        const r = reqs[i]! as unknown as ProxyRequest;
        tracer.begin(r);
        tracer.end(r);
      }
      elapsed += performance.now() - t0;
      await new Promise((res) => setImmediate(res));
    }
    return elapsed;
  };
  await run(n / 4); // warm-up
  // CPU time as well as wall time: on a shared machine the wall time mostly measures the neighbours.
  const cpu0 = process.cpuUsage();
  const ms = await run(n);
  const cpu = process.cpuUsage(cpu0);
  await tracer.shutdown();
  const cpuUs = (cpu.user + cpu.system) / n;
  console.log(`${label.padEnd(48)} ${((ms * 1000) / n).toFixed(2).padStart(7)} µs/request wall ${cpuUs.toFixed(2).padStart(7)} µs CPU   (${exporter.spans} spans encoded)`);
}

function idBench(label: string, fn: () => string, n: number): void {
  if (ONLY !== undefined && !label.includes(ONLY)) return;
  let sink = 0;
  for (let i = 0; i < n / 10; i++) sink += fn().length;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += fn().length;
  const ns = ((performance.now() - t0) * 1e6) / n;
  console.log(`${label.padEnd(48)} ${ns.toFixed(0).padStart(7)} ns/id   (${sink > 0 ? 'ok' : ''})`);
}

const N = Number(process.env.BENCH_N ?? 100_000);
const T = '4bf92f3577b34da6a3ce929d0e0e4736';
idBench('trace id: pooled randomFillSync + hex', newTraceId, N);
idBench('trace id: randomUUID with the dashes removed', () => randomUUID().replaceAll('-', ''), N);
idBench('span id: pooled randomFillSync + hex', newSpanId, N);
await bench('unsampled, new trace (ratio 0)', 0, BROWSER_HEADERS, N);
await bench('unsampled, caller traceparent flag 00', 1, [...BROWSER_HEADERS, 'traceparent', `00-${T}-00f067aa0ba902b7-00`], N);
await bench('ratio 0.1, new traces', 0.1, BROWSER_HEADERS, N);
await bench('sampled, new trace (ratio 1)', 1, BROWSER_HEADERS, N / 4);
await bench('sampled, caller traceparent + tracestate', 1, [...BROWSER_HEADERS, 'traceparent', `00-${T}-00f067aa0ba902b7-01`, 'tracestate', 'vendor=abc'], N / 4);
