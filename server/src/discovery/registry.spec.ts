// The registry and the discovering plane with a hand-driven provider (a real DiscoveryProvider whose answers
// the test decides); the DNS and etcd providers have their own specs against real servers.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { validate } from '../config/validate.js';
import { ConfigDocumentSchema, type ConfigDocument } from '../config/schema.js';
import { PLUGINS } from '../plugins/index.js';
import { InProcessProxyPlane } from '../proxy/proxy-plane.js';
import { ProxyServer } from '../proxy/proxy-server.js';
import { clampRefresh, DiscoveryRegistry, mergeDiscovered, normalizeTargets, retryDelay } from './registry.js';
import { DiscoveringProxyPlane } from './discovering-plane.js';
import type { DiscoveredTarget, DiscoveryProvider, DiscoverySink } from './types.js';

const logger = pino({ level: 'silent' });

/** Records every watch it starts; the test pushes answers through the sinks. */
function manualProvider(): DiscoveryProvider & { sinks: Map<string, DiscoverySink>; started: string[]; stopped: string[] } {
  const sinks = new Map<string, DiscoverySink>();
  const started: string[] = [];
  const stopped: string[] = [];
  return {
    name: 'dns',
    sinks,
    started,
    stopped,
    watch(upstream, _config, sink) {
      sinks.set(upstream, sink);
      started.push(upstream);
      return {
        stop: () => {
          stopped.push(upstream);
          return Promise.resolve();
        },
      };
    },
  };
}

