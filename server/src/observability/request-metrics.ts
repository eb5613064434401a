/**
 * Request metrics of the proxy thread (issue 7), exposed through a prom-client Registry that the admin
 * plane's `GET /metrics` asks the worker for.
 *
 * Why not prom-client's own Counter/Histogram on the hot path: their `labels(...)` children still build a
 * label object, validate it and hash it on every `inc`/`observe` (prom-client 15), which costs more than
 * everything else an observation does (see request-metrics.bench.ts). Here each (route, service) pair gets
 * a `Series` of plain numbers and typed arrays, created once and found by identity of the request's
 * RouteInfo, so a request only does field and array writes. The Registry reads the series at scrape time
 * through small metric objects (`SeriesFamily`) that answer what a prom-client metric answers (`get()`).
 *
 * Cardinality: labels come only from config-bounded names (route, service), the status class, and the
 * gateway's error-code enum; never from paths, hosts, query strings or consumers. Requests no route
 * matched share one series with route="" and service="".
 */
import { Registry, type Metric } from 'prom-client';
import type { ErrorCode } from '../errors/registry.js';
import type { RouteInfo } from '../plugins/types.js';
import type { ProxyRequest, RequestObserver } from '../proxy/proxy-request.js';

/**
 * Total and upstream latency, in seconds. Prometheus interpolates linearly inside a bucket, so a
 * quantile is off by at most its bucket's width: the buckets are densest (×1.3–×2) from 10 ms to 1 s,
 * where API latencies and their p95/p99 usually are, and still reach 1 ms and 10 s.
 */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10] as const;

/** The gateway's own share of a request (total minus upstream): normally well under a millisecond. */
export const GATEWAY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;

/** Status class by index: 0 covers a status outside 100–599 (none sent: the client left first). */
export const CODE_CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

function classIndex(status: number): number {
  return status >= 100 && status < 600 ? (status / 100) | 0 : 0;
}

/** Index of the first bound ≥ v, or bounds.length for the +Inf bucket. */
function bucketIndex(bounds: Float64Array, v: number): number {
  const n = bounds.length;
  let i = 0;
  while (i < n && v > bounds[i]!) i++;
  return i;
}

class Hist {
  /** Per-bucket counts (not cumulative), the last one past every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    this.counts[bucketIndex(this.bounds, v)]!++;
    this.sum += v;
    this.count++;
  }
}

const LATENCY = Float64Array.from(LATENCY_BUCKETS);
const GATEWAY = Float64Array.from(GATEWAY_BUCKETS);

/** Everything counted for one (route, service) pair. */
export class Series {
  readonly requests = new Float64Array(CODE_CLASSES.length);
  readonly total = new Hist(LATENCY);
  readonly upstream = new Hist(LATENCY);
  readonly gateway = new Hist(GATEWAY);
  bytesIn = 0;
  bytesOut = 0;
  rateLimited = 0;
  concurrencyLimited = 0;
  constructor(
    readonly route: string,
    readonly service: string,
  ) {}
}

/** Bytes read from a client socket when its last request ended (keep-alive connections carry several). */
const kRead = Symbol('gatehouse.metrics.bytesRead');
type Counted = { bytesRead: number; [kRead]?: number };

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * A metric family the Registry can render (it calls `get()`, as for its own metrics), computed from the
 * series on each scrape. Registered with a cast: prom-client types registerMetric for its classes only,
 * while its Registry only needs name/help/type and get().
 */
class SeriesFamily {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly read: () => Sample[],
  ) {}
  collect(): void {}
  reset(): void {}
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.read() });
  }
}

function histogramSamples(name: string, list: Iterable<Series>, pick: (s: Series) => Hist): Sample[] {
  const out: Sample[] = [];
  for (const s of list) {
    const h = pick(s);
    let acc = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      acc += h.counts[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { route: s.route, service: s.service, le: h.bounds[i]! }, value: acc });
    }
    acc += h.counts[h.bounds.length]!;
    out.push({ metricName: `${name}_bucket`, labels: { route: s.route, service: s.service, le: '+Inf' }, value: acc });
    out.push({ metricName: `${name}_sum`, labels: { route: s.route, service: s.service }, value: h.sum });
    out.push({ metricName: `${name}_count`, labels: { route: s.route, service: s.service }, value: h.count });
  }
  return out;
}

export interface RequestMetricsOptions {
  /** Registry to render into; a new one by default. */
  registry?: Registry;
}

export class RequestMetrics implements RequestObserver {
  readonly registry: Registry;
  /** Fast path: the series of a route object of the current snapshot (a new snapshot gets new objects). */
  private readonly byRoute = new WeakMap<RouteInfo, Series>();
  /** Series by route name, then service name: survives snapshot rebuilds, and holds traffic-split's extra services. */
  private readonly byName = new Map<string, Map<string, Series>>();
  /** Every series in creation order, for the scrape. */
  private readonly all: Series[] = [];
  private readonly unmatched: Series;
  private readonly errors = new Map<ErrorCode, number>();
  private inFlight = 0;
  private redisErrors = 0;

