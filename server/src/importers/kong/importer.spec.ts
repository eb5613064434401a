import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDocument } from '../../config/check.js';
import type { ConfigDocument } from '../../config/schema.js';
import { PLUGINS } from '../../plugins/index.js';
import { decryptSecret, keyedHash, parseScryptHash, processCredentialKeys, verifyPassword } from '../../auth/secrets.js';
import { IMPORTERS } from '../index.js';
import { ImportInputError, type ImportResult } from '../types.js';
import { convertPath, createKongImporter, kongImporter } from './importer.js';
import { convertTemplate, corsOrigin } from './plugins-import.js';
import { selfSigned } from '../../tls/test-support.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const load = (name: string, importer = kongImporter): ImportResult => importer.convert(fixture(name), name);

function valid(doc: ConfigDocument): ConfigDocument {
  const checked = checkDocument(structuredClone(doc), PLUGINS);
  if (!checked.ok) throw new Error(`invalid: ${JSON.stringify(checked.issues)}`);
  return checked.document;
}
const entry = (r: ImportResult, source: string) => {
  const e = r.report.find((x) => x.source === source);
  if (!e) throw new Error(`no report entry for ${source}: ${r.report.map((x) => x.source).join(', ')}`);
  return e;
};
const plugin = (doc: ConfigDocument, name: string, scope: { service?: string; route?: string; consumer?: string } = {}) => {
  const p = doc.plugins.find((x) => x.name === name && x.service === scope.service && x.route === scope.route && x.consumer === scope.consumer);
  if (!p) throw new Error(`no ${name} plugin at ${JSON.stringify(scope)}`);
  return p;
};

