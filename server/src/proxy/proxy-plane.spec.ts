// The resilience part of the proxy-plane protocol: what the in-process plane reads and purges, and what the
// worker answers the control thread — passed through a real MessagePort, so it must survive structured clone.
import { createServer } from 'node:http';
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConfigDocument } from '../config/schema.js';
import { healthRegistry } from '../resilience/health.js';
import type { Snapshot } from './snapshot.js';
import { pino } from 'pino';
import { BREAKERS, type BreakerSettings, type ServiceBreaker } from '../resilience/circuit-breaker.js';
import { CachedResponse, memoryStoreFor } from '../plugins/proxy-cache/store.js';
import { PLUGINS } from '../plugins/index.js';
import type { GatewayEvent } from '../observability/events.js';
import { routeShadow, type ShadowSample } from '../traffic/shadow-store.js';
import { splitCounter } from '../traffic/split-stats.js';
import { answerResilienceRequest, documentMessage, documentOf, InProcessProxyPlane, type ToWorker, type WorkerDone } from './proxy-plane.js';
import { withJson } from '../config/document-json.js';
import { ProxyServer } from './proxy-server.js';
import { RequestMetrics } from '../observability/request-metrics.js';
import { checkedDocument, send, startGateway } from './test-support/harness.js';

const SETTINGS: BreakerSettings = { errorThresholdPercentage: 50, volumeThreshold: 5, rollingWindowMs: 10_000, rollingBuckets: 10, resetTimeoutMs: 60_000 };
const KEY = 'c'.repeat(64);

function plane(server?: ProxyServer): InProcessProxyPlane {
  const logger = pino({ level: 'silent' });
  return new InProcessProxyPlane(server ?? new ProxyServer({ trustedProxies: [], logger }), PLUGINS, logger);
}

function routesDocument(...names: string[]): ConfigDocument {
  return checkedDocument({ services: [{ name: 's', url: 'http://127.0.0.1:9' }], routes: names.map((name) => ({ name, service: 's', paths: [`/${name}`] })) });
}

describe('proxy plane: a snapshot built ahead of its commit', () => {
  it('apply() of the prebuilt document swaps in that snapshot under the committed version', async () => {
    const server = new ProxyServer({ trustedProxies: [], logger: pino({ level: 'silent' }) });
    const p = plane(server);
    const doc = routesDocument('a');
    p.prebuild(doc);
    // Changed after the build (a stored document never is): the swapped-in snapshot shows it was not rebuilt.
    doc.routes.push(routesDocument('b').routes[0]!);
    await p.apply(doc, 7);
    expect(server.snapshot.version).toBe(7);
    expect(server.snapshot.router.size).toBe(1);
    // Any other document is built on the spot.
    await p.apply(routesDocument('a', 'b'), 8);
    expect(server.snapshot.version).toBe(8);
    expect(server.snapshot.router.size).toBe(2);
  });

  it('a replaced prebuild is closed, and one that another document overtakes is dropped', async () => {
    const server = new ProxyServer({ trustedProxies: [], logger: pino({ level: 'silent' }) });
    const p = plane(server);
    const prebuiltClose = () => vi.spyOn((p as unknown as { prebuilt: { snapshot: Snapshot } }).prebuilt.snapshot, 'close');
    const first = routesDocument('a');
    p.prebuild(first);
    const firstClosed = prebuiltClose();
    const second = routesDocument('a', 'b');
    p.prebuild(second);
    expect(firstClosed).toHaveBeenCalledTimes(1);
    const secondClosed = prebuiltClose();
    // Another document goes live first (an older version, a discovery re-apply): the prebuild is dropped,
    // and the later apply of its document builds it anew.
    await p.apply(routesDocument('c'), 3);
    expect(secondClosed).toHaveBeenCalledTimes(1);
    second.routes.pop();
    await p.apply(second, 4);
    expect(server.snapshot.router.size).toBe(1);
    await expect(p.commitPrebuilt(5)).rejects.toThrow(/without a prepared document/);
  });

  it("a discarded prebuild gives the shared registries back the serving document's settings", async () => {
    const server = new ProxyServer({ trustedProxies: [], logger: pino({ level: 'silent' }) });
    const p = plane(server);
    const withEject = (ms: number): ConfigDocument =>
      checkedDocument({
        services: [{ name: 's', host: 'plane-up' }],
        routes: [{ name: 'r', service: 's', paths: ['/r'] }],
        upstreams: [{ name: 'plane-up', targets: [{ target: '127.0.0.1:9' }], healthchecks: { passive: { enabled: true, eject_duration: ms } } }],
      });
    const health = () => (healthRegistry as unknown as { entries: Map<string, { configKey: string }> }).entries.get('plane-up|127.0.0.1:9')?.configKey ?? '';
    try {
      await p.apply(withEject(1_000), 1);
      const serving = server.snapshot;
      expect(health()).toContain('"eject_duration":1000');
      // Building a snapshot sets the target's health settings (the newest build wins)…
      p.prebuild(withEject(2_000));
      expect(health()).toContain('"eject_duration":2000');
      // …so when its write fails, the serving document is built again.
      await p.discardPrebuilt();
      expect(health()).toContain('"eject_duration":1000');
      expect(server.snapshot).not.toBe(serving);
      expect(server.snapshot.version).toBe(1);
    } finally {
      await p.apply(routesDocument(), 9);
    }
  });
});

