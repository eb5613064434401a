import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkDocument } from '../../config/check.js';
import { PLUGINS } from '../../plugins/index.js';
import { PoolRegistry } from '../../proxy/upstream-pool.js';
import { buildSnapshot } from '../../proxy/snapshot.js';
import { IMPORTERS } from '../index.js';
import { ImportInputError, type ImportResult } from '../types.js';
import { traefikImporter } from './importer.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function convert(text: string, fileName = 'dynamic.yaml'): ImportResult {
  const result = traefikImporter.convert(text, fileName);
  const check = checkDocument(structuredClone(result.document), PLUGINS);
  if (!check.ok) throw new Error(`invalid document: ${JSON.stringify(check.issues)}`);
  return result;
}

const entry = (r: ImportResult, source: string) => {
  const e = r.report.find((x) => x.source === source);
  if (!e) throw new Error(`no report entry for ${source}: ${r.report.map((x) => x.source).join(', ')}`);
  return e;
};
const route = (r: ImportResult, name: string) => r.document.routes.find((x) => x.name === name)!;
const plugin = (r: ImportResult, name: string, routeName: string) => r.document.plugins.find((p) => p.name === name && p.route === routeName)?.config;

/** A file with one router `r` (Host + PathPrefix /p/, service s) using the given middlewares. */
function withMiddlewares(middlewares: Record<string, unknown>, use = Object.keys(middlewares), extra: Record<string, unknown> = {}): ImportResult {
  const file = {
    http: {
      routers: { r: { rule: 'Host(`a.example.com`) && PathPrefix(`/p/`)', service: 's', middlewares: use, ...extra } },
      services: { s: { loadBalancer: { servers: [{ url: 'http://10.0.0.1:8080' }] } } },
      middlewares,
    },
  };
  return convert(JSON.stringify(file), 'dynamic.json');
}

/** Applies request-transformer's rewrite_path the way the plugin does ({n}/{name} → the group). */
function rewrite(cfg: Record<string, unknown> | undefined, path: string): string {
  const rw = (cfg as { rewrite_path: { regex: string; replacement: string } }).rewrite_path;
  const m = new RegExp(rw.regex).exec(path);
  if (!m) return path;
  return rw.replacement.replace(/\{(\w+)\}/g, (_, k: string) => (/^\d+$/.test(k) ? m[Number(k)] : m.groups?.[k]) ?? '');
}