function doc(upstreams: unknown[], extra: Partial<Record<'services' | 'routes', unknown[]>> = {}): ConfigDocument {
  const r = validate(ConfigDocumentSchema, { _format_version: '1', upstreams, ...extra });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const dnsBlock = (name: string) => ({ provider: 'dns', name, port: 8080 });
const t = (target: string, weight = 100): DiscoveredTarget => ({ target, weight });

describe('discovery helpers', () => {
  it('clamps a TTL to min..max refresh, a zero or missing TTL to the minimum', () => {
    expect(clampRefresh(0, 5_000, 300_000)).toBe(5_000);
    expect(clampRefresh(Infinity, 5_000, 300_000)).toBe(5_000);
    expect(clampRefresh(2, 5_000, 300_000)).toBe(5_000);
    expect(clampRefresh(30, 5_000, 300_000)).toBe(30_000);
    expect(clampRefresh(86_400, 5_000, 300_000)).toBe(300_000);
    // A maximum below the minimum cannot make the interval shorter than the minimum.
    expect(clampRefresh(60, 5_000, 1_000)).toBe(5_000);
  });

  it('doubles retry delays from the minimum up to the maximum', () => {
    expect([1, 2, 3, 4, 10].map((n) => retryDelay(n, 500, 3_000))).toEqual([500, 1_000, 2_000, 3_000, 3_000]);
  });

  it('normalizes answers: sorted, de-duplicated, invalid addresses and ports dropped', () => {
    expect(normalizeTargets([t('10.0.0.2:80'), t('10.0.0.1:80', 5), t('10.0.0.2:80', 7), t('bad address:80'), t('10.0.0.3:70000'), t('[::1]:81')])).toEqual([
      t('10.0.0.1:80', 5),
      t('10.0.0.2:80'),
      t('[::1]:81'),
    ]);
  });

  it('merges discovered targets after the configured ones; a configured address wins', () => {
    const d = doc([{ name: 'api', targets: [{ target: '10.0.0.1:80', weight: 10 }] }, { name: 'other' }]);
    const merged = mergeDiscovered(d, new Map([['api', [t('10.0.0.1:80', 99), t('10.0.0.2:80', 20)]]]));
    expect(merged.upstreams[0]!.targets).toEqual([
      { target: '10.0.0.1:80', weight: 10, tags: [] },
      { target: '10.0.0.2:80', weight: 20, tags: [] },
    ]);
    expect(merged.upstreams[1]).toBe(d.upstreams[1]);
    expect(d.upstreams[0]!.targets).toHaveLength(1);
    expect(mergeDiscovered(d, new Map())).toBe(d);
  });

  it('accepts the discovery block in an upstream and rejects unknown fields and providers', () => {
    expect(doc([{ name: 'api', discovery: { provider: 'etcd', prefix: '/services/api/' } }]).upstreams[0]!.discovery).toEqual({
      provider: 'etcd',
      prefix: '/services/api/',
      weight: 100,
      timeout: 5_000,
    });
    expect(doc([{ name: 'api', discovery: dnsBlock('api.internal') }]).upstreams[0]!.discovery).toMatchObject({ type: 'A', min_refresh: 5_000, max_refresh: 300_000 });
    expect(validate(ConfigDocumentSchema, { _format_version: '1', upstreams: [{ name: 'a', discovery: { provider: 'dns', name: 'x', ttl: 3 } }] }).ok).toBe(false);
    expect(validate(ConfigDocumentSchema, { _format_version: '1', upstreams: [{ name: 'a', discovery: { provider: 'zookeeper', prefix: '/x' } }] }).ok).toBe(false);
  });
});

describe('DiscoveryRegistry', () => {
  const registries: DiscoveryRegistry[] = [];
  afterEach(async () => {
    for (const r of registries.splice(0)) await r.close();
  });
  function registry(provider: DiscoveryProvider, coalesceMs = 30): DiscoveryRegistry {
    const r = new DiscoveryRegistry({ providers: [provider], logger, coalesceMs, firstAnswerMs: 50 });
    registries.push(r);
    return r;
  }

  it('keeps the last known targets through failures and reports the error until the next success', async () => {
    const p = manualProvider();
    const r = registry(p);
    await r.reconcile(doc([{ name: 'api', discovery: dnsBlock('api.internal') }]));
    expect(r.get('api')?.state).toBe('starting');
    const sink = p.sinks.get('api')!;
    sink.update([t('10.0.0.1:8080'), t('10.0.0.2:8080')]);
    sink.fail(new Error('A api.internal: ETIMEOUT'), { retryInMs: 1_000 });
    sink.fail(new Error('A api.internal: ECONNREFUSED'));
    const s = r.get('api')!;
    expect(s.state).toBe('error');
    expect(s.error).toBe('A api.internal: ECONNREFUSED');
    expect(s.consecutive_failures).toBe(2);
    expect(s.targets.map((x) => x.target)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
    expect(r.merge(doc([{ name: 'api' }])).upstreams[0]!.targets).toHaveLength(2);
    sink.update([t('10.0.0.3:8080')]);
    expect(r.get('api')).toMatchObject({ state: 'ok', error: null, consecutive_failures: 0, changes: 2, targets: [t('10.0.0.3:8080')] });
  });

  it('coalesces a burst of changes into one apply, and skips answers that change nothing', async () => {
    const p = manualProvider();
    const r = registry(p, 50);
    let applies = 0;
    r.onChange(() => {
      applies++;
      return Promise.resolve(true);
    });
    await r.reconcile(doc([{ name: 'api', discovery: dnsBlock('api.internal') }]));
    const sink = p.sinks.get('api')!;
    for (let i = 0; i < 100; i++) sink.update([t(`10.0.1.${i}:8080`)]);
    await new Promise((res) => setTimeout(res, 150));
    expect(applies).toBe(1);
    expect(r.applies()).toBe(1);
    for (let i = 0; i < 5; i++) sink.update([t('10.0.1.99:8080')]);
    await new Promise((res) => setTimeout(res, 150));
    expect(applies).toBe(1);
  });

  it('keeps an unchanged watch across config versions, restarts a changed one, stops a removed one', async () => {
    const p = manualProvider();
    const r = registry(p);
    await r.reconcile(doc([{ name: 'a', discovery: dnsBlock('a.internal') }, { name: 'b', discovery: dnsBlock('b.internal') }]));
    p.sinks.get('a')!.update([t('10.0.0.1:8080')]);
    const oldB = p.sinks.get('b')!;
    await r.reconcile(doc([{ name: 'a', discovery: dnsBlock('a.internal') }, { name: 'b', discovery: dnsBlock('b2.internal') }]));
    expect(p.started).toEqual(['a', 'b', 'b']);
    expect(p.stopped).toEqual(['b']);
    expect(r.get('a')?.targets).toHaveLength(1);
    // The replaced watch's sink is dead: a late answer cannot resurrect its targets.
    oldB.update([t('10.9.9.9:1')]);
    expect(r.get('b')?.targets).toEqual([]);
    await r.reconcile(doc([{ name: 'b', discovery: dnsBlock('b2.internal') }]));
    expect(p.stopped).toEqual(['b', 'a']);
    expect(r.list().map((s) => s.upstream)).toEqual(['b']);
  });

  it('waits for first answers before resolving reconcile, bounded by firstAnswerMs', async () => {
    const slow: DiscoveryProvider = { name: 'dns', watch: () => ({ stop: () => Promise.resolve() }) };
    const r = registry(slow);
    const t0 = Date.now();
    await r.reconcile(doc([{ name: 'api', discovery: dnsBlock('api.internal') }]));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
    const fast: DiscoveryProvider = { name: 'dns', watch: (_u, _c, sink) => (sink.update([t('10.0.0.1:80')]), { stop: () => Promise.resolve() }) };
    const r2 = new DiscoveryRegistry({ providers: [fast], logger, firstAnswerMs: 5_000 });
    registries.push(r2);
    const t1 = Date.now();
    await r2.reconcile(doc([{ name: 'api', discovery: dnsBlock('api.internal') }]));
    expect(Date.now() - t1).toBeLessThan(1_000);
    expect(r2.get('api')?.state).toBe('ok');
  });

  it('reports an error for a provider this node does not run', async () => {
    const r = new DiscoveryRegistry({ providers: [], logger, firstAnswerMs: 50 });
    registries.push(r);
    await r.reconcile(doc([{ name: 'api', discovery: { provider: 'etcd', prefix: '/x/' } }]));
    expect(r.get('api')).toMatchObject({ state: 'error', error: "no discovery provider 'etcd' on this node" });
  });
});

describe('DiscoveringProxyPlane with a real proxy', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function upstream(name: string): Promise<number> {
    const s: Server = createServer((_req, res) => res.end(name));
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
    closers.push(() => new Promise((res) => (s.closeAllConnections(), s.close(() => res()))));
    return (s.address() as { port: number }).port;
  }

  it('sends traffic to discovered targets, follows changes without a new version, and keeps targets on failure', async () => {
    const [a, b] = [await upstream('a'), await upstream('b')];
    const p = manualProvider();
    const registry = new DiscoveryRegistry({ providers: [p], logger, coalesceMs: 20, firstAnswerMs: 50 });
    closers.push(() => registry.close());
    const server = new ProxyServer({ trustedProxies: [], logger });
    const inner = new InProcessProxyPlane(server, PLUGINS, logger);
    const versions: number[] = [];
    const recording = Object.assign(Object.create(inner) as InProcessProxyPlane, {
      apply: (d: ConfigDocument, v: number) => (versions.push(v), inner.apply(d, v)),
    });
    const plane = new DiscoveringProxyPlane(recording, registry, logger);
    await plane.listen('127.0.0.1', 0);
    closers.push(() => plane.close(100));
    const proxyPort = server.address().port;
    const d = doc([{ name: 'api', discovery: dnsBlock('api.internal') }], {
      services: [{ name: 's', host: 'api' }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
    await plane.apply(d, 7);
    const get = async () => (await fetch(`http://127.0.0.1:${proxyPort}/`)).text().catch(() => 'error');
    // No targets discovered yet: the upstream is empty.
    expect((await fetch(`http://127.0.0.1:${proxyPort}/`)).status).toBe(503);

    const sink = p.sinks.get('api')!;
    sink.update([t(`127.0.0.1:${a}`)]);
    await expect.poll(get, { timeout: 2_000 }).toBe('a');
    sink.update([t(`127.0.0.1:${b}`)]);
    await expect.poll(get, { timeout: 2_000 }).toBe('b');
    sink.fail(new Error('resolver down'));
    await new Promise((res) => setTimeout(res, 100));
    expect(await get()).toBe('b');
    expect(new Set(versions)).toEqual(new Set([7]));
    expect(versions.length).toBe(3);
    expect(registry.applies()).toBe(2);
  });

  it("hands a write's prepared merge to the inner plane, unless discovered targets moved in between", async () => {
    const p = manualProvider();
    const registry = new DiscoveryRegistry({ providers: [p], logger, coalesceMs: 20, firstAnswerMs: 50 });
    closers.push(() => registry.close());
    const inner = new InProcessProxyPlane(new ProxyServer({ trustedProxies: [], logger }), PLUGINS, logger);
    const prepared: ConfigDocument[] = [];
    const applied: ConfigDocument[] = [];
    const recording = Object.assign(Object.create(inner) as InProcessProxyPlane, {
      prepare: (d: ConfigDocument) => void prepared.push(d),
      apply: (d: ConfigDocument, v: number) => (applied.push(d), inner.apply(d, v)),
    });
    const plane = new DiscoveringProxyPlane(recording, registry, logger);
    const d1 = doc([{ name: 'api', discovery: dnsBlock('api.internal') }], { services: [{ name: 's', host: 'api' }] });
    await plane.apply(d1, 1);
    p.sinks.get('api')!.update([t('127.0.0.1:1')]);
    await expect.poll(() => registry.applies(), { timeout: 2_000 }).toBe(1);

    const d2 = doc([{ name: 'api', discovery: dnsBlock('api.internal') }], { services: [{ name: 's', host: 'api', path: '/v2' }] });
    plane.prepare(d2, Promise.resolve(true));
    await plane.apply(d2, 2);
    expect(applied.at(-1)).toBe(prepared[0]);
    expect(prepared[0]!.upstreams[0]!.targets.map((x) => x.target)).toEqual(['127.0.0.1:1']);

    const d3 = doc([{ name: 'api', discovery: dnsBlock('api.internal') }], { services: [{ name: 's', host: 'api', path: '/v3' }] });
    plane.prepare(d3, Promise.resolve(true));
    p.sinks.get('api')!.update([t('127.0.0.1:2')]);
    expect(registry.merge(d3).upstreams[0]!.targets.map((x) => x.target)).toEqual(['127.0.0.1:2']);
    await plane.apply(d3, 3);
    expect(applied.at(-1)).not.toBe(prepared[1]);
    expect(applied.at(-1)!.upstreams[0]!.targets.map((x) => x.target)).toEqual(['127.0.0.1:2']);
  });
});
