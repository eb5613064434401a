import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../proxy/test-support/harness.js';
import { GATEWAY_BUCKETS, LATENCY_BUCKETS, RequestMetrics } from './request-metrics.js';

/** Exposition text → { 'name{labels}': value } (HELP/TYPE and blank lines skipped). */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The end callback runs once the response's connection side is done; let it. */
async function settle(m: RequestMetrics, served: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const v = parseExposition(await m.text());
    let n = 0;
    for (const [k, x] of v) if (k.startsWith('gatehouse_http_requests_total{')) n += x;
    if (n >= served) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`fewer than ${served} requests observed`);
}

/** Many requests over a few keep-alive connections (a fresh connection each would take minutes). */
async function flood(port: number, paths: string[], concurrency = 32): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const path = paths[next++]!;
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
}

describe('request metrics (prom-client registry fed by the request observer)', () => {
  let up: Upstream;
  let slowUp: Upstream;
  let gw: Gateway;
  let served = 0;
  const metrics = new RequestMetrics();
  const doc = (): unknown => ({
    services: [
      { name: 'api', url: `http://${up.address}` },
      { name: 'slow', url: `http://${slowUp.address}` },
    ],
    routes: [
      { name: 'api', service: 'api', paths: ['/api'] },
      { name: 'slow', service: 'slow', paths: ['/slow'] },
      { name: 'limited', service: 'api', paths: ['/limited'] },
      { name: 'teapot', paths: ['/teapot'] },
    ],
    plugins: [
      { name: 'rate-limiting', route: 'limited', config: { limit_by: ['ip'], minute: 1 } },
      { name: 'request-termination', route: 'teapot', config: { status_code: 418, message: 'short and stout' } },
    ],
  });

  beforeAll(async () => {
    up = await startUpstream((_req, res) => res.end('twelve bytes'));
    slowUp = await startUpstream((_req, res) => setTimeout(() => res.end('late'), 40));
    gw = await startGateway(doc(), [], { observer: metrics });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
    await slowUp.close();
  });

  async function hit(path: string): Promise<number> {
    const r = await send(gw.port, path);
    await settle(metrics, ++served);
    return r.status;
  }

  it('renders every family with HELP and TYPE before any request, and one unmatched series', async () => {
    const text = await metrics.text();
    for (const [name, type] of [
      ['gatehouse_http_requests_total', 'counter'],
      ['gatehouse_http_request_duration_seconds', 'histogram'],
      ['gatehouse_upstream_duration_seconds', 'histogram'],
      ['gatehouse_gateway_duration_seconds', 'histogram'],
      ['gatehouse_http_request_bytes_total', 'counter'],
      ['gatehouse_http_response_bytes_total', 'counter'],
      ['gatehouse_rate_limited_total', 'counter'],
      ['gatehouse_gateway_errors_total', 'counter'],
      ['gatehouse_http_requests_in_flight', 'gauge'],
      ['gatehouse_redis_errors_total', 'counter'],
    ]) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(text).toContain('gatehouse_http_requests_total{route="",service="",code_class="2xx"} 0\n');
    expect(metrics.seriesCount).toBe(1);
    // 68 lines per (route, service) pair, as README says, plus in-flight and Redis errors.
    expect(text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toHaveLength(68 + 2);
  });

  it('counts a proxied request by route, service and class, with latency, bytes and buckets', async () => {
    expect(await hit('/api/x')).toBe(200);
    const v = parseExposition(await metrics.text());
    expect(v.get('gatehouse_http_requests_total{route="api",service="api",code_class="2xx"}')).toBe(1);
    expect(v.get('gatehouse_http_requests_total{route="api",service="api",code_class="5xx"}')).toBe(0);
    expect(v.get('gatehouse_http_request_duration_seconds_count{route="api",service="api"}')).toBe(1);
    expect(v.get('gatehouse_upstream_duration_seconds_count{route="api",service="api"}')).toBe(1);
    expect(v.get('gatehouse_gateway_duration_seconds_count{route="api",service="api"}')).toBe(1);
    // One bucket line per bound plus +Inf, cumulative.
    for (const le of LATENCY_BUCKETS) expect(v.has(`gatehouse_http_request_duration_seconds_bucket{route="api",service="api",le="${le}"}`), String(le)).toBe(true);
    for (const le of GATEWAY_BUCKETS) expect(v.has(`gatehouse_gateway_duration_seconds_bucket{route="api",service="api",le="${le}"}`), String(le)).toBe(true);
    expect(v.get('gatehouse_http_request_duration_seconds_bucket{route="api",service="api",le="+Inf"}')).toBe(1);
    const total = v.get('gatehouse_http_request_duration_seconds_sum{route="api",service="api"}')!;
    const upstream = v.get('gatehouse_upstream_duration_seconds_sum{route="api",service="api"}')!;
    const gateway = v.get('gatehouse_gateway_duration_seconds_sum{route="api",service="api"}')!;
    expect(total).toBeGreaterThan(0);
    expect(upstream).toBeGreaterThan(0);
    expect(gateway).toBeGreaterThan(0);
    expect(upstream + gateway).toBeCloseTo(total, 9);
    expect(v.get('gatehouse_http_response_bytes_total{route="api",service="api"}')).toBe(12);
    // The request head on the wire: "GET /api/x HTTP/1.1\r\nHost: …" and more.
    expect(v.get('gatehouse_http_request_bytes_total{route="api",service="api"}')).toBeGreaterThan(30);
    expect(v.get('gatehouse_http_requests_in_flight')).toBe(0);
  });

  it('puts a slow upstream in the right latency buckets', async () => {
    expect(await hit('/slow')).toBe(200);
    const v = parseExposition(await metrics.text());
    expect(v.get('gatehouse_upstream_duration_seconds_bucket{route="slow",service="slow",le="0.02"}')).toBe(0);
    expect(v.get('gatehouse_http_request_duration_seconds_bucket{route="slow",service="slow",le="0.03"}')).toBe(0);
    expect(v.get('gatehouse_http_request_duration_seconds_bucket{route="slow",service="slow",le="10"}')).toBe(1);
    expect(v.get('gatehouse_upstream_duration_seconds_sum{route="slow",service="slow"}')).toBeGreaterThanOrEqual(0.039);
    // The 40 ms are the upstream's, not the gateway's.
    expect(v.get('gatehouse_gateway_duration_seconds_bucket{route="slow",service="slow",le="0.025"}')).toBe(1);
  });

  it("counts the gateway's own answers: unmatched (route=\"\"), a route without service, errors by code", async () => {
    expect(await hit('/nowhere')).toBe(404);
    expect(await hit('/teapot')).toBe(418);
    const v = parseExposition(await metrics.text());
    expect(v.get('gatehouse_http_requests_total{route="",service="",code_class="4xx"}')).toBe(1);
    expect(v.get('gatehouse_upstream_duration_seconds_count{route="",service=""}')).toBe(0);
    expect(v.get('gatehouse_gateway_duration_seconds_count{route="",service=""}')).toBe(1);
    expect(v.get('gatehouse_gateway_errors_total{code="GW_ERR_ROUTE_NOT_FOUND"}')).toBe(1);
    expect(v.get('gatehouse_http_requests_total{route="teapot",service="",code_class="4xx"}')).toBe(1);
  });

  it('counts rate-limit rejections by route', async () => {
    expect(await hit('/limited')).toBe(200);
    expect(await hit('/limited')).toBe(429);
    const v = parseExposition(await metrics.text());
    expect(v.get('gatehouse_rate_limited_total{route="limited",service="api",limit="rate"}')).toBe(1);
    expect(v.get('gatehouse_rate_limited_total{route="limited",service="api",limit="concurrency"}')).toBe(0);
    expect(v.get('gatehouse_rate_limited_total{route="api",service="api",limit="rate"}')).toBe(0);
    expect(v.get('gatehouse_gateway_errors_total{code="GW_ERR_RATE_LIMITED"}')).toBe(1);
    expect(v.get('gatehouse_http_requests_total{route="limited",service="api",code_class="4xx"}')).toBe(1);
  });

  it('keeps counting on the same series after a config reload (new route objects)', async () => {
    const before = metrics.seriesCount;
    gw.apply(doc());
    expect(await hit('/api/again')).toBe(200);
    expect(metrics.seriesCount).toBe(before);
    expect(parseExposition(await metrics.text()).get('gatehouse_http_requests_total{route="api",service="api",code_class="2xx"}')).toBe(2);
  });

  it('does not grow the series count under a flood of 10,000 distinct unmatched and 10,000 distinct matched paths', { timeout: 60_000 }, async () => {
    const lines = (t: string): number => t.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    const beforeText = await metrics.text();
    const series = metrics.seriesCount;
    const paths: string[] = [];
    // The matched ones end at a terminating route: the upstream hop would only slow the test down.
    for (let i = 0; i < 10_000; i++) paths.push(`/unknown/${i}/${i.toString(36)}?q=${i}`, `/teapot/items/${i}?id=${i}`);
    await flood(gw.port, paths);
    served += paths.length;
    await settle(metrics, served);
    const afterText = await metrics.text();
    expect(metrics.seriesCount).toBe(series);
    expect(lines(afterText)).toBe(lines(beforeText));
    expect(afterText).not.toMatch(/unknown\/|items\//);
    const v = parseExposition(afterText);
    expect(v.get('gatehouse_http_requests_total{route="teapot",service="",code_class="4xx"}')).toBe(1 + 10_000);
    expect(v.get('gatehouse_http_requests_total{route="",service="",code_class="4xx"}')).toBe(1 + 10_000);
  });
});
