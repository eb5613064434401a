// Routes from Ingresses and HTTPRoutes: the translation, checked by the config checker, then the whole path
// (API server stand-in → KubernetesRoutes + kubernetes discovery → DiscoveringProxyPlane → a real ProxyServer).
import { createServer, request, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { checkDocument } from '../config/check.js';
import { validate } from '../config/validate.js';
import { ConfigDocumentSchema, type ConfigDocument } from '../config/schema.js';
import { PLUGINS } from '../plugins/index.js';
import { InProcessProxyPlane } from '../proxy/proxy-plane.js';
import { ProxyServer } from '../proxy/proxy-server.js';
import { DiscoveringProxyPlane } from './discovering-plane.js';
import { contribute, entityName, KubernetesRoutes, translate, type HttpRoute, type Ingress } from './kubernetes-routes.js';
import { kubernetesProvider } from './providers/kubernetes.js';
import { loadKubeClient } from './providers/kubernetes-client.js';
import { DiscoveryRegistry } from './registry.js';
import { DiscoveryController, discoveryView } from './admin.js';
import { endpointSlice, service, startKubeApiStandin, type KubeApiStandin, type KubeObject } from './test-support/kube-api-standin.js';

const logger = pino({ level: 'silent' });

function emptyDoc(extra: Record<string, unknown> = {}): ConfigDocument {
  const r = validate(ConfigDocumentSchema, { _format_version: '1', ...extra });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

function ingress(namespace: string, name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): KubeObject & Ingress {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace, ...(annotations ? { annotations } : {}) }, spec, status: { loadBalancer: {} } } as KubeObject & Ingress;
}

function httpRoute(namespace: string, name: string, spec: Record<string, unknown>): KubeObject & HttpRoute {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace }, spec, status: { parents: [] } } as KubeObject & HttpRoute;
}

const backend = (name: string, port: number | string) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });

describe('translating Ingresses and HTTPRoutes', () => {
  const settings = { ingressClass: 'gatehouse', gateway: 'infra/public', namespace: undefined };

  it('turns Ingress rules of the class into routes on per-backend services and discovered upstreams', () => {
    const c = translate(
      [
        ingress('shop', 'web', {
          ingressClassName: 'gatehouse',
          defaultBackend: backend('fallback', 80),
          rules: [
            {
              host: 'shop.example.com',
              http: {
                paths: [
                  { path: '/cart/', pathType: 'Prefix', backend: backend('cart', 80) },
                  { path: '/healthz', pathType: 'Exact', backend: backend('cart', 'http') },
                  { path: '/static', pathType: 'ImplementationSpecific', backend: backend('cdn', 8080) },
                  { path: '/bucket', pathType: 'Prefix', backend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'b' } } },
                ],
              },
            },
            { http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('cart', 80) }] } },
          ],
        }),
        ingress('shop', 'other-class', { ingressClassName: 'nginx', rules: [{ http: { paths: [{ path: '/x', pathType: 'Prefix', backend: backend('x', 80) }] } }] }),
        ingress('shop', 'legacy', { rules: [{ host: '*.legacy.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('old', 80) }] } }] }, { 'kubernetes.io/ingress.class': 'gatehouse' }),
      ],
      [],
      settings,
    );
    expect(c.routes.map((r) => [r.name, r.hosts, r.paths, r.service, r.priority, r.strip_path, r.preserve_host])).toEqual([
      ['k8s.ing.shop.legacy.0.0', ['*.legacy.example.com'], ['/'], 'k8s.shop.old.80', 1, false, true],
      ['k8s.ing.shop.web.0.0', ['shop.example.com'], ['/cart'], 'k8s.shop.cart.80', 2, false, true],
      ['k8s.ing.shop.web.0.1', ['shop.example.com'], ['=/healthz'], 'k8s.shop.cart.http', 2, false, true],
      ['k8s.ing.shop.web.0.2', ['shop.example.com'], ['/static'], 'k8s.shop.cdn.8080', 2, false, true],
      ['k8s.ing.shop.web.1.0', [], ['/'], 'k8s.shop.cart.80', 0, false, true],
      ['k8s.ing.shop.web.default', [], [], 'k8s.shop.fallback.80', -1, false, true],
    ]);
    expect(c.upstreams.map((u) => [u.name, u.discovery])).toEqual([
      ['k8s.shop.old.80', { provider: 'kubernetes', namespace: 'shop', service: 'old', port: 80, weight: 100, timeout: 10_000 }],
      ['k8s.shop.cart.80', { provider: 'kubernetes', namespace: 'shop', service: 'cart', port: 80, weight: 100, timeout: 10_000 }],
      ['k8s.shop.cart.http', { provider: 'kubernetes', namespace: 'shop', service: 'cart', port: 'http', weight: 100, timeout: 10_000 }],
      ['k8s.shop.cdn.8080', { provider: 'kubernetes', namespace: 'shop', service: 'cdn', port: 8080, weight: 100, timeout: 10_000 }],
      ['k8s.shop.fallback.80', { provider: 'kubernetes', namespace: 'shop', service: 'fallback', port: 80, weight: 100, timeout: 10_000 }],
    ]);
    expect(c.services.every((s) => s.host === s.name && s.tags.includes('kubernetes'))).toBe(true);
    expect(c.skipped).toEqual(['Ingress shop/web rule 0 path 3: only Service backends are supported']);
    // The result is a valid document for the config checker (plugins included).
    expect(checkDocument(contribute(emptyDoc(), c), PLUGINS)).toMatchObject({ ok: true });
  });

  it('turns HTTPRoutes attached to the Gateway into routes with matches, and weighted backendRefs into traffic-split', () => {
    const c = translate(
      [],
      [
        httpRoute('shop', 'api', {
          parentRefs: [{ name: 'public', namespace: 'infra' }],
          hostnames: ['api.example.com'],
          rules: [
            {
              matches: [
                { path: { type: 'PathPrefix', value: '/v1' }, method: 'GET', headers: [{ name: 'x-tier', value: 'gold' }, { type: 'RegularExpression', name: 'x-id', value: '^[0-9]+$' }] },
                { path: { type: 'Exact', value: '/v1/ping' }, queryParams: [{ name: 'probe', value: '1' }] },
              ],
              backendRefs: [{ name: 'api-v1', port: 80, weight: 90 }, { name: 'api-v2', port: 80, weight: 10 }, { name: 'api-v3', port: 80, weight: 0 }],
            },
            { matches: [{ path: { type: 'RegularExpression', value: '/items/(?<id>[0-9]+)$' } }], backendRefs: [{ name: 'items', port: 8080 }] },
            { backendRefs: [{ name: 'secret', namespace: 'bank', port: 80 }] },
          ],
        }),
        httpRoute('shop', 'elsewhere', { parentRefs: [{ name: 'public' }], rules: [{ backendRefs: [{ name: 'x', port: 80 }] }] }),
      ],
      settings,
    );
    expect(c.routes.map((r) => [r.name, r.hosts, r.paths, r.methods, r.headers, r.query, r.service])).toEqual([
      ['k8s.hr.shop.api.0.0', ['api.example.com'], ['/v1'], ['GET'], { 'x-tier': ['gold'], 'x-id': ['~^[0-9]+$'] }, undefined, 'k8s.shop.api-v1.80'],
      ['k8s.hr.shop.api.0.1', ['api.example.com'], ['=/v1/ping'], [], undefined, { probe: ['1'] }, 'k8s.shop.api-v1.80'],
      ['k8s.hr.shop.api.1.0', ['api.example.com'], ['~/items/(?<id>[0-9]+)$'], [], undefined, undefined, 'k8s.shop.items.8080'],
    ]);
    const split = { targets: [{ service: 'k8s.shop.api-v1.80', weight: 90 }, { service: 'k8s.shop.api-v2.80', weight: 10 }], sticky: { by: 'none' } };
    expect(c.plugins.map((p) => [p.name, p.route, p.config])).toMatchObject([
      ['traffic-split', 'k8s.hr.shop.api.0.0', split],
      ['traffic-split', 'k8s.hr.shop.api.0.1', split],
    ]);
    // `elsewhere` names Gateway `public` in its own namespace (shop), not infra/public.
    expect(c.skipped).toEqual([
      'HTTPRoute shop/api rule 2: backendRef bank/secret: other namespaces are refused (no ReferenceGrant support)',
      'HTTPRoute shop/api rule 2: no backend with a weight above 0',
    ]);
    expect(checkDocument(contribute(emptyDoc(), c), PLUGINS)).toMatchObject({ ok: true });
  });

  it('lets stored entities win over generated ones of the same name, and keeps long names valid', () => {
    const c = translate([ingress('a', 'b', { ingressClassName: 'gatehouse', rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('s', 80) }] } }] })], [], settings);
    const stored = emptyDoc({ services: [{ name: 'k8s.a.s.80', url: 'http://stored.internal' }] });
    const merged = contribute(stored, c);
    expect(merged.services.filter((s) => s.name === 'k8s.a.s.80')).toEqual([stored.services[0]]);
    expect(merged.routes.map((r) => r.name)).toEqual(['k8s.ing.a.b.0.0']);
    const long = entityName('k8s', 'hr', 'n'.repeat(63), 'r'.repeat(200), 0, 0);
    expect(long.length).toBeLessThanOrEqual(128);
    expect(long).toMatch(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/);
    expect(long).not.toBe(entityName('k8s', 'hr', 'n'.repeat(63), 'r'.repeat(200), 0, 1));
  });
});