describe('file provider', () => {
  const yaml = convert(fixture('dynamic.yaml'), 'dynamic.yaml');

  it('gives the same document and report for the YAML and the TOML file', () => {
    const toml = convert(fixture('dynamic.toml'), 'dynamic.toml');
    expect(toml.document).toEqual(yaml.document);
    expect(toml.report).toEqual(yaml.report);
  });

  it('detects TOML by content when the extension says nothing', () => {
    expect(convert(fixture('dynamic.toml'), 'traefik-dynamic').document).toEqual(yaml.document);
    expect(convert(fixture('dynamic.yaml'), 'traefik-dynamic').document).toEqual(yaml.document);
  });

  it('is registered as `traefik`', () => {
    expect(IMPORTERS.get('traefik')).toBe(traefikImporter);
  });

  it('maps routers to routes with Traefik priorities, protocols from tls, and no path stripping', () => {
    expect(route(yaml, 'api')).toMatchObject({
      service: 'api',
      hosts: ['api.example.com'],
      paths: ['/v1/'],
      priority: 'Host(`api.example.com`) && PathPrefix(`/v1/`)'.length,
      protocols: ['https'],
      strip_path: false,
      preserve_host: false,
      enabled: true,
    });
    // An || of matchers: one route per alternative, same service, plugins and priority.
    expect(route(yaml, 'admin-1')).toMatchObject({ paths: ['/admin/'], hosts: ['admin.example.com'] });
    expect(route(yaml, 'admin-2')).toMatchObject({ paths: ['=/login'], priority: route(yaml, 'admin-1').priority });
    expect(plugin(yaml, 'ip-restriction', 'admin-2')).toEqual({ allow: ['10.0.0.0/8', '192.168.1.7'] });
    expect(route(yaml, 'shop').paths).toEqual(['~(?!/internal/)']);
  });

  it('maps the redirect router to a service-less http-only route answered by redirect', () => {
    expect(route(yaml, 'web-to-websecure')).toMatchObject({ protocols: ['http'], priority: 1, headers: { host: ['~*^.+$'] } });
    expect(route(yaml, 'web-to-websecure').service).toBeUndefined();
    expect(plugin(yaml, 'redirect', 'web-to-websecure')).toEqual({ location: 'https://$(host)$(path)', status_code: 301, keep_query: true });
    expect(entry(yaml, 'http.routers.web-to-websecure')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining("'internal' provider") });
  });

  it('flattens the chain into the route in order', () => {
    const names = yaml.document.plugins.filter((p) => p.route === 'api').map((p) => p.name);
    expect(names).toEqual(['request-transformer', 'rate-limiting', 'response-headers', 'compression']);
    expect(rewrite(plugin(yaml, 'request-transformer', 'api'), '/v1/users/7')).toBe('/users/7');
    expect(entry(yaml, 'http.middlewares.api-chain')).toMatchObject({ outcome: 'mapped', target: 'routes/api' });
    expect(entry(yaml, 'http.middlewares.strip-v1')).toMatchObject({ outcome: 'mapped', target: 'routes/api' });
  });

  it('builds upstreams with health checks for several servers, and a plain url for one', () => {
    expect(yaml.document.services.find((s) => s.name === 'admin')).toMatchObject({ url: 'http://10.0.2.20:9000' });
    expect(yaml.document.services.find((s) => s.name === 'api')).toMatchObject({ protocol: 'http', host: 'api-upstream' });
    const up = yaml.document.upstreams.find((u) => u.name === 'api-upstream')!;
    expect(up.targets.map((t) => [t.target, t.weight])).toEqual([
      ['10.0.1.11:8080', 1],
      ['10.0.1.12:8080', 1],
    ]);
    expect(up.healthchecks!.active).toMatchObject({ enabled: true, http_path: '/healthz', interval: 10_000, timeout: 3_000, healthy: { successes: 1 }, unhealthy: { failures: 1 } });
  });

  it('maps a weighted service to traffic-split with its sticky cookie', () => {
    expect(route(yaml, 'shop').service).toBe('shop-v1');
    expect(plugin(yaml, 'traffic-split', 'shop')).toEqual({
      targets: [
        { service: 'shop-v1', weight: 90 },
        { service: 'shop-v2', weight: 10 },
      ],
      sticky: { by: 'cookie', name: 'shop_lb' },
    });
    expect(entry(yaml, 'http.services.shop-canary')).toMatchObject({ outcome: 'mapped', target: 'routes/shop' });
  });

  it('creates basic-auth consumers without passwords and reports each hash', () => {
    expect(yaml.document.consumers.map((c) => [c.username, c.groups])).toEqual([
      ['alice', ['traefik-admin-auth']],
      ['bob', ['traefik-admin-auth']],
    ]);
    expect(yaml.document.credentials).toBeUndefined();
    expect(plugin(yaml, 'basic-auth', 'admin-1')).toEqual({ realm: 'admin', hide_credentials: true });
    expect(plugin(yaml, 'acl', 'admin-1')).toEqual({ allow: ['traefik-admin-auth'] });
    expect(entry(yaml, 'http.middlewares.admin-auth.basicAuth.users[0] (alice)')).toMatchObject({
      outcome: 'approximated',
      target: 'consumers/alice',
      message: expect.stringContaining('Apache MD5 ($apr1$)'),
    });
    expect(entry(yaml, 'http.middlewares.admin-auth.basicAuth.users[1] (bob)').message).toContain('bcrypt');
  });

  it('reports every router, service and middleware', () => {
    const sources = new Set(yaml.report.map((e) => e.source));
    for (const r of ['web-to-websecure', 'api', 'admin', 'shop']) expect(sources).toContain(`http.routers.${r}`);
    for (const s of ['api', 'admin', 'shop-v1', 'shop-v2', 'shop-canary']) expect(sources).toContain(`http.services.${s}`);
    for (const m of ['redirect-to-https', 'api-chain', 'strip-v1', 'api-ratelimit', 'security-headers', 'gzip', 'admin-auth', 'admin-ips']) {
      expect(sources).toContain(`http.middlewares.${m}`);
    }
    for (const e of yaml.report) if (e.outcome !== 'mapped') expect(e.message, e.source).not.toBe('');
  });
});

