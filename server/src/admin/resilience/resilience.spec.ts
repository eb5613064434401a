// The resilience endpoints read the data plane's real registries (this thread's, as an in-process proxy
// plane would): tests drive breakers, target health and the cache directly and watch the admin API.
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BREAKERS, type BreakerSettings, type ServiceBreaker } from '../../resilience/circuit-breaker.js';
import { healthRegistry, type TargetHealth } from '../../resilience/health.js';
import { CachedResponse, memoryStoreFor } from '../../plugins/proxy-cache/store.js';
import { Value } from '@sinclair/typebox/value';
import { HealthchecksSchema, type UpstreamConfig } from '../../config/schema.js';
import { ADMIN_TOKEN, createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';
import { SSE_SETTINGS } from './events.controller.js';
import { metricsPublicFromEnv } from './metrics.controller.js';
import { RequestMetrics } from '../../observability/request-metrics.js';
import { send, startGateway, startUpstream } from '../../proxy/test-support/harness.js';

const SETTINGS: BreakerSettings = { errorThresholdPercentage: 50, volumeThreshold: 5, rollingWindowMs: 10_000, rollingBuckets: 10, resetTimeoutMs: 60_000 };
const KEY_A = 'a'.repeat(64);
const KEY_B = 'b'.repeat(64);

function cached(): CachedResponse {
  const now = Date.now();
  return new CachedResponse(200, { 'content-type': 'text/plain' }, Buffer.from('hello'), now, now + 60_000, 0, undefined, NaN);
}

interface Stream {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: () => string;
  ended: () => boolean;
  waitFor: (re: RegExp, ms?: number) => Promise<string>;
  close: () => void;
}

/** A real HTTP client on the SSE endpoint (inject would wait for an end that never comes). */
function openStream(base: string, path: string, token: string | null): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let buf = '';
      let ended = false;
      res.on('end', () => (ended = true));
      const waiters = new Set<() => void>();
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        for (const w of waiters) w();
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        text: () => buf,
        ended: () => ended,
        waitFor: (re, ms = 3_000) =>
          new Promise((ok, fail) => {
            const check = () => {
              const m = re.exec(buf);
              if (!m) return;
              waiters.delete(check);
              clearTimeout(timer);
              ok(m[0]);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`no ${re} within ${ms} ms; got: ${JSON.stringify(buf)}`));
            }, ms);
            waiters.add(check);
            check();
          }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