describe('kong importer: shop.yaml (nested services, routes, plugins, credentials)', () => {
  const r = load('shop.yaml');
  const doc = r.document;

  it('is registered as `kong` and produces a document checkDocument accepts', () => {
    expect(IMPORTERS.get('kong')).toBe(kongImporter);
    expect(doc._format_version).toBe('1');
    valid(doc);
  });

  it('maps services from protocol/host/port/path and from url, writing Kong defaults out', () => {
    expect(doc.services).toEqual([
      { name: 'orders', protocol: 'http', host: 'orders.internal', port: 8080, path: '/v1', connect_timeout: 5000, read_timeout: 30000, write_timeout: 30000, retries: 3, tags: ['shop', 'team-orders'] },
      { name: 'catalog', url: 'http://catalog.internal:9000/api', connect_timeout: 60000, read_timeout: 60000, write_timeout: 60000, retries: 5 },
    ]);
    expect(entry(r, 'services[0]')).toMatchObject({ outcome: 'approximated', target: 'services/orders', message: expect.stringContaining('retries') });
  });

  it('maps nested routes with paths, regex paths, hosts, methods, headers, strip_path and regex_priority', () => {
    const byName = Object.fromEntries(doc.routes.map((x) => [x.name, x]));
    expect(byName['orders-list']).toEqual({
      name: 'orders-list',
      service: 'orders',
      hosts: ['api.shop.example', '*.shop.example'],
      paths: ['/orders'],
      methods: ['GET', 'HEAD'],
      priority: 0,
      strip_path: true,
      preserve_host: false,
      protocols: ['http', 'https'],
      enabled: true,
      tags: [],
    });
    expect(byName['order-by-id']).toMatchObject({
      service: 'orders',
      paths: ['~/orders/(?<id>\\d+)$'],
      methods: ['GET', 'PUT', 'DELETE'],
      headers: { 'x-api-version': ['2', '~*^3\\.'] },
      strip_path: false,
      priority: 10,
    });
    expect(entry(r, 'services[0].routes[1]')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('regex_priority 10') });
  });

  it('names unnamed routes after their service and says so in the report', () => {
    expect(doc.routes.filter((x) => x.service === 'catalog').map((x) => [x.name, x.paths, x.methods])).toEqual([
      ['catalog-route-3', ['/catalog'], ['GET']],
      ['catalog-route-4', ['/catalog/search'], ['POST']],
    ]);
    expect(entry(r, 'services[1].routes[0]')).toMatchObject({ outcome: 'mapped', target: 'routes/catalog-route-3', message: expect.stringContaining("named 'catalog-route-3'") });
  });

  it('maps the upstream (Kong round-robin is weighted), its targets and active health checks (seconds → ms)', () => {
    expect(doc.upstreams).toHaveLength(1);
    const u = doc.upstreams[0]!;
    expect(u.algorithm).toBe('weighted-round-robin');
    expect(u.targets).toEqual([
      { target: '10.0.1.11:8080', weight: 100, tags: [] },
      { target: '10.0.1.12:8080', weight: 50, tags: [] },
    ]);
    expect(u.healthchecks).toEqual({
      active: {
        enabled: true,
        type: 'http',
        https_verify_certificate: true,
        http_path: '/healthz',
        interval: 5000,
        timeout: 2000,
        healthy: { successes: 2, http_statuses: [200] },
        unhealthy: { failures: 3, http_statuses: [500, 502, 503] },
      },
    });
  });

  it('maps consumers, custom_id, tags and acl groups; a basic-auth password is hashed with scrypt', async () => {
    expect(doc.consumers).toEqual([
      { username: 'web-frontend', custom_id: 'app-0001', groups: ['customers'], tags: ['first-party'] },
      { username: 'ops-dashboard', groups: ['staff'], tags: [] },
    ]);
    expect(doc.credentials).toHaveLength(1);
    const basic = doc.credentials![0]!;
    expect(basic).toMatchObject({ consumer: 'ops-dashboard', kind: 'basic-auth', key: 'ops' });
    expect(basic.secret_hash).not.toContain('correct-horse-battery');
    expect(await verifyPassword('correct-horse-battery', parseScryptHash(basic.secret_hash!)!)).toBe(true);
    expect(entry(r, 'consumers[1].acls[0]')).toMatchObject({ outcome: 'mapped', target: 'consumers/ops-dashboard' });
  });

  it('reports an API key as unmapped without the cluster keys, never printing the key', () => {
    const e = entry(r, 'consumers[0].keyauth_credentials[0]');
    expect(e.outcome).toBe('unmapped');
    expect(e.message).toContain('POST /consumers/web-frontend/credentials');
    expect(JSON.stringify(r.report)).not.toContain('3f1c8a2b9d7e4f60a1b2c3d4e5f60718');
  });

  it('maps plugins at service, route, consumer and global scope with Kong field names converted', () => {
    expect(plugin(doc, 'key-auth', { service: 'orders' }).config).toEqual({ key_names: ['x-api-key'], key_in_header: true, key_in_query: false, hide_credentials: true });
    expect(plugin(doc, 'acl', { service: 'orders' }).config).toEqual({ allow: ['customers', 'staff'], hide_groups_header: true });
    expect(plugin(doc, 'rate-limiting', { route: 'order-by-id' }).config).toEqual({
      minute: 60,
      hour: 1000,
      limit_by: ['consumer'],
      policy: 'local',
      fault_policy: 'fail-open',
      ietf_headers: true,
      legacy_headers: true,
      inherit_global: false,
    });
    expect(plugin(doc, 'rate-limiting', { consumer: 'ops-dashboard' }).config).toMatchObject({ second: 20, policy: 'redis', inherit_global: false });
    expect(entry(r, 'consumers[1].plugins[0] (rate-limiting)').message).toContain('REDIS_URL');
    expect(plugin(doc, 'rate-limiting').config).toMatchObject({ minute: 600, limit_by: ['ip'], policy: 'local' });
    expect(plugin(doc, 'rate-limiting').config).not.toHaveProperty('inherit_global');
    expect(plugin(doc, 'request-size-limiting', { route: 'catalog-route-4' }).config).toEqual({ allowed_payload_size: 16 * 1024, require_content_length: false });
    expect(plugin(doc, 'proxy-cache', { service: 'catalog' }).config).toEqual({
      strategy: 'memory',
      methods: ['GET', 'HEAD'],
      response_codes: [200],
      content_types: ['application/json'],
      ttl: 60,
      cache_control: false,
      key_by_consumer: true,
      expose_key: true,
      vary_headers: ['accept-language'],
    });
    expect(plugin(doc, 'cors').config).toEqual({
      origins: ['https://shop.example', '~^(?:https://(.*)\\.shop\\.example)'],
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      headers: ['content-type', 'x-api-key'],
      exposed_headers: ['x-request-id'],
      credentials: true,
      max_age: 3600,
      preflight_continue: false,
      private_network: false,
    });
  });

  it('reports rate-limiting as approximated (fixed windows) and prometheus as built in', () => {
    expect(entry(r, 'plugins[0] (rate-limiting)')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('fixed clock window') });
    expect(entry(r, 'plugins[2] (prometheus)')).toMatchObject({ outcome: 'approximated', target: 'built-in', message: expect.stringContaining('GET /metrics') });
    expect(doc.plugins.some((p) => p.name === 'prometheus')).toBe(false);
  });
});