describe('Kubernetes CRDs', () => {
  const k8s = convert(fixture('ingressroute.yaml'), 'ingressroute.yaml');

  it('maps IngressRoute routes, referenced Middlewares across namespaces, and a weighted TraefikService', () => {
    expect(route(k8s, 'apps-whoami-1')).toMatchObject({ hosts: ['whoami.example.com'], paths: ['/api'], priority: 20, protocols: ['https'], service: 'apps-whoami-80' });
    expect(plugin(k8s, 'traffic-split', 'apps-whoami-1')).toEqual({
      targets: [
        { service: 'apps-whoami-80', weight: 3 },
        { service: 'apps-whoami-next-8080', weight: 1 },
      ],
    });
    expect(plugin(k8s, 'rate-limiting', 'apps-whoami-1')).toMatchObject({ minute: 50, limit_by: ['header'], header_name: 'X-Api-Key' });
    expect(plugin(k8s, 'cors', 'apps-whoami-1')).toEqual({
      origins: ['https://app.example.com', '~^https://([a-z0-9-]+)\\.preview\\.example\\.com$'],
      methods: ['GET', 'POST'],
      headers: ['Content-Type', 'Authorization'],
      exposed_headers: [],
      max_age: 600,
    });
    expect(rewrite(plugin(k8s, 'request-transformer', 'apps-whoami-1'), '/api/v2/items')).toBe('/v2/items');
  });

  it('addresses Kubernetes Services by cluster DNS name and keeps per-reference settings apart', () => {
    expect(k8s.document.services.find((s) => s.name === 'apps-whoami-80')).toMatchObject({ url: 'http://whoami.apps.svc.cluster.local' });
    // The second route's reference says passHostHeader: false; the rollout's reference to the same Service does not.
    expect(route(k8s, 'apps-whoami-2')).toMatchObject({ preserve_host: false, headers: { 'x-canary': ['~^yes$'] } });
    expect(route(k8s, 'apps-whoami-2').service).not.toBe('apps-whoami-next-8080');
    expect(entry(k8s, 'TraefikService apps/whoami-rollout spec.weighted.services[0]')).toMatchObject({
      outcome: 'approximated',
      message: expect.stringContaining('cluster DNS name'),
    });
  });

  it('reports resources it does not map', () => {
    expect(entry(k8s, 'document 1 (Service whoami)')).toMatchObject({ outcome: 'unmapped' });
    expect(entry(k8s, 'IngressRouteTCP data/postgres')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('TCP/UDP') });
  });

  it('reads the older traefik.containo.us group, middleware references with @kubernetescrd, and mirroring', () => {
    const text = `
apiVersion: traefik.containo.us/v1alpha1
kind: TraefikService
metadata: { name: mirrored, namespace: prod }
spec:
  mirroring:
    name: api
    port: 80
    mirrors:
      - name: api-shadow
        port: 80
        percent: 10
---
apiVersion: traefik.containo.us/v1alpha1
kind: Middleware
metadata: { name: ips, namespace: prod }
spec:
  ipWhiteList:
    sourceRange: [192.168.0.0/16]
---
apiVersion: traefik.containo.us/v1alpha1
kind: IngressRoute
metadata: { name: api, namespace: prod }
spec:
  routes:
    - match: PathPrefix(\`/\`)
      kind: Rule
      middlewares:
        - name: prod-ips@kubernetescrd
      services:
        - name: mirrored
          kind: TraefikService
`;
    const r = convert(text, 'crd.yaml');
    expect(route(r, 'prod-api')).toMatchObject({ service: 'prod-api-80', paths: ['/'], protocols: ['http'] });
    expect(plugin(r, 'mirror', 'prod-api')).toMatchObject({ service: 'prod-api-shadow-80', percentage: 10 });
    expect(plugin(r, 'ip-restriction', 'prod-api')).toEqual({ allow: ['192.168.0.0/16'] });
  });

  it('reports a basicAuth secret it cannot read, and still protects the route', () => {
    const text = `
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: auth }
spec:
  basicAuth:
    secret: authsecret
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: site }
spec:
  routes:
    - match: Host(\`site.example.com\`)
      kind: Rule
      middlewares: [{ name: auth }]
      services: [{ name: site, port: 8080 }]
`;
    const r = convert(text, 'crd.yaml');
    expect(plugin(r, 'basic-auth', 'default-site')).toBeDefined();
    expect(entry(r, 'Middleware default/auth')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining("Kubernetes secret 'authsecret'") });
  });
});