  constructor(opts: RequestMetricsOptions = {}) {
    this.registry = opts.registry ?? new Registry();
    this.unmatched = this.create('', '');
    const all = this.all;
    const families = [
      new SeriesFamily('gatehouse_http_requests_total', 'Requests the proxy answered, by route, service and status class (route="" when no route matched).', 'counter', () => {
        const out: Sample[] = [];
        for (const s of all) {
          for (let c = 0; c < CODE_CLASSES.length; c++) out.push({ labels: { route: s.route, service: s.service, code_class: CODE_CLASSES[c]! }, value: s.requests[c]! });
        }
        return out;
      }),
      new SeriesFamily('gatehouse_http_request_duration_seconds', 'Time from the request head to the end of the response, as the proxy saw it.', 'histogram', () =>
        histogramSamples('gatehouse_http_request_duration_seconds', all, (s) => s.total),
      ),
      new SeriesFamily('gatehouse_upstream_duration_seconds', 'Time from sending the request upstream to the end of the upstream response, retries included (requests that reached an upstream only).', 'histogram', () =>
        histogramSamples('gatehouse_upstream_duration_seconds', all, (s) => s.upstream),
      ),
      new SeriesFamily('gatehouse_gateway_duration_seconds', "The gateway's own share of a request: total time minus upstream time.", 'histogram', () =>
        histogramSamples('gatehouse_gateway_duration_seconds', all, (s) => s.gateway),
      ),
      new SeriesFamily('gatehouse_http_request_bytes_total', 'Bytes read from clients (request heads and bodies), by route and service.', 'counter', () =>
        all.map((s) => ({ labels: { route: s.route, service: s.service }, value: s.bytesIn })),
      ),
      new SeriesFamily('gatehouse_http_response_bytes_total', 'Response body bytes sent to clients, by route and service.', 'counter', () =>
        all.map((s) => ({ labels: { route: s.route, service: s.service }, value: s.bytesOut })),
      ),
      new SeriesFamily('gatehouse_rate_limited_total', 'Requests refused by rate-limiting (limit="rate") or concurrency-limit (limit="concurrency"), by route and service.', 'counter', () => {
        const out: Sample[] = [];
        for (const s of all) {
          out.push({ labels: { route: s.route, service: s.service, limit: 'rate' }, value: s.rateLimited });
          out.push({ labels: { route: s.route, service: s.service, limit: 'concurrency' }, value: s.concurrencyLimited });
        }
        return out;
      }),
      new SeriesFamily('gatehouse_gateway_errors_total', 'Requests the gateway answered itself with a problem, by GW_ERR_* code.', 'counter', () =>
        [...this.errors].map(([code, n]) => ({ labels: { code }, value: n })),
      ),
      new SeriesFamily('gatehouse_http_requests_in_flight', 'Requests the proxy has begun and not yet finished.', 'gauge', () => [{ labels: {}, value: this.inFlight }]),
      new SeriesFamily('gatehouse_redis_errors_total', "Errors reported by the proxy thread's Redis client (connection lost, refused, timed out).", 'counter', () => [{ labels: {}, value: this.redisErrors }]),
    ];
    for (const f of families) this.registry.registerMetric(f as unknown as Metric);
  }

  /** The exposition text of this registry (the worker answers the admin's `metrics` message with it). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Number of series in the registry: what the cardinality tests watch. */
  get seriesCount(): number {
    return this.all.length;
  }

  countRedisError(): void {
    this.redisErrors++;
  }

  begin(_req: ProxyRequest): void {
    this.inFlight++;
  }

  end(req: ProxyRequest): void {
    this.inFlight--;
    const s = this.seriesOf(req.route, req.serviceName);
    const status = req.status;
    s.requests[classIndex(status)]!++;
    // A 101 ends when its tunnel closes: its lifetime is not a latency.
    if (status !== 101) {
      const total = req.endedAt - req.startedAt;
      s.total.observe(total / 1000);
      let upstream = 0;
      if (req.upstreamStartAt !== 0) {
        // No end when the client left mid-response: the upstream was busy until then.
        upstream = (req.upstreamEndAt !== 0 ? req.upstreamEndAt : req.endedAt) - req.upstreamStartAt;
        s.upstream.observe(upstream / 1000);
      }
      s.gateway.observe((total - upstream) / 1000);
    }
    s.bytesOut += req.bytesOut;
    const sock = req.req.socket as unknown as Counted | null;
    if (sock !== null) {
      const read = sock.bytesRead;
      s.bytesIn += read - (sock[kRead] ?? 0);
      sock[kRead] = read;
    }
    const code = req.errorCode;
    if (code !== undefined) {
      this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
      if (code === 'GW_ERR_RATE_LIMITED') s.rateLimited++;
      else if (code === 'GW_ERR_CONCURRENCY_LIMITED') s.concurrencyLimited++;
    }
  }

  private seriesOf(route: RouteInfo | undefined, service: string | undefined): Series {
    if (route === undefined) return this.unmatched;
    const cached = this.byRoute.get(route);
    const svc = service ?? '';
    if (cached !== undefined && cached.service === svc) return cached;
    let byService = this.byName.get(route.name);
    if (byService === undefined) this.byName.set(route.name, (byService = new Map()));
    let s = byService.get(svc);
    if (s === undefined) byService.set(svc, (s = this.create(route.name, svc)));
    // Traffic-split alternates services on one route: keep the route's own service in the fast slot.
    if (cached === undefined || svc === (route.service ?? '')) this.byRoute.set(route, s);
    return s;
  }

  private create(route: string, service: string): Series {
    const s = new Series(route, service);
    this.all.push(s);
    return s;
  }
}