describe('kong importer: dump.yaml (deck dump with ids, references and unsupported features)', () => {
  const r = load('dump.yaml');
  const doc = r.document;

  it('produces a valid document', () => {
    valid(doc);
  });

  it('reports certificates without the cluster key, vaults, gRPC services and their routes as unmapped', () => {
    expect(entry(r, 'certificates[0]')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('GATEHOUSE_SECRET_KEY') });
    expect(doc.certificates).toBeUndefined();
    // Kong's default (tls_verify: null) is not to verify the upstream's certificate: written out.
    expect(doc.services.find((s) => s.name === 'billing')!.tls_verify).toBe(false);
    expect(entry(r, 'vaults')).toMatchObject({ outcome: 'unmapped' });
    expect(entry(r, 'services[1]')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining("protocol 'grpc'") });
    expect(entry(r, 'services[1].routes[0]')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('inventory-grpc') });
    expect(doc.services.map((s) => s.name)).toEqual(['billing', 'legacy-soap']);
  });

  it('resolves top-level routes by service id or name and converts PCRE named groups', () => {
    const invoices = doc.routes.find((x) => x.name === 'invoices')!;
    expect(invoices).toMatchObject({
      service: 'billing',
      protocols: ['https'],
      paths: ['~/invoices/(?<invoice>[0-9a-f-]{36})$', '/invoices'],
      preserve_host: true,
      hosts: ['billing.example.com'],
    });
    const e = entry(r, 'routes[0]');
    expect(e.outcome).toBe('approximated');
    expect(e.message).toContain('https_redirect_status_code 308');
    expect(e.message).toContain('snis');
    const soap = doc.routes.find((x) => x.service === 'legacy-soap')!;
    expect(soap.name).toBe('legacy-soap-route-2');
    expect(entry(r, 'routes[1]').message).toContain('path_handling');
  });

  it('keeps Kong defaults written by the dump (timeouts, retries) and maps non-default ones', () => {
    expect(doc.services[0]).toMatchObject({ protocol: 'https', host: 'billing.internal', port: 443, connect_timeout: 60000, retries: 5 });
    expect(doc.services[1]).toMatchObject({ read_timeout: 120000 });
    expect(doc.services[0]).not.toHaveProperty('path');
  });

  it('derives a username from custom_id when the consumer has none', () => {
    expect(doc.consumers.map((c) => [c.username, c.custom_id])).toEqual([
      ['partner-acme', 'acme-corp'],
      ['internal-batch-jobs', 'internal batch jobs'],
    ]);
    expect(entry(r, 'consumers[1]')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('custom_id') });
  });

  it('maps an RS256 jwt secret; reports HS256 without keys, a Kong password digest and oauth2 credentials', () => {
    expect(doc.credentials).toHaveLength(1);
    expect(doc.credentials![0]).toMatchObject({ consumer: 'partner-acme', kind: 'jwt', key: 'https://idp.acme.example', algorithm: 'RS256' });
    expect(doc.credentials![0]!.rsa_public_key).toContain('BEGIN PUBLIC KEY');
    expect(entry(r, 'consumers[0].jwt_secrets[1]').outcome).toBe('unmapped');
    expect(entry(r, 'consumers[0].basicauth_credentials[0]')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('SHA-1') });
    expect(entry(r, 'consumers[0].oauth2_credentials[0]').outcome).toBe('unmapped');
  });

  it('resolves plugin references by name and id, including combined route + consumer scope', () => {
    expect(plugin(doc, 'jwt', { service: 'billing' }).config).toEqual({
      consumer_credentials: true,
      key_claim_name: 'iss',
      header_names: ['authorization'],
      cookie_names: [],
      query_params: [],
      required_claims: ['exp'],
    });
    expect(entry(r, 'plugins[0] (jwt)').outcome).toBe('mapped');
    expect(plugin(doc, 'request-termination', { route: 'legacy-soap-route-2' }).config).toEqual({ status_code: 410, message: 'The SOAP API was retired; use /v2/billing' });
    expect(plugin(doc, 'ip-restriction', { service: 'legacy-soap' }).config).toEqual({ allow: ['10.0.0.0/8', '192.168.1.17'], deny: [], status: 403, message: 'internal network only' });
    const rl = entry(r, 'plugins[8] (rate-limiting)');
    expect(rl.target).toBe('plugins/rate-limiting@route:invoices@consumer:partner-acme');
    expect(rl.message).toContain('year');
    expect(rl.message).toContain('policy: cluster');
    expect(plugin(doc, 'rate-limiting', { route: 'invoices', consumer: 'partner-acme' }).config).toEqual({
      minute: 100,
      quota_day: 10000,
      limit_by: ['credential'],
      policy: 'redis',
      fault_policy: 'fail-closed',
      ietf_headers: false,
      legacy_headers: false,
      inherit_global: false,
    });
  });

  it('converts transformer operations and templates, reporting Lua expressions it drops', () => {
    expect(plugin(doc, 'request-transformer', { service: 'legacy-soap' }).config).toEqual({
      remove: { headers: ['cookie'], querystring: ['debug'], body: [] },
      rename: { headers: { 'x-user': 'x-soap-user' }, querystring: {}, body: {} },
      replace: { headers: {}, querystring: {}, body: {} },
      add: { headers: { 'x-forwarded-service': 'legacy-soap', 'x-invoice': '$(params.invoice)' }, querystring: { source: 'gateway' }, body: {} },
      append: { headers: { via: 'kong' }, querystring: {}, body: {} },
    });
    expect(entry(r, 'plugins[3] (request-transformer)')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining("'x-lua'") });
    expect(plugin(doc, 'response-transformer', { route: 'invoices' }).config).toMatchObject({
      remove: { headers: ['x-powered-by', 'server'], json: ['internal_id'] },
      add: { headers: { 'cache-control': 'no-store' }, json: { api_version: 2, deprecated: false } },
    });
  });

  it('reports bot-detection and correlation-id differences and unknown plugins', () => {
    expect(plugin(doc, 'bot-detection').config).toEqual({ allow: ['^MyMonitor/'], deny: ['curl/7\\.[0-9]+'], builtin: true });
    expect(entry(r, 'plugins[5] (bot-detection)').outcome).toBe('approximated');
    expect(entry(r, 'plugins[6] (correlation-id)')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('X-Request-Id') });
    expect(entry(r, 'plugins[7] (file-log)')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining("'file-log'") });
  });
});