describe('middlewares', () => {
  it('stripPrefixRegex, addPrefix, replacePath and replacePathRegex become one rewrite_path', () => {
    let r = withMiddlewares({ m: { stripPrefixRegex: { regex: ['/p/[a-z0-9]+'] } } });
    expect(rewrite(plugin(r, 'request-transformer', 'r'), '/p/abc123/items')).toBe('/items');
    r = withMiddlewares({ m: { addPrefix: { prefix: '/backend' } } });
    expect(rewrite(plugin(r, 'request-transformer', 'r'), '/p/x')).toBe('/backend/p/x');
    r = withMiddlewares({ m: { replacePath: { path: '/fixed' } } });
    expect(rewrite(plugin(r, 'request-transformer', 'r'), '/p/x')).toBe('/fixed');
    expect(entry(r, 'http.middlewares.m').message).toContain('X-Replaced-Path');
    r = withMiddlewares({ m: { replacePathRegex: { regex: '^/p/(.*)', replacement: '/v2/$1' } } });
    expect(plugin(r, 'request-transformer', 'r')!.rewrite_path).toEqual({ regex: '^(?:/p/(.*))(.*)$', replacement: '/v2/{1}{2}' });
    expect(rewrite(plugin(r, 'request-transformer', 'r'), '/p/a/b')).toBe('/v2/a/b');
    // Anchored at the start only: the rest of the path is kept, as Go's ReplaceAllString does.
    r = withMiddlewares({ m: { replacePathRegex: { regex: '^/p/(?P<ver>v[0-9])/', replacement: '/api/${ver}/' } } });
    expect(rewrite(plugin(r, 'request-transformer', 'r'), '/p/v2/items?x')).toBe('/api/v2/items?x');
    r = withMiddlewares({ m: { replacePathRegex: { regex: '/old/', replacement: '/new/' } } });
    expect(rewrite(plugin(r, 'request-transformer', 'r'), '/old/x')).toBe('/new/x');
    expect(entry(r, 'http.middlewares.m')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('only a match at the start') });
  });

  it('composes stripPrefix then addPrefix, and reports a second regex rewrite it cannot compose', () => {
    let r = withMiddlewares({ strip: { stripPrefix: { prefixes: ['/p'] } }, add: { addPrefix: { prefix: '/internal' } } });
    expect(rewrite(plugin(r, 'request-transformer', 'r'), '/p/x')).toBe('/internal/x');
    r = withMiddlewares({ a: { stripPrefix: { prefixes: ['/p'] } }, b: { replacePathRegex: { regex: '^/(.*)$', replacement: '/x/$1' } } });
    expect(entry(r, 'http.middlewares.b')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('cannot be combined') });
  });

  it('headers: request and response headers, security headers and CORS', () => {
    const r = withMiddlewares({
      m: {
        headers: {
          customRequestHeaders: { 'X-Script-Name': 'test', 'X-Remove-Me': '' },
          customResponseHeaders: { 'X-Custom': 'v', Server: '' },
          referrerPolicy: 'same-origin',
          contentSecurityPolicy: "default-src 'self'",
          browserXssFilter: true,
          stsSeconds: 600,
          accessControlAllowOriginList: ['https://a.example'],
          accessControlAllowCredentials: true,
          accessControlExposeHeaders: ['X-Total'],
          sslProxyHeaders: { 'X-Forwarded-Proto': 'https' },
        },
      },
    });
    expect(plugin(r, 'request-transformer', 'r')).toEqual({ remove: { headers: ['X-Remove-Me'] }, replace: { headers: { 'X-Script-Name': 'test' } }, add: { headers: { 'X-Script-Name': 'test' } } });
    expect(plugin(r, 'response-headers', 'r')).toEqual({
      set: {
        'Strict-Transport-Security': 'max-age=600',
        'X-XSS-Protection': '1; mode=block',
        'Content-Security-Policy': "default-src 'self'",
        'Referrer-Policy': 'same-origin',
        'X-Custom': 'v',
      },
      remove: ['Server'],
    });
    expect(plugin(r, 'cors', 'r')).toEqual({ origins: ['https://a.example'], methods: [], headers: [], exposed_headers: ['X-Total'], credentials: true });
    const e = entry(r, 'http.middlewares.m');
    expect(e.outcome).toBe('approximated');
    expect(e.message).toContain('sslProxyHeaders');
    expect(e.message).toContain('HTTPS requests only');
  });

  it('rateLimit: average/period to a window, burst and sourceCriterion reported', () => {
    let r = withMiddlewares({ m: { rateLimit: { average: 50, period: '10s', burst: 20 } } });
    expect(plugin(r, 'rate-limiting', 'r')).toMatchObject({ second: 5, limit_by: ['ip'] });
    expect(entry(r, 'http.middlewares.m')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('burst 20') });
    r = withMiddlewares({ m: { rateLimit: { average: 100, period: '1h', burst: 100, sourceCriterion: { requestHost: true } } } });
    expect(plugin(r, 'rate-limiting', 'r')).toMatchObject({ hour: 100, limit_by: ['header'], header_name: 'host' });
    r = withMiddlewares({ m: { rateLimit: { average: 7, period: '1m', burst: 7 } } });
    expect(plugin(r, 'rate-limiting', 'r')).toMatchObject({ minute: 7 });
    expect(entry(r, 'http.middlewares.m').outcome).toBe('mapped');
    r = withMiddlewares({ m: { rateLimit: { average: 0 } } });
    expect(plugin(r, 'rate-limiting', 'r')).toBeUndefined();
    expect(entry(r, 'http.middlewares.m').outcome).toBe('unmapped');
  });

  it('inFlightReq → concurrency-limit, buffering → request-size-limiting', () => {
    const r = withMiddlewares({ a: { inFlightReq: { amount: 10, sourceCriterion: { requestHeaderName: 'X-User' } } }, b: { buffering: { maxRequestBodyBytes: 2000000, memRequestBodyBytes: 100 } } });
    expect(plugin(r, 'concurrency-limit', 'r')).toEqual({ max: 10, limit_by: ['header'], header_name: 'X-User' });
    expect(plugin(r, 'request-size-limiting', 'r')).toEqual({ allowed_payload_size: 2000000 });
    expect(entry(r, 'http.middlewares.b').message).toContain('memRequestBodyBytes');
  });

  it('ipAllowList and ipWhiteList → ip-restriction; ipStrategy reported', () => {
    const r = withMiddlewares({ m: { ipWhiteList: { sourceRange: ['127.0.0.1/32'], ipStrategy: { depth: 2 } } } });
    expect(plugin(r, 'ip-restriction', 'r')).toEqual({ allow: ['127.0.0.1/32'] });
    expect(entry(r, 'http.middlewares.m')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('GATEHOUSE_TRUSTED_PROXIES') });
  });

  it('circuitBreaker expressions → circuit-breaker thresholds; latency is unmapped', () => {
    let r = withMiddlewares({ m: { circuitBreaker: { expression: 'ResponseCodeRatio(500, 600, 0, 600) > 0.25', fallbackDuration: '30s' } } });
    const cfg = plugin(r, 'circuit-breaker', 'r')!;
    expect(cfg).toMatchObject({ error_threshold_percentage: 25, reset_timeout: 30_000 });
    expect(cfg.failure_statuses).toHaveLength(100);
    expect(entry(r, 'http.middlewares.m').outcome).toBe('approximated');
    r = withMiddlewares({ m: { circuitBreaker: { expression: 'NetworkErrorRatio() > 0.5' } } });
    expect(plugin(r, 'circuit-breaker', 'r')).toMatchObject({ error_threshold_percentage: 50, failure_statuses: [] });
    r = withMiddlewares({ m: { circuitBreaker: { expression: 'LatencyAtQuantileMS(50.0) > 100' } } });
    expect(plugin(r, 'circuit-breaker', 'r')).toBeUndefined();
    expect(entry(r, 'http.middlewares.m')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('latency') });
  });

  it('retry → the service retries', () => {
    const r = withMiddlewares({ m: { retry: { attempts: 4, initialInterval: '100ms' } } });
    expect(r.document.services[0]!.retries).toBe(3);
    expect(entry(r, 'http.middlewares.m').message).toContain('initialInterval');
  });

  it('redirectScheme → redirect on a plain-HTTP route', () => {
    const r = withMiddlewares({ m: { redirectScheme: { scheme: 'https', port: '8443' } } });
    expect(plugin(r, 'redirect', 'r')).toEqual({ location: 'https://$(host):8443$(path)', status_code: 302, keep_query: true });
    expect(route(r, 'r').protocols).toEqual(['http']);
  });

  it('compress → compression', () => {
    const r = withMiddlewares({ m: { compress: { excludedContentTypes: ['text/event-stream', 'application/json'], encodings: ['zstd', 'gzip'] } } });
    const cfg = plugin(r, 'compression', 'r')!;
    expect(cfg.types).not.toContain('application/json');
    expect(cfg.types).toContain('text/*');
    expect(cfg.encodings).toEqual(['gzip']);
    expect(entry(r, 'http.middlewares.m').message).toContain('zstd');
  });

  it('nested chains flatten; a chain cycle is reported', () => {
    let r = withMiddlewares({ outer: { chain: { middlewares: ['inner', 'ips'] } }, inner: { chain: { middlewares: ['gz'] } }, gz: { compress: {} }, ips: { ipAllowList: { sourceRange: ['10.0.0.0/8'] } } }, ['outer']);
    expect(r.document.plugins.map((p) => p.name).sort()).toEqual(['compression', 'ip-restriction']);
    r = withMiddlewares({ a: { chain: { middlewares: ['b'] } }, b: { chain: { middlewares: ['a'] } } }, ['a']);
    expect(entry(r, 'http.middlewares.b.chain.middlewares[0]')).toMatchObject({ outcome: 'unmapped', message: "chain cycle through 'a'" });
  });

  it('unmappable access control imports the route disabled', () => {
    let r = withMiddlewares({ m: { forwardAuth: { address: 'http://auth.internal/verify' } } });
    expect(route(r, 'r').enabled).toBe(false);
    expect(entry(r, 'http.middlewares.m')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('forwardAuth') });
    expect(entry(r, 'http.routers.r').message).toContain('imported disabled');
    r = withMiddlewares({}, ['sso@docker']);
    expect(route(r, 'r').enabled).toBe(false);
    expect(entry(r, 'http.routers.r.middlewares[0]')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining("'docker' provider") });
    r = withMiddlewares({ m: { digestAuth: { users: ['a:b:c'] } } });
    expect(route(r, 'r').enabled).toBe(false);
  });

  it('middlewares without a Gatehouse equivalent are reported unmapped, the route stays enabled', () => {
    for (const spec of [{ redirectRegex: { regex: '^http://(.*)', replacement: 'https://$1' } }, { errors: { status: ['500-599'], service: 's', query: '/{status}.html' } }, { grpcWeb: {} }, { passTLSClientCert: { pem: true } }]) {
      const r = withMiddlewares({ m: spec });
      expect(entry(r, 'http.middlewares.m').outcome).toBe('unmapped');
      expect(route(r, 'r').enabled).toBe(true);
    }
  });

  it('reports middlewares no router uses', () => {
    const r = withMiddlewares({ used: { compress: {} }, spare: { compress: {} } }, ['used']);
    expect(entry(r, 'http.middlewares.spare')).toMatchObject({ outcome: 'unmapped', message: 'no router uses this middleware' });
  });
});