describe('Kubernetes routes through a real proxy', () => {
  let api: KubeApiStandin;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    api = await startKubeApiStandin();
    await loadKubeClient();
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function upstream(name: string): Promise<number> {
    const s: Server = createServer((req, res) => res.end(`${name} ${req.headers.host} ${req.url}`));
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
    closers.push(() => new Promise((res) => (s.closeAllConnections(), s.close(() => res()))));
    return (s.address() as { port: number }).port;
  }

  function get(port: number, host: string, path: string, method = 'GET'): Promise<string> {
    return new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      req.on('error', (e) => resolve(`error ${e.message}`));
      req.end();
    });
  }

  async function gateway(settings: { ingressClass?: string; gateway?: string }) {
    const connection = { kubeconfig: api.kubeconfig };
    const registry = new DiscoveryRegistry({ providers: [kubernetesProvider as never], logger, coalesceMs: 20, firstAnswerMs: 5_000, defaults: { kubernetes: connection } });
    const routes = new KubernetesRoutes({ settings: { ingressClass: settings.ingressClass, gateway: settings.gateway, namespace: undefined }, connection, logger, coalesceMs: 20, firstAnswerMs: 5_000 });
    const server = new ProxyServer({ trustedProxies: [], logger });
    const plane = new DiscoveringProxyPlane(new InProcessProxyPlane(server, PLUGINS, logger), registry, logger, [routes]);
    await plane.listen('127.0.0.1', 0);
    closers.push(async () => {
      await plane.close(100);
      await routes.close();
      await registry.close();
    });
    return { registry, routes, plane, port: server.address().port };
  }

  it('serves Ingress rules to the Service endpoints, follows Ingress and endpoint changes, and keeps routes while the API is down', async () => {
    const [cart1, cart2, health] = [await upstream('cart-1'), await upstream('cart-2'), await upstream('health')];
    api.apply(service('web', 'cart', [{ name: 'http', port: 80, targetPort: cart1 }]));
    api.apply(endpointSlice('web', 'cart-abc', 'cart', [{ name: 'http', port: cart1 }], [{ ip: '127.0.0.1' }]));
    api.apply(endpointSlice('web', 'health-abc', 'health', [{ name: 'http', port: health }], [{ ip: '127.0.0.1' }]));
    api.apply(ingress('web', 'shop', {
      ingressClassName: 'gatehouse',
      rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/cart', pathType: 'Prefix', backend: backend('cart', 80) }, { path: '/healthz', pathType: 'Exact', backend: backend('health', 'http') }] } }],
    }));
    api.apply(ingress('web', 'not-ours', { ingressClassName: 'nginx', rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('health', 'http') }] } }] }));
    const gw = await gateway({ ingressClass: 'gatehouse' });
    // The stored config is empty: everything served comes from the cluster.
    await gw.plane.apply(emptyDoc(), 3);

    expect(await get(gw.port, 'shop.example.com', '/cart/items?x=1')).toBe('200 cart-1 shop.example.com /cart/items?x=1');
    expect(await get(gw.port, 'shop.example.com', '/healthz')).toBe('200 health shop.example.com /healthz');
    expect(await get(gw.port, 'shop.example.com', '/healthz/deep')).toMatch(/^404 /);
    expect(await get(gw.port, 'other.example.com', '/cart')).toMatch(/^404 /);
    expect(gw.routes.status()).toMatchObject({ state: 'ok', ingresses: 2, routes: ['k8s.ing.web.shop.0.0', 'k8s.ing.web.shop.0.1'] });
    expect(gw.registry.get('k8s.web.cart.80')).toMatchObject({ provider: 'kubernetes', state: 'ok' });
    // GET /discovery shows both: the upstreams' endpoints and the routes' source.
    const admin = new DiscoveryController(discoveryView(gw.registry, gw.routes));
    expect(admin.list().kubernetes_routes).toEqual({ state: 'ok', error: null, ingresses: 2, http_routes: 0, routes: ['k8s.ing.web.shop.0.0', 'k8s.ing.web.shop.0.1'], skipped: [] });
    expect(admin.list().data.map((d) => d.upstream)).toContain('k8s.web.cart.80');
    expect(new DiscoveryController(discoveryView(gw.registry, undefined)).list().kubernetes_routes).toBeNull();

    // A rolling update: the new pod becomes ready, the old one stops being ready.
    api.apply(endpointSlice('web', 'cart-abc', 'cart', [{ name: 'http', port: cart2 }], [{ ip: '127.0.0.1' }]));
    await expect.poll(() => get(gw.port, 'shop.example.com', '/cart'), { timeout: 3_000 }).toBe('200 cart-2 shop.example.com /cart');

    // A path added to the Ingress is served without a config version.
    api.apply(ingress('web', 'shop', {
      ingressClassName: 'gatehouse',
      rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/cart', pathType: 'Prefix', backend: backend('cart', 80) }, { path: '/healthz', pathType: 'Exact', backend: backend('health', 'http') }, { path: '/status', pathType: 'Prefix', backend: backend('health', 'http') }] } }],
    }));
    await expect.poll(() => get(gw.port, 'shop.example.com', '/status/all'), { timeout: 3_000 }).toBe('200 health shop.example.com /status/all');

    // The API server goes away: routes and targets stay, the error is reported.
    await api.stop();
    await expect.poll(() => gw.routes.status().state, { timeout: 5_000 }).toBe('error');
    expect(gw.routes.status().error).toMatch(/^Ingress: (ECONNREFUSED|UND_ERR_SOCKET)/);
    expect(admin.list().kubernetes_routes).toMatchObject({ state: 'error', error: expect.stringMatching(/^Ingress: /), routes: ['k8s.ing.web.shop.0.0', 'k8s.ing.web.shop.0.1', 'k8s.ing.web.shop.0.2'] });
    expect(await get(gw.port, 'shop.example.com', '/cart')).toBe('200 cart-2 shop.example.com /cart');
    expect(await get(gw.port, 'shop.example.com', '/status')).toBe('200 health shop.example.com /status');

    // Back, with the Ingress deleted meanwhile: the re-list removes its routes.
    api.remove('Ingress', 'web', 'shop');
    await api.start();
    await expect.poll(() => get(gw.port, 'shop.example.com', '/cart'), { timeout: 10_000 }).toMatch(/^404 /);
    expect(gw.routes.status()).toMatchObject({ state: 'ok', error: null, routes: [] });
  }, 30_000);

  it('serves HTTPRoutes attached to the Gateway, matching method and headers, splitting by backendRef weight', async () => {
    const [v1, v2] = [await upstream('v1'), await upstream('v2')];
    api.apply(service('api', 'app-v1', [{ port: 80, targetPort: v1 }]));
    api.apply(service('api', 'app-v2', [{ port: 80, targetPort: v2 }]));
    api.apply(endpointSlice('api', 'app-v1-1', 'app-v1', [{ port: v1 }], [{ ip: '127.0.0.1' }]));
    api.apply(endpointSlice('api', 'app-v2-1', 'app-v2', [{ port: v2 }], [{ ip: '127.0.0.1' }]));
    api.apply(httpRoute('api', 'app', {
      parentRefs: [{ name: 'public', namespace: 'infra' }],
      hostnames: ['api.example.com'],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/split' } }], backendRefs: [{ name: 'app-v1', port: 80, weight: 1 }, { name: 'app-v2', port: 80, weight: 1 }] },
        { matches: [{ path: { type: 'PathPrefix', value: '/v2' }, method: 'POST', headers: [{ name: 'x-canary', value: 'yes' }] }], backendRefs: [{ name: 'app-v2', port: 80 }] },
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'app-v1', port: 80 }] },
      ],
    }));
    const gw = await gateway({ gateway: 'infra/public' });
    expect(await gw.plane.apply(emptyDoc(), 1)).toEqual([]);

    expect(await get(gw.port, 'api.example.com', '/v2/x')).toBe('200 v1 api.example.com /v2/x');
    const canary = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/v2/x', method: 'POST', headers: { host: 'api.example.com', 'x-canary': 'yes' } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      req.end();
    });
    expect(canary).toBe('v2 api.example.com /v2/x');
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await get(gw.port, 'api.example.com', '/split')).split(' ')[1]!);
    expect(seen).toEqual(new Set(['v1', 'v2']));
    expect(await get(gw.port, 'other.example.com', '/')).toMatch(/^404 /);
  }, 30_000);
});