describe('kong importer: top-level.yaml (top-level targets, credentials and acls)', () => {
  const r = load('top-level.yaml');
  const doc = r.document;

  it('attaches top-level targets, defaulting the port to 8000, and maps consistent hashing', () => {
    valid(doc);
    expect(doc.upstreams[0]).toMatchObject({
      name: 'reports.internal',
      algorithm: 'consistent-hashing',
      hash_on: 'header',
      hash_on_header: 'x-tenant',
      targets: [
        { target: '10.0.2.21:8443', weight: 10, tags: [] },
        { target: '10.0.2.22:8000', weight: 100, tags: [] },
      ],
    });
    expect(entry(r, 'targets[1]')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('8000') });
    expect(entry(r, 'upstreams[0]')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('hash_fallback') });
  });

  it('attaches top-level acls to their consumers and reports top-level API keys', () => {
    expect(doc.consumers).toEqual([
      { username: 'analytics', groups: ['readers'], tags: [] },
      { username: 'finance', groups: ['finance'], tags: [] },
    ]);
    expect(entry(r, 'keyauth_credentials[0]').outcome).toBe('unmapped');
    expect(plugin(doc, 'key-auth', { route: 'reports' }).config).toEqual({ key_names: ['apikey'], key_in_header: true, key_in_query: true, hide_credentials: false });
    expect(plugin(doc, 'acl', { route: 'reports' }).config).toEqual({ deny: ['blocked'], hide_groups_header: false });
  });

  it('stores API keys and HS secrets when given the cluster credential keys', () => {
    const keys = processCredentialKeys();
    const withKeys = load('top-level.yaml', createKongImporter({ credentialKeys: keys }));
    expect(withKeys.document.credentials).toEqual([
      expect.objectContaining({ consumer: 'analytics', kind: 'key-auth', key_hash: keyedHash(keys, 'analytics-key-0123456789abcdef') }),
    ]);
    expect(entry(withKeys, 'keyauth_credentials[0]').outcome).toBe('mapped');
    valid(withKeys.document);
    const dump = load('dump.yaml', createKongImporter({ credentialKeys: keys }));
    const hs = dump.document.credentials!.find((c) => c.algorithm === 'HS256')!;
    expect(hs).toMatchObject({ consumer: 'partner-acme', kind: 'jwt', key: 'acme-hs' });
    expect(decryptSecret(keys, hs.secret_encrypted!).toString()).toBe('8c4f0b6e2a9d47f1b3e5c7a9d1f3b5e7c9a1e3f5b7d9');
  });
});

