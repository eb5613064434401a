/**
 * Cost of recording one request's metrics (a request counter, three latency histograms, two byte
 * counters) three ways, in ns per request:
 *  - naive: prom-client's Counter/Histogram with a label object on every call;
 *  - children: prom-client children from `labels(...)`, cached per route (they still hash on each call);
 *  - series: RequestMetrics.end (what the proxy runs), plain numbers per (route, service).
 * Run from the build: node server/dist/observability/request-metrics.bench.js
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { ProxyRequest } from '../proxy/proxy-request.js';
import type { RouteInfo } from '../plugins/types.js';
import { GATEWAY_BUCKETS, LATENCY_BUCKETS, RequestMetrics } from './request-metrics.js';

const ROUTES = 50;
const STATUSES = [200, 200, 200, 201, 204, 304, 404, 429, 500, 502];

interface FakeRequest {
  route: RouteInfo;
  serviceName: string;
  status: number;
  startedAt: number;
  endedAt: number;
  upstreamStartAt: number;
  upstreamEndAt: number;
  bytesOut: number;
  errorCode: undefined;
  req: { socket: { bytesRead: number } };
}

function requests(): FakeRequest[] {
  const routes: RouteInfo[] = Array.from({ length: ROUTES }, (_, i) => ({ name: `route-${i}`, service: `svc-${i % 10}`, tags: [] }));
  return Array.from({ length: 1024 }, (_, k) => {
    const route = routes[(k * 7919) % ROUTES]!;
    const start = 1000 + k;
    // Latencies spread over 0.2 ms – 2 s so every bucket search length occurs.
    const upstream = 0.2 * Math.pow(10, (k % 40) / 10);
    return {
      route,
      serviceName: route.service!,
      status: STATUSES[k % STATUSES.length]!,
      startedAt: start,
      upstreamStartAt: start + 0.05,
      upstreamEndAt: start + 0.05 + upstream,
      endedAt: start + 0.12 + upstream,
      bytesOut: 100 + (k % 900),
      errorCode: undefined,
      req: { socket: { bytesRead: 0 } },
    };
  });
}

type Recorder = (r: FakeRequest) => void;

function promClient(cached: boolean): Recorder {
  const registers = [new Registry()];
  const reqs = new Counter({ name: 'reqs_total', help: 'h', labelNames: ['route', 'service', 'code_class'], registers });
  const total = new Histogram({ name: 'total_seconds', help: 'h', labelNames: ['route', 'service'], buckets: [...LATENCY_BUCKETS], registers });
  const upstream = new Histogram({ name: 'upstream_seconds', help: 'h', labelNames: ['route', 'service'], buckets: [...LATENCY_BUCKETS], registers });
  const gateway = new Histogram({ name: 'gateway_seconds', help: 'h', labelNames: ['route', 'service'], buckets: [...GATEWAY_BUCKETS], registers });
  const bytesIn = new Counter({ name: 'in_total', help: 'h', labelNames: ['route', 'service'], registers });
  const bytesOut = new Counter({ name: 'out_total', help: 'h', labelNames: ['route', 'service'], registers });
  const CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'];
  if (!cached) {
    return (r) => {
      const route = r.route.name;
      const service = r.serviceName;
      const t = (r.endedAt - r.startedAt) / 1000;
      const u = (r.upstreamEndAt - r.upstreamStartAt) / 1000;
      reqs.inc({ route, service, code_class: CLASSES[(r.status / 100) | 0]! });
      total.observe({ route, service }, t);
      upstream.observe({ route, service }, u);
      gateway.observe({ route, service }, t - u);
      bytesIn.inc({ route, service }, 0);
      bytesOut.inc({ route, service }, r.bytesOut);
    };
  }
  interface Children {
    reqs: { inc(v?: number): void }[];
    total: { observe(v: number): void };
    upstream: { observe(v: number): void };
    gateway: { observe(v: number): void };
    bytesIn: { inc(v?: number): void };
    bytesOut: { inc(v?: number): void };
  }
  const byRoute = new WeakMap<RouteInfo, Children>();
  return (r) => {
    let c = byRoute.get(r.route);
    if (c === undefined) {
      const route = r.route.name;
      const service = r.serviceName;
      c = {
        reqs: CLASSES.map((code_class) => reqs.labels(route, service, code_class)),
        total: total.labels(route, service),
        upstream: upstream.labels(route, service),
        gateway: gateway.labels(route, service),
        bytesIn: bytesIn.labels(route, service),
        bytesOut: bytesOut.labels(route, service),
      };
      byRoute.set(r.route, c);
    }
    const t = (r.endedAt - r.startedAt) / 1000;
    const u = (r.upstreamEndAt - r.upstreamStartAt) / 1000;
    c.reqs[(r.status / 100) | 0]!.inc();
    c.total.observe(t);
    c.upstream.observe(u);
    c.gateway.observe(t - u);
    c.bytesIn.inc(0);
    c.bytesOut.inc(r.bytesOut);
  };
}

function series(): Recorder {
  const m = new RequestMetrics();
  return (r) => {
    m.begin(r as unknown as ProxyRequest);
    m.end(r as unknown as ProxyRequest);
  };
}

function measure(record: Recorder, durationMs: number): number {
  const reqs = requests();
  for (let i = 0; i < 300_000; i++) record(reqs[i & 1023]!); // warm-up
  let ops = 0;
  const t0 = performance.now();
  let now = t0;
  while (now - t0 < durationMs) {
    for (let i = 0; i < 10_000; i++) record(reqs[i & 1023]!);
    ops += 10_000;
    now = performance.now();
  }
  return ((now - t0) * 1e6) / ops;
}

export function runRequestMetricsBench(durationMs = 1500): { naive: number; children: number; series: number } {
  return { naive: measure(promClient(false), durationMs), children: measure(promClient(true), durationMs), series: measure(series(), durationMs) };
}

if (process.argv[1]?.endsWith('request-metrics.bench.js') || process.argv[1]?.endsWith('request-metrics.bench.ts')) {
  const r = runRequestMetricsBench();
  console.log(`prom-client, label objects per call:  ${r.naive.toFixed(0)} ns/request`);
  console.log(`prom-client, cached label children:   ${r.children.toFixed(0)} ns/request`);
  console.log(`RequestMetrics (series per route):    ${r.series.toFixed(0)} ns/request`);
}