function throughPort<T>(value: T): Promise<T> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port2.once('message', (m: T) => {
      port1.close();
      resolve(m);
    });
    port1.postMessage(value);
  });
}

describe('proxy plane: resilience protocol', () => {
  const held: ServiceBreaker[] = [];
  afterEach(() => {
    for (const b of held.splice(0)) BREAKERS.release(b);
  });

  it('in process: reads the registries, and feeds transitions until unsubscribed', async () => {
    const p = plane();
    const events: GatewayEvent[] = [];
    const off = p.onEvent((e) => events.push(e));
    const b = BREAKERS.acquire('plane-group', SETTINGS);
    held.push(b);
    b.breaker.open();
    expect(events).toEqual([{ kind: 'circuit-breaker', at: expect.any(Number), group: 'plane-group', breaker: b.id, from: 'closed', to: 'open' }]);
    const view = await p.resilience();
    expect(view.breakers.find((v) => v.id === b.id)?.state).toBe('open');
    expect(view.breaker_transitions).toContainEqual({ group: 'plane-group', to: 'open', count: expect.any(Number) });
    off();
    b.breaker.close();
    expect(events).toHaveLength(1);
  });

  it('keeps transition totals after the breaker is released (a counter never goes back)', async () => {
    const p = plane();
    const total = async () => (await p.resilience()).breaker_transitions.find((t) => t.group === 'released-group' && t.to === 'open')?.count ?? 0;
    const b = BREAKERS.acquire('released-group', SETTINGS);
    b.breaker.open();
    BREAKERS.release(b);
    expect((await p.resilience()).breakers.some((v) => v.group === 'released-group')).toBe(false);
    expect(await total()).toBe(1);
  });

  it('worker side: answers `resilience` and `purge-cache` with structured-clonable results, ignores the rest', async () => {
    const p = plane();
    const b = BREAKERS.acquire('worker-group', SETTINGS);
    held.push(b);
    b.breaker.open();
    const reply = await answerResilienceRequest(p, { type: 'resilience', id: 7 });
    const received = await throughPort(reply);
    expect(received).toEqual(reply);
    expect(received).toMatchObject({ type: 'done', id: 7 });
    const view = (received as WorkerDone).result as Awaited<ReturnType<InProcessProxyPlane['resilience']>>;
    expect(view.breakers.find((v) => v.id === b.id)).toMatchObject({ state: 'open', transitions: { opened: 1 } });
    expect(Object.keys(view).sort()).toEqual(['breaker_transitions', 'breakers', 'cache', 'limits_store', 'load_shedding', 'request_size', 'targets', 'traffic']);

    const now = Date.now();
    memoryStoreFor('plane-spec', 10, 100_000).set(KEY, new CachedResponse(200, {}, Buffer.from('x'), now, now + 60_000, 0, undefined, NaN));
    expect(await throughPort(await answerResilienceRequest(p, { type: 'purge-cache', id: 8, key: KEY }))).toEqual({ type: 'done', id: 8, result: 1 });
    expect(await answerResilienceRequest(p, { type: 'purge-cache', id: 9, key: KEY })).toEqual({ type: 'done', id: 9, result: 0 });
    expect(await answerResilienceRequest(p, { type: 'listen', id: 10, host: '127.0.0.1', port: 0 } satisfies ToWorker)).toBeUndefined();
  });

  it('worker side: answers `shadow-samples` and `clear-shadow-samples`; the view carries the traffic counters', async () => {
    const p = plane();
    // What mirror records for a route (traffic/mirror.ts), through the store's own API.
    const r = routeShadow('plane-route', 5);
    r.shadowService = 'plane-shadow';
    r.counters.mirrored += 2;
    r.counters.compared += 2;
    r.counters.mismatched += 2;
    const sample = (i: number): ShadowSample => ({
      at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
      route: 'plane-route',
      shadow_service: 'plane-shadow',
      request_id: `req-${i}`,
      method: 'GET',
      path: `/p/${i}`,
      primary: { status: 200, latency_ms: 1.5, headers: { 'x-v': '1' } },
      shadow: { status: 500, latency_ms: 2, error: 'n/a' },
      differences: [{ kind: 'status', primary: 200, shadow: 500 }, { kind: 'body', pointer: '/a', primary: '1' }],
    });
    r.samples.push(sample(1));
    r.samples.push(sample(2));
    routeShadow('plane-other', 5).samples.push({ ...sample(3), route: 'plane-other' });
    splitCounter('plane-route', 'plane-canary').requests += 3;

    const view = (await throughPort(await answerResilienceRequest(p, { type: 'resilience', id: 1 })) as WorkerDone).result as Awaited<ReturnType<InProcessProxyPlane['resilience']>>;
    expect(view.traffic.shadow).toContainEqual(expect.objectContaining({ route: 'plane-route', shadow_service: 'plane-shadow', mirrored: 2, mismatched: 2 }));
    expect(view.traffic.split).toContainEqual({ scope: 'plane-route', service: 'plane-canary', requests: 3, unavailable: 0 });

    const one = await throughPort(await answerResilienceRequest(p, { type: 'shadow-samples', id: 2, route: 'plane-route' }));
    expect(one).toEqual({ type: 'done', id: 2, result: [sample(2), sample(1)] });
    const all = ((await throughPort(await answerResilienceRequest(p, { type: 'shadow-samples', id: 3 }))) as WorkerDone).result as ShadowSample[];
    expect(all.map((x) => x.request_id)).toEqual(['req-3', 'req-2', 'req-1']);
    expect(await answerResilienceRequest(p, { type: 'shadow-samples', id: 4, route: 'no-such-route' })).toEqual({ type: 'done', id: 4, result: [] });

    expect(await throughPort(await answerResilienceRequest(p, { type: 'clear-shadow-samples', id: 5, route: 'plane-route' }))).toEqual({ type: 'done', id: 5, result: 2 });
    expect(await p.shadowSamples('plane-route')).toEqual([]);
    expect(await p.shadowSamples('plane-other')).toHaveLength(1);
    expect(await answerResilienceRequest(p, { type: 'clear-shadow-samples', id: 6 })).toEqual({ type: 'done', id: 6, result: 1 });
    expect(await p.shadowSamples()).toEqual([]);
    // Clearing records keeps the counters.
    expect((await p.resilience()).traffic.shadow).toContainEqual(expect.objectContaining({ route: 'plane-route', mirrored: 2 }));
  });

  it('worker side: answers `metrics` with the request metrics of the proxy as Prometheus text, empty when they are off', async () => {
    const metrics = new RequestMetrics();
    const gw = await startGateway({ routes: [{ name: 'plane-metrics', paths: ['/m'] }], plugins: [{ name: 'request-termination', route: 'plane-metrics', config: { status_code: 503 } }] }, [], { observer: metrics });
    try {
      const logger = pino({ level: 'silent' });
      const p = new InProcessProxyPlane(gw.proxy, PLUGINS, logger, undefined, metrics);
      expect((await send(gw.port, '/m')).status).toBe(503);
      let text = '';
      for (let i = 0; i < 50 && !text.includes('code_class="5xx"} 1'); i++) {
        const reply = (await throughPort(await answerResilienceRequest(p, { type: 'metrics', id: 11 }))) as WorkerDone;
        expect(reply).toMatchObject({ type: 'done', id: 11 });
        text = reply.result as string;
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(text).toContain('# TYPE gatehouse_http_requests_total counter\n');
      expect(text).toContain('gatehouse_http_requests_total{route="plane-metrics",service="",code_class="5xx"} 1\n');
      expect(await answerResilienceRequest(plane(), { type: 'metrics', id: 12 })).toEqual({ type: 'done', id: 12, result: '' });
    } finally {
      await gw.close();
    }
  });

  it('events survive structured clone too', async () => {
    const p = plane();
    const got: GatewayEvent[] = [];
    const off = p.onEvent((e) => got.push(e));
    const b = BREAKERS.acquire('clone-group', SETTINGS);
    held.push(b);
    b.breaker.open();
    off();
    expect(await throughPort({ type: 'event', event: got[0] })).toEqual({ type: 'event', event: got[0] });
  });
});

describe('proxy plane: upstream connections across config versions', () => {
  it('keeps the keep-alive connection to a target the new version still uses', async () => {
    let connections = 0;
    const up = createServer((_req, res) => res.end('ok'));
    up.on('connection', () => connections++);
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(up.address() as { port: number }).port}`;
    const server = new ProxyServer({ trustedProxies: [], logger: pino({ level: 'silent' }) });
    await server.listen('127.0.0.1', 0);
    const port = server.address().port;
    const doc = (...names: string[]) => checkedDocument({ services: [{ name: 's', url }], routes: names.map((name) => ({ name, service: 's', paths: [`/${name}`] })) });
    try {
      const p = plane(server);
      await p.apply(doc('a'), 1);
      expect((await send(port, '/a')).body).toBe('ok');
      await p.apply(doc('a', 'b'), 2);
      expect((await send(port, '/b')).body).toBe('ok');
      p.prebuild(doc('a', 'b', 'c'));
      await p.commitPrebuilt(3);
      expect((await send(port, '/c')).body).toBe('ok');
      expect(connections).toBe(1);
    } finally {
      await server.close(100);
      up.closeAllConnections();
      up.close();
    }
  });
});

describe('documents posted to the proxy worker', () => {
  const doc = (): ConfigDocument =>
    ({ _format_version: '1', services: [], routes: [], upstreams: [], consumers: [], plugins: [{ name: 'request-validator', config: { body_schema: { type: 'number', maximum: Infinity } } }] }) as unknown as ConfigDocument;

  it("go as the store's own JSON text when it kept one", () => {
    const d = doc();
    const text = JSON.stringify({ ...d, plugins: [] });
    const m = documentMessage(withJson(d, text));
    expect(m).toEqual({ text });
    expect(documentOf(structuredClone(m))).toEqual(JSON.parse(text));
  });

  it('go as objects otherwise, keeping what JSON cannot hold (a YAML file can have `.inf`)', () => {
    const m = documentMessage(doc());
    const got = documentOf(structuredClone(m)) as unknown as { plugins: { config: { body_schema: { maximum: number } } }[] };
    expect(got.plugins[0]!.config.body_schema.maximum).toBe(Infinity);
  });
});