describe('kong importer: TLS (certificates, snis, ca_certificates, service TLS fields)', () => {
  const shop = selfSigned('shop.example.com', ['shop.example.com', '*.shop.example.com']);
  const mtls = selfSigned('gateway-client');
  const ca = selfSigned('internal-ca');
  const indent = (pem: string) => pem.trim().split('\n').map((l) => `      ${l}`).join('\n');
  const file = `_format_version: "3.0"
certificates:
  - id: c-shop
    cert: |
${indent(shop.cert)}
    key: |
${indent(shop.key)}
    snis: [shop.example.com]
    tags: [edge]
  - id: c-client
    cert: |
${indent(mtls.cert)}
    key: |
${indent(mtls.key)}
  - id: c-broken
    cert: |
${indent(shop.cert)}
    key: |
${indent(mtls.key)}
snis:
  - name: "*.shop.example.com"
    certificate: { id: c-shop }
  - name: shop.example.*
    certificate: { id: c-shop }
  - name: lost.example.com
    certificate: { id: c-missing }
ca_certificates:
  - id: ca-internal
    cert: |
${indent(ca.cert)}
services:
  - name: orders
    url: https://orders.internal
    tls_verify: true
    tls_verify_depth: 4
    ca_certificates: [ca-internal, ca-unknown]
    client_certificate: { id: c-client }
  - name: legacy
    url: https://legacy.internal
  - name: plain
    url: http://plain.internal
`;

  it('imports certificates with their server names, sealing the key with the cluster key', () => {
    const keys = processCredentialKeys();
    const r = createKongImporter({ credentialKeys: keys }).convert(file, 'tls.yaml');
    const certs = r.document.certificates!;
    expect(certs.map((c) => ({ name: c.name, snis: c.snis, tags: c.tags }))).toEqual([
      { name: 'shop.example.com', snis: ['shop.example.com', '*.shop.example.com'], tags: ['edge'] },
      { name: 'gateway-client', snis: ['gateway-client'], tags: [] },
    ]);
    expect(decryptSecret(keys, certs[0]!.key_encrypted!).toString()).toBe(shop.key);
    expect(JSON.stringify(r.report)).not.toContain('PRIVATE KEY');
    expect(entry(r, 'certificates[0]')).toMatchObject({ outcome: 'approximated', target: 'certificates/shop.example.com', message: expect.stringContaining("'shop.example.*' is not supported") });
    expect(entry(r, 'certificates[1]')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining("the certificate's own DNS names") });
    expect(entry(r, 'certificates[2]')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('does not belong to the certificate') });
    expect(entry(r, 'snis[0]').outcome).toBe('mapped');
    expect(entry(r, 'snis[2]')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining("'c-missing'") });
    expect(entry(r, 'ca_certificates[0]').outcome).toBe('mapped');
    valid(r.document);
  });

  it("carries the services' upstream TLS: verification, CAs and the client certificate", () => {
    const r = createKongImporter({ credentialKeys: processCredentialKeys() }).convert(file, 'tls.yaml');
    const svc = (n: string) => r.document.services.find((s) => s.name === n)!;
    expect(svc('orders')).toMatchObject({ tls_verify: true, ca_certificates: [ca.cert], client_certificate: 'gateway-client' });
    expect(entry(r, 'services[0]').message).toContain("'ca-unknown' is not in the file's ca_certificates");
    expect(entry(r, 'services[0]').message).toContain('tls_verify_depth');
    expect(svc('legacy').tls_verify).toBe(false);
    expect(entry(r, 'services[1]').message).not.toMatch(/tls|certificate/);
    expect(svc('plain').tls_verify).toBeUndefined();
    valid(r.document);
    // Without the key the certificates cannot be stored, and the service says its client certificate is missing.
    const bare = kongImporter.convert(file, 'tls.yaml');
    expect(bare.document.certificates).toBeUndefined();
    expect(bare.document.services.find((s) => s.name === 'orders')!.client_certificate).toBeUndefined();
    expect(entry(bare, 'services[0]').message).toContain('client_certificate');
    valid(bare.document);
  });
});