describe('services', () => {
  const withServices = (services: Record<string, unknown>, service: string) =>
    convert(JSON.stringify({ http: { routers: { r: { rule: 'PathPrefix(`/`)', service } }, services } }), 'd.json');
  const lb = (url: string, more: Record<string, unknown> = {}) => ({ loadBalancer: { servers: [{ url }], ...more } });

  it('server weights, sticky cookies and health-check statuses', () => {
    const r = withServices(
      {
        s: {
          loadBalancer: {
            servers: [
              { url: 'https://a.internal', weight: 3 },
              { url: 'https://b.internal:8443', weight: 1 },
            ],
            sticky: { cookie: { name: 'lb', secure: true } },
            healthCheck: { path: '/ping', status: 204, hostname: 'health.internal', port: 9000 },
          },
        },
      },
      's',
    );
    const up = r.document.upstreams[0]!;
    expect(up).toMatchObject({ algorithm: 'consistent-hashing', hash_on: 'cookie', hash_on_cookie: 'lb' });
    expect(up.targets.map((t) => [t.target, t.weight])).toEqual([
      ['a.internal:443', 3],
      ['b.internal:8443', 1],
    ]);
    expect(up.healthchecks!.active).toMatchObject({ http_path: '/ping', interval: 30_000, timeout: 5_000, headers: { Host: 'health.internal' }, healthy: { http_statuses: [204] } });
    expect(up.healthchecks!.active.unhealthy.http_statuses).toContain(200);
    expect(r.document.services[0]).toMatchObject({ protocol: 'https', host: up.name });
    const e = entry(r, 'http.services.s');
    expect(e.outcome).toBe('approximated');
    expect(e.message).toContain('does not set the cookie');
    expect(e.message).toContain('healthCheck.port 9000');
  });

  it('mirroring → mirror plugin; failover → circuit-breaker fallback', () => {
    let r = withServices({ main: lb('http://m:80'), shadow: lb('http://s:80'), mir: { mirroring: { service: 'main', maxBodySize: 1024, mirrors: [{ name: 'shadow', percent: 5 }] } } }, 'mir');
    expect(route(r, 'r').service).toBe('main');
    expect(plugin(r, 'mirror', 'r')).toEqual({ service: 'shadow', percentage: 5, max_body_size: 1024 });
    r = withServices({ main: lb('http://m:80'), spare: lb('http://s:80'), fo: { failover: { service: 'main', fallback: 'spare' } } }, 'fo');
    expect(plugin(r, 'circuit-breaker', 'r')).toEqual({ strategy: 'fallback', fallback_service: 'spare' });
    expect(entry(r, 'http.services.fo').outcome).toBe('approximated');
  });

  it('serversTransport timeouts → service timeouts; TLS settings reported', () => {
    const r = convert(
      JSON.stringify({
        http: {
          routers: { r: { rule: 'PathPrefix(`/`)', service: 's' } },
          services: { s: lb('http://x:1', { serversTransport: 'slow' }) },
          serversTransports: { slow: { forwardingTimeouts: { dialTimeout: '2s', responseHeaderTimeout: '90s' }, insecureSkipVerify: true } },
        },
      }),
      'd.json',
    );
    expect(r.document.services[0]).toMatchObject({ connect_timeout: 2000, read_timeout: 90_000 });
    expect(entry(r, 'http.serversTransports.slow')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('insecureSkipVerify') });
  });

  it('a router whose service is missing is unmapped; an unused loadBalancer service is still imported', () => {
    const r = withServices({ spare: lb('http://x:1') }, 'nope');
    expect(r.document.routes).toEqual([]);
    expect(entry(r, 'http.routers.r')).toMatchObject({ outcome: 'unmapped', message: "service 'nope' is not defined in this file" });
    expect(r.document.services.map((s) => s.name)).toEqual(['spare']);
  });
});