async function until(cond: () => Promise<boolean>, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('resilience admin API', () => {
  let h: Harness;
  let base: string;
  let viewer: string;
  let operator: string;
  const breakers: ServiceBreaker[] = [];
  const held: TargetHealth[] = [];

  beforeAll(async () => {
    h = await createHarness();
    await h.app.listen('127.0.0.1', 0);
    base = h.app.url();
    for (const [username, role] of [['res-viewer', 'viewer'], ['res-operator', 'operator']] as const) {
      expect((await h.request('POST', '/admin-users', { body: { username, password: 'password-123', role } })).statusCode).toBe(201);
    }
    viewer = await h.login('res-viewer', 'password-123');
    operator = await h.login('res-operator', 'password-123');
  });
  afterEach(async () => {
    for (const b of breakers.splice(0)) BREAKERS.release(b);
    for (const t of held.splice(0)) healthRegistry.release(t);
    await h.runtime.purgeCache();
  });
  afterAll(() => h.close());

  it('GET /resilience shows breakers with their state and transitions, to any admin role', async () => {
    const b = BREAKERS.acquire('svc-view', SETTINGS);
    breakers.push(b);
    b.breaker.open();
    const res = await h.request('GET', '/resilience', { token: viewer });
    expect(res.statusCode, res.body).toBe(200);
    const view = res.json();
    expect(view.breakers).toContainEqual(expect.objectContaining({ group: 'svc-view', state: 'open', transitions: { opened: 1, half_opened: 0, closed: 0 } }));
    expect(view.breaker_transitions).toContainEqual({ group: 'svc-view', to: 'open', count: expect.any(Number) });
    expect(view).toMatchObject({ cache: { hits: expect.any(Number) }, load_shedding: { overloaded: expect.any(Number) }, request_size: { declared: expect.any(Number) }, limits_store: { fail_open: expect.any(Number) }, events: { subscribers: 0 } });
    expectProblem(await h.request('GET', '/resilience', { token: null }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
  });

  it("GET /upstreams/:name/health answers Kong's shape from the current config and the health registry", async () => {
    const created = await h.request('POST', '/upstreams', {
      body: { name: 'checked', targets: [{ target: '127.0.0.1:9001' }, { target: '127.0.0.1:9002', weight: 5 }], healthchecks: { passive: { enabled: true, unhealthy: { failures: 2 } } } },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect((await h.request('POST', '/upstreams', { body: { name: 'unchecked', targets: [{ target: '127.0.0.1:9003' }] } })).statusCode).toBe(201);
    const up = h.runtime.currentDocument().upstreams.find((u) => u.name === 'checked') as UpstreamConfig;
    // What the snapshot builder does for each target of an upstream with checks; then the proxy reports failures.
    const t1 = healthRegistry.acquire({ upstream: 'checked', address: '127.0.0.1:9001', host: '127.0.0.1', port: 9001 }, up.healthchecks!);
    held.push(t1);
    t1.reportFailure('connect');
    t1.reportFailure('connect');

    const res = await h.request('GET', '/upstreams/checked/health', { token: viewer });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      node_id: 'test-node',
      total: 2,
      data: [
        { target: '127.0.0.1:9001', weight: 100, health: 'UNHEALTHY', upstream: 'checked', reason: expect.stringContaining('2 consecutive failures'), since: expect.any(Number), checks: 'passive' },
        { target: '127.0.0.1:9002', weight: 5, health: 'HEALTHY', upstream: 'checked' },
      ],
    });
    expect((await h.request('GET', '/upstreams/unchecked/health')).json().data).toEqual([{ target: '127.0.0.1:9003', weight: 100, health: 'HEALTHCHECKS_OFF', upstream: 'unchecked' }]);
    // The nested targets route beside it still answers.
    expect((await h.request('GET', '/upstreams/checked/targets')).json().data).toHaveLength(2);
    expectProblem(await h.request('GET', '/upstreams/nope/health'), 404, 'GW_ERR_ADMIN_NOT_FOUND');
  });

  it('GET /proxy-cache reports stats; DELETE purges one key (404 when absent, 400 when ill-formed) or all, for operators', async () => {
    const store = memoryStoreFor('admin-spec', 100, 1_000_000);
    store.set(KEY_A, cached());
    store.set(`${KEY_A}:variant`, cached());
    store.set(KEY_B, cached());

    const stats = await h.request('GET', '/proxy-cache', { token: viewer });
    expect(stats.statusCode).toBe(200);
    expect(stats.json()).toMatchObject({ entries: 3, bytes: expect.any(Number), hits: expect.any(Number), misses: expect.any(Number) });

    expectProblem(await h.request('DELETE', `/proxy-cache/${KEY_A}`, { token: viewer }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    expectProblem(await h.request('DELETE', '/proxy-cache', { token: viewer }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    const one = await h.request('DELETE', `/proxy-cache/${KEY_A}`, { token: operator });
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toEqual({ purged: 2 });
    expectProblem(await h.request('DELETE', `/proxy-cache/${KEY_A}`, { token: operator }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    const bad = expectProblem(await h.request('DELETE', '/proxy-cache/NOT-A-KEY', { token: operator }), 400, 'GW_ERR_BAD_REQUEST');
    expect(bad.errors).toEqual([{ path: '/params/key', message: expect.any(String) }]);
    expect((await h.request('GET', '/proxy-cache')).json().entries).toBe(1);

    // Clients that send `content-type: application/json` on every call, bodiless DELETE included.
    const all = await h.request('DELETE', '/proxy-cache', { token: operator, headers: { 'content-type': 'application/json' } });
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json()).toEqual({ purged: 1 });
    expect((await h.request('GET', '/proxy-cache')).json()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('GET /metrics serves the Prometheus text format, for admin roles only by default', async () => {
    const b = BREAKERS.acquire('svc-metrics', SETTINGS);
    breakers.push(b);
    b.breaker.open();
    const res = await h.request('GET', '/metrics', { token: viewer });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = res.body;
    expect(text).toContain('# TYPE gatehouse_circuit_breaker_state gauge\n');
    expect(text).toMatch(new RegExp(`^gatehouse_circuit_breaker_state\\{breaker="svc-metrics\\|[^"]+",group="svc-metrics"\\} 2$`, 'm'));
    expect(text).toMatch(/^gatehouse_circuit_breaker_transitions_total\{group="svc-metrics",to="open"\} [1-9]\d*$/m);
    expect(text).toContain('gatehouse_circuit_breaker_calls{group="svc-metrics",outcome="failure"} 0\n');
    for (const name of ['gatehouse_target_up', 'gatehouse_proxy_cache_hits_total', 'gatehouse_proxy_cache_misses_total', 'gatehouse_proxy_cache_entries', 'gatehouse_proxy_cache_bytes', 'gatehouse_load_shed_total', 'gatehouse_requests_total']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toMatch(/^gatehouse_requests_total 0$/m);
    expectProblem(await h.request('GET', '/metrics', { token: null }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
  });

  it('GET /metrics adds the proxy\'s request metrics, config reloads and process metrics; counters move, names are unique', async () => {
    const metrics = new RequestMetrics();
    h.runtime.requestMetrics = metrics;
    const up = await startUpstream((_req, res) => res.end('ok'));
    const gw = await startGateway({ services: [{ name: 'm-svc', url: `http://${up.address}` }], routes: [{ name: 'm-route', service: 'm-svc', paths: ['/m'] }] }, [], { observer: metrics });
    try {
      const scrape = async (): Promise<string> => {
        const res = await h.request('GET', '/metrics', { token: viewer });
        expect(res.statusCode, res.body).toBe(200);
        return res.body;
      };
      const value = (text: string, series: string): number | undefined => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.slice(series.length + 1));
      };
      const before = await scrape();
      expect(before).toContain('# HELP gatehouse_http_requests_total ');
      expect(before).toContain('# TYPE gatehouse_http_request_duration_seconds histogram\n');
      expect(before).toContain('# TYPE gatehouse_config_reloads_total counter\n');
      expect(before).toContain('# TYPE process_cpu_seconds_total counter\n');
      expect(before).toContain('# TYPE nodejs_eventloop_lag_seconds gauge\n');
      const reloads = value(before, 'gatehouse_config_reloads_total')!;
      expect(reloads).toBe(h.runtime.reloads);
      expect(value(before, 'gatehouse_config_store_errors_total')).toBe(0);
      expect(value(before, 'gatehouse_config_store_up')).toBe(1);
      expect(value(before, 'gatehouse_config_last_reload_timestamp_seconds')).toBeGreaterThan(1.7e9);
      // One HELP/TYPE pair per family across the three parts (resilience view, admin registry, proxy registry).
      const types = before.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
      expect(types.length).toBeGreaterThan(40);
      expect(new Set(types).size).toBe(types.length);

      for (let i = 0; i < 3; i++) expect((await send(gw.port, `/m/${i}`)).status).toBe(200);
      expect((await h.request('POST', '/services', { body: { name: 'reload-svc', url: 'http://127.0.0.1:9' } })).statusCode).toBe(201);
      let after = '';
      await until(async () => value((after = await scrape()), 'gatehouse_http_requests_total{route="m-route",service="m-svc",code_class="2xx"}') === 3);
      expect(value(after, 'gatehouse_http_request_duration_seconds_count{route="m-route",service="m-svc"}')).toBe(3);
      expect(value(after, 'gatehouse_http_request_duration_seconds_bucket{route="m-route",service="m-svc",le="+Inf"}')).toBe(3);
      expect(value(after, 'gatehouse_http_request_duration_seconds_bucket{route="m-route",service="m-svc",le="10"}')).toBe(3);
      expect(value(after, 'gatehouse_upstream_duration_seconds_bucket{route="m-route",service="m-svc",le="0.001"}')).toEqual(expect.any(Number));
      expect(value(after, 'gatehouse_http_response_bytes_total{route="m-route",service="m-svc"}')).toBe(6);
      expect(value(after, 'gatehouse_config_reloads_total')).toBe(reloads + 1);
      expect(after).not.toContain('/m/1');
    } finally {
      h.runtime.requestMetrics = undefined;
      await gw.close();
      await up.close();
    }
  });

  it('GET /metrics is public with GATEHOUSE_METRICS_PUBLIC=true, and a typo in it fails start-up', async () => {
    expect(metricsPublicFromEnv({})).toBe(false);
    expect(metricsPublicFromEnv({ GATEHOUSE_METRICS_PUBLIC: 'TRUE' })).toBe(true);
    expect(() => metricsPublicFromEnv({ GATEHOUSE_METRICS_PUBLIC: 'ture' })).toThrow(/GATEHOUSE_METRICS_PUBLIC/);
    const saved = process.env.GATEHOUSE_METRICS_PUBLIC;
    process.env.GATEHOUSE_METRICS_PUBLIC = 'true';
    let open: Harness | undefined;
    try {
      open = await createHarness();
    } finally {
      if (saved === undefined) delete process.env.GATEHOUSE_METRICS_PUBLIC;
      else process.env.GATEHOUSE_METRICS_PUBLIC = saved;
    }
    try {
      const res = await open.request('GET', '/metrics', { token: null });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.body).toContain('# TYPE gatehouse_requests_total counter');
      // Only /metrics opens; the rest still needs a token.
      expectProblem(await open.request('GET', '/resilience', { token: null }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
    } finally {
      await open.close();
    }
  });

  describe('GET /events (Server-Sent Events)', () => {
    const saved = { ...SSE_SETTINGS };
    // Each test's stream must be gone before the next counts subscribers or drops.
    afterEach(async () => {
      Object.assign(SSE_SETTINGS, saved);
      await until(async () => (await h.request('GET', '/resilience')).json().events.subscribers === 0);
    });

    it('streams breaker transitions and config versions, and releases its listener when the client leaves', async () => {
      const s = await openStream(base, '/events', viewer);
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(s.headers['cache-control']).toContain('no-cache');
      await s.waitFor(/: connected\n\n/);
      expect((await h.request('GET', '/resilience')).json().events.subscribers).toBe(1);

      const b = BREAKERS.acquire('svc-sse', SETTINGS);
      breakers.push(b);
      b.breaker.open();
      const frame = await s.waitFor(/id: \d+\nevent: circuit-breaker\ndata: .*\n\n/);
      const data = JSON.parse(/data: (.*)/.exec(frame)![1]!);
      expect(data).toEqual({ kind: 'circuit-breaker', at: expect.any(Number), group: 'svc-sse', breaker: b.id, from: 'closed', to: 'open' });

      // A config write reloads the runtime, which announces the version.
      expect((await h.request('POST', '/services', { body: { name: 'sse-svc', url: 'http://127.0.0.1:9' } })).statusCode).toBe(201);
      const cfg = JSON.parse(/event: config\ndata: (.*)\n\n/.exec(await s.waitFor(/event: config\ndata: .*\n\n/))![1]!);
      expect(cfg).toEqual({ kind: 'config', at: expect.any(Number), version: h.runtime.loadedVersion, errors: 0 });

      s.close();
      await until(async () => (await h.request('GET', '/resilience')).json().events.subscribers === 0);
    });

    it('sends target-health transitions', async () => {
      const s = await openStream(base, '/events', ADMIN_TOKEN);
      await s.waitFor(/: connected/);
      const cfg = Value.Default(HealthchecksSchema, { passive: { enabled: true, unhealthy: { failures: 1 } } }) as NonNullable<UpstreamConfig['healthchecks']>;
      const t = healthRegistry.acquire({ upstream: 'sse-up', address: '10.0.0.1:80', host: '10.0.0.1', port: 80 }, cfg);
      held.push(t);
      t.reportStatus(500);
      const frame = await s.waitFor(/event: target-health\ndata: .*\n\n/);
      expect(JSON.parse(/data: (.*)/.exec(frame)![1]!)).toMatchObject({ kind: 'target-health', upstream: 'sse-up', target: '10.0.0.1:80', up: false });
      s.close();
    });

    it('sends a heartbeat comment on the configured interval', async () => {
      SSE_SETTINGS.heartbeatMs = 40;
      const s = await openStream(base, '/events', viewer);
      await s.waitFor(/: heartbeat\n\n[^]*: heartbeat\n\n/, 2_000);
      s.close();
    });

    it('drops events for a client whose buffer is over the bound, then tells it how many', async () => {
      const s = await openStream(base, '/events', viewer);
      await s.waitFor(/: connected/);
      const before = (await h.request('GET', '/resilience')).json().events.dropped as number;
      // A negative bound makes every connection count as saturated.
      SSE_SETTINGS.maxBufferedBytes = -1;
      const b = BREAKERS.acquire('svc-slow', SETTINGS);
      breakers.push(b);
      b.breaker.open();
      b.breaker.close();
      expect((await h.request('GET', '/resilience')).json().events.dropped).toBe(before + 2);
      expect(s.text()).not.toContain('svc-slow');
      SSE_SETTINGS.maxBufferedBytes = saved.maxBufferedBytes;
      b.breaker.open();
      const tail = await s.waitFor(/event: dropped\ndata: \{"count":2\}\n\nid: \d+\nevent: circuit-breaker\ndata: .*"to":"open".*\n\n/);
      expect(tail).toContain('svc-slow');
      s.close();
    });

    it('needs a token like the other reads', async () => {
      const anonymous = await openStream(base, '/events', null);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers['content-type']).toMatch(/^application\/problem\+json/);
      // Developer-portal accounts rank below viewer.
      expect((await h.request('POST', '/developers/signup', { token: null, body: { username: 'sse-dev', password: 'password-1234' } })).statusCode).toBe(201);
      expect((await h.request('POST', '/developers/sse-dev/approve', { body: {} })).statusCode).toBe(200);
      const dev = await openStream(base, '/events', await h.login('sse-dev', 'password-1234'));
      expect(dev.status).toBe(403);
      // A token in the query string is not accepted (it would end up in logs).
      const query = await openStream(base, `/events?access_token=${ADMIN_TOKEN}`, null);
      expect(query.status).toBe(401);
    });

    it('ends open streams when the admin app closes', async () => {
      const other = await createHarness();
      await other.app.listen('127.0.0.1', 0);
      const s = await openStream(other.app.url(), '/events', ADMIN_TOKEN);
      await s.waitFor(/: connected/);
      // Would hang until the client left if the streams were not ended first.
      await other.close();
      await until(() => Promise.resolve(s.ended()));
    });
  });
});