describe('kong importer: conversions', () => {
  it('converts regex paths and refuses regexes JavaScript cannot compile', () => {
    expect(convertPath('/plain')).toBe('/plain');
    expect(convertPath('~/users/(?P<id>\\d+)/posts/(?P<post>\\w+)$')).toBe('~/users/(?<id>\\d+)/posts/(?<post>\\w+)$');
    expect(convertPath('~/bad/(')).toBeUndefined();
  });

  it('converts simple Kong templates and refuses Lua expressions', () => {
    expect(convertTemplate('Bearer $(headers["x-token"])')).toBe('Bearer $(headers.x-token)');
    expect(convertTemplate('$(query_params.page)-$(uri_captures["id"])')).toBe('$(query.page)-$(params.id)');
    expect(convertTemplate('$(headers.a or "b")')).toBeUndefined();
  });

  it('anchors cors origin regexes like Kong (start only; host only without a colon)', () => {
    expect(corsOrigin('https://a.example')).toBe('https://a.example');
    expect(corsOrigin('.*\\.example\\.com')).toBe('~^[a-z][a-z0-9+.-]*://(?:.*\\.example\\.com)');
    expect(corsOrigin('https://(.*)\\.example')).toBe('~^(?:https://(.*)\\.example)');
  });

  it('reports unknown entity fields and unknown top-level keys instead of dropping them', () => {
    const r = kongImporter.convert(
      '_format_version: "3.0"\nservices:\n  - name: s\n    url: http://s.internal\n    tls_verify_depth: 3\n    frobnicate: 1\n    routes:\n      - name: r\n        paths: [/r]\n        sources: [{ip: 10.0.0.1}]\nwidgets: [1]\n',
      'k.yaml',
    );
    expect(entry(r, 'widgets')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('widgets') });
    const s = entry(r, 'services[0]');
    expect(s.outcome).toBe('approximated');
    expect(s.message).toContain('tls_verify_depth');
    expect(s.message).toContain('`frobnicate` is not supported');
    expect(entry(r, 'services[0].routes[0]').message).toContain('sources');
  });

  it('reports non-HTTP routes and the plugins that reference them', () => {
    const r = kongImporter.convert(
      '_format_version: "3.0"\nservices:\n  - name: s\n    url: http://s.internal\n    routes:\n      - { name: tcp, protocols: [tcp], destinations: [{port: 9000}] }\n      - { name: mixed, protocols: [http, grpc], paths: [/m] }\nplugins:\n  - { name: cors, route: tcp }\n',
      'k.yaml',
    );
    expect(entry(r, 'services[0].routes[0]')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('protocols tcp') });
    expect(entry(r, 'services[0].routes[1]')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('protocols grpc dropped') });
    expect(entry(r, 'plugins[0] (cors)')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining("route 'tcp'") });
    expect(r.document.routes.map((x) => x.name)).toEqual(['mixed']);
    valid(r.document);
  });

  it('reports invalid rate-limiting options and plugins with nothing to convert', () => {
    const r = kongImporter.convert(
      '_format_version: "3.0"\nplugins:\n  - name: rate-limiting\n    config: { year: 5 }\n  - name: acl\n    config: {}\n  - name: key-auth\n    config: { key_in_body: true, anonymous: nobody }\n',
      'k.yaml',
    );
    expect(entry(r, 'plugins[0] (rate-limiting)').outcome).toBe('unmapped');
    expect(entry(r, 'plugins[1] (acl)').outcome).toBe('unmapped');
    const k = entry(r, 'plugins[2] (key-auth)');
    expect(k.outcome).toBe('approximated');
    expect(k.message).toContain('key_in_body');
    expect(k.message).toContain('anonymous: nobody');
    expect(r.document.plugins.map((p) => p.name)).toEqual(['key-auth']);
  });
});