describe('routers', () => {
  it('reports a rule syntax error with its column, and keeps the other routers', () => {
    const r = convert(
      JSON.stringify({
        http: {
          routers: { bad: { rule: 'Host(`a`) && Path(/x)', service: 's' }, good: { rule: 'Path(`/x`)', service: 's' } },
          services: { s: { loadBalancer: { servers: [{ url: 'http://x:1' }] } } },
        },
      }),
      'd.json',
    );
    expect(entry(r, 'http.routers.bad')).toMatchObject({ outcome: 'unmapped', message: "rule `Host(`a`) && Path(/x)`: unexpected character '/' at column 19" });
    expect(r.document.routes.map((x) => x.name)).toEqual(['good']);
  });

  it('ClientIP becomes ip-restriction on each route of the router', () => {
    const r = convert(
      JSON.stringify({
        http: {
          routers: { r: { rule: '(Path(`/a`) || Path(`/b`)) && ClientIP(`10.0.0.0/8`)', service: 's' } },
          services: { s: { loadBalancer: { servers: [{ url: 'http://x:1' }] } } },
        },
      }),
      'd.json',
    );
    expect(r.document.routes.map((x) => x.paths)).toEqual([['=/a'], ['=/b']]);
    expect(plugin(r, 'ip-restriction', 'r-1')).toEqual({ allow: ['10.0.0.0/8'], deny: [] });
    expect(plugin(r, 'ip-restriction', 'r-2')).toEqual({ allow: ['10.0.0.0/8'], deny: [] });
    expect(entry(r, 'http.routers.r').outcome).toBe('approximated');
  });

  it('ranks priorities outside Gatehouse range and keeps their order', () => {
    const r = convert(
      JSON.stringify({
        http: {
          routers: { hi: { rule: 'Path(`/a`)', service: 's', priority: 100000 }, lo: { rule: 'Path(`/b`)', service: 's', priority: -5000 }, def: { rule: 'Path(`/c`)', service: 's' } },
          services: { s: { loadBalancer: { servers: [{ url: 'http://x:1' }] } } },
        },
      }),
      'd.json',
    );
    expect(r.document.routes.map((x) => [x.name, x.priority])).toEqual([
      ['hi', 3],
      ['lo', 1],
      ['def', 2],
    ]);
    expect(entry(r, 'http.routers (priority)').outcome).toBe('approximated');
  });

  it('reads priority 0 as unset (the rule length) and reports router fields it does not know', () => {
    const r = convert(
      JSON.stringify({
        http: { routers: { r: { rule: 'Path(`/a`)', service: 's', priority: 0, ruleSyntax: 'v2', sneaky: true } }, services: { s: { loadBalancer: { servers: [{ url: 'http://x:1' }] } } } },
      }),
      'd.json',
    );
    expect(route(r, 'r').priority).toBe('Path(`/a`)'.length);
    expect(entry(r, 'http.routers.r')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('not mapped: sneaky') });
  });

  it('reports tcp, udp and tls sections', () => {
    const r = convert('http: {}\ntcp:\n  routers: {}\ntls:\n  certificates: []\n', 'd.yaml');
    expect(r.report.map((e) => [e.source, e.outcome])).toEqual([
      ['tcp', 'unmapped'],
      ['tls', 'unmapped'],
    ]);
  });
});

describe('the imported documents', () => {
  it('compile into a proxy snapshot without errors (plugin configs, rewrites and regexes build)', async () => {
    const logger = { info() {}, warn() {}, error() {} };
    for (const [name, file] of [
      ['dynamic.yaml', fixture('dynamic.yaml')],
      ['ingressroute.yaml', fixture('ingressroute.yaml')],
      ['m.json', JSON.stringify({ http: { routers: { r: { rule: 'PathRegexp(`^/p/(?P<id>[0-9]+)`) || HostRegexp(`{sub:[a-z]+}.example.com`)', service: 's', middlewares: ['a', 'b'] } }, services: { s: { loadBalancer: { servers: [{ url: 'http://x:1' }] } } }, middlewares: { a: { replacePathRegex: { regex: '^/p/(?P<id>[0-9]+)', replacement: '/items/${id}' } }, b: { addPrefix: { prefix: '/api' } } } } })],
    ] as const) {
      const checked = checkDocument(convert(file, name).document, PLUGINS);
      if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
      const snapshot = buildSnapshot(checked.document, PLUGINS, { logger, pools: new PoolRegistry() });
      expect(snapshot.errors, name).toEqual([]);
      await snapshot.retire();
    }
  });
});

describe('bad input', () => {
  const fails = (text: string, fileName: string) => {
    try {
      traefikImporter.convert(text, fileName);
    } catch (e) {
      expect(e).toBeInstanceOf(ImportInputError);
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  it('refuses files that are not Traefik configuration', () => {
    expect(fails('_format_version: "3.0"\nservices:\n  - name: a\n    url: http://a\n', 'kong.yaml')).toMatch(/^not a Traefik dynamic configuration: expected a top-level `http` section/);
    expect(fails('apiVersion: v1\nkind: Service\nmetadata: {name: a}\n', 'svc.yaml')).toMatch(/^not a Traefik dynamic configuration/);
    expect(fails('', 'empty.yaml')).toBe('the file is empty');
    expect(fails('http:\n  routers:\n    - a\n', 'd.yaml')).toBe('`http.routers` must be a map of name → definition');
  });

  it('gives syntax errors with their position', () => {
    expect(fails('http:\n  routers:\n    a: [\n', 'd.yaml')).toMatch(/^YAML syntax error at line \d+, column \d+/);
    expect(fails('[http.routers.a]\nrule = "Path(`/`)\nservice = "s"\n', 'd.toml')).toMatch(/^TOML syntax error at line 2, column \d+/);
  });

  it('refuses a Traefik resource without a name', () => {
    expect(fails('apiVersion: traefik.io/v1alpha1\nkind: Middleware\nmetadata: {}\nspec: {compress: {}}\n', 'm.yaml')).toMatch(/has no metadata.name/);
  });
});