describe('kong importer: bad input', () => {
  const bad = (text: string) => {
    try {
      kongImporter.convert(text, 'kong.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(ImportInputError);
      return (e as ImportInputError).message;
    }
    throw new Error('no ImportInputError');
  };

  it('refuses text that is not YAML, with the position', () => {
    expect(bad('_format_version: "3.0"\nservices: [\n  - name: x\n')).toMatch(/kong\.yaml is not a Kong declarative file: YAML syntax error.*\(line \d+, column \d+\)/);
  });

  it('refuses a top level that is not a mapping, and a missing or wrong _format_version', () => {
    expect(bad('- a\n- b\n')).toContain('the top level must be a mapping');
    expect(bad('services: []\n')).toContain('no _format_version');
    const msg = bad('_format_version: "1.1"\nservices: []\n');
    expect(msg).toContain('_format_version "1.1" is not supported');
    expect(msg).toContain('deck file convert');
  });

  it('refuses duplicate names, dangling references and duplicate plugin instances', () => {
    expect(bad('_format_version: "3.0"\nservices:\n  - { name: a, url: "http://a" }\n  - { name: a, url: "http://b" }\n')).toContain("duplicate service name 'a' at services[1]");
    expect(
      bad('_format_version: "3.0"\nservices:\n  - name: a\n    url: http://a\n    routes: [{ name: r, paths: [/a] }]\n  - name: b\n    url: http://b\n    routes: [{ name: r, paths: [/b] }]\n'),
    ).toContain("duplicate route name 'r'");
    expect(bad('_format_version: "3.0"\nconsumers: [{ username: u }, { username: u }]\n')).toContain("duplicate consumer name 'u'");
    expect(bad('_format_version: "3.0"\nroutes: [{ name: r, service: nowhere, paths: [/x] }]\n')).toContain("routes[0].service 'nowhere' names no service");
    expect(bad('_format_version: "3.0"\nplugins: [{ name: cors }, { name: cors }]\n')).toContain("duplicate plugin 'cors'");
    expect(bad('_format_version: "3.0"\nkeyauth_credentials: [{ consumer: ghost, key: k }]\n')).toContain('names no consumer');
  });

  it('refuses entities of the wrong shape', () => {
    expect(bad('_format_version: "3.0"\nservices: { name: a }\n')).toContain('services must be a list');
    expect(bad('_format_version: "3.0"\nservices: [ "a" ]\n')).toContain('services[0] must be an object');
    expect(bad('_format_version: "3.0"\nservices: [ { name: a } ]\n')).toContain('needs `url` or `host`');
    expect(bad('_format_version: "3.0"\nservices: [ { name: a, url: "not a url" } ]\n')).toContain('is not a URL');
  });
});
