import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkDocument } from '../../config/check.js';
import type { ConfigDocument, CredentialConfig } from '../../config/schema.js';
import { PLUGINS } from '../../plugins/index.js';
import { newCredential } from '../../auth/new-credential.js';
import { processCredentialKeys } from '../../auth/secrets.js';
import { exportToKong } from './exporter.js';
import { sealCertificate } from '../../tls/certificates.js';
import { selfSigned } from '../../tls/test-support.js';
import { kongImporter } from './importer.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

function checked(doc: unknown): ConfigDocument {
  const c = checkDocument(structuredClone(doc), PLUGINS);
  if (!c.ok) throw new Error(`invalid: ${JSON.stringify(c.issues)}`);
  return c.document;
}

/** Credentials get fresh ids, timestamps and salts on every import: compare what they mean. */
const meaning = (creds: CredentialConfig[] | undefined) =>
  (creds ?? []).map((c) => ({ consumer: c.consumer, kind: c.kind, key: c.key, algorithm: c.algorithm, rsa_public_key: c.rsa_public_key }));

describe('kong exporter: round trip Kong → Gatehouse → Kong → Gatehouse', () => {
  for (const name of ['shop.yaml', 'dump.yaml', 'top-level.yaml']) {
    it(`gives the same Gatehouse document for ${name}`, () => {
      const first = checked(kongImporter.convert(fixture(name), name).document);
      const exported = exportToKong(first);
      const second = checked(kongImporter.convert(exported.text, 'exported.yaml').document);
      expect({ ...second, credentials: undefined }).toEqual({ ...first, credentials: undefined });
      const jwtKeys = meaning(first.credentials).filter((c) => c.kind === 'jwt');
      expect(meaning(second.credentials)).toEqual(jwtKeys);
    });
  }
});

describe('kong exporter: decK output', () => {
  const first = checked(kongImporter.convert(fixture('shop.yaml'), 'shop.yaml').document);
  const { text, kong, report } = exportToKong(first);

  it('writes decK 3.0 YAML with routes nested under their services', () => {
    const parsed = parse(text) as Record<string, unknown>;
    expect(parsed).toEqual(kong);
    expect(parsed._format_version).toBe('3.0');
    const services = parsed.services as { name: string; routes: { name: string }[] }[];
    expect(services.map((s) => [s.name, s.routes.map((r) => r.name)])).toEqual([
      ['orders', ['orders-list', 'order-by-id']],
      ['catalog', ['catalog-route-3', 'catalog-route-4']],
    ]);
    expect(services[0]).toMatchObject({ protocol: 'http', host: 'orders.internal', port: 8080, path: '/v1', connect_timeout: 5000, retries: 3 });
    expect(parsed.consumers).toEqual([
      { username: 'web-frontend', custom_id: 'app-0001', tags: ['first-party'], acls: [{ group: 'customers' }] },
      { username: 'ops-dashboard', acls: [{ group: 'staff' }] },
    ]);
  });

  it('writes plugins with Kong field names and scope references', () => {
    const plugins = kong.plugins as { name: string; route?: string; service?: string; consumer?: string; config: Record<string, unknown> }[];
    expect(plugins.find((p) => p.name === 'request-size-limiting')).toEqual({
      name: 'request-size-limiting',
      route: 'catalog-route-4',
      config: { allowed_payload_size: 16, size_unit: 'kilobytes', require_content_length: false },
    });
    expect(plugins.find((p) => p.name === 'rate-limiting' && p.route === 'order-by-id')!.config).toEqual({
      minute: 60,
      hour: 1000,
      limit_by: 'consumer',
      policy: 'local',
      fault_tolerant: true,
      hide_client_headers: false,
    });
    expect(plugins.find((p) => p.name === 'cors')!.config.origins).toEqual(['https://shop.example', 'https://(.*)\\.shop\\.example']);
    expect(plugins.find((p) => p.name === 'proxy-cache')!.config).toMatchObject({ request_method: ['GET', 'HEAD'], response_code: [200], cache_ttl: 60, content_type: ['application/json'] });
  });

  it('reports credentials Kong cannot receive (hashed secrets)', () => {
    const basic = report.find((e) => e.source.includes('basic-auth of ops-dashboard'))!;
    expect(basic.outcome).toBe('unmapped');
    expect(basic.message).toContain('hash');
  });
});

describe('kong exporter: what Kong cannot express', () => {
  const keys = processCredentialKeys();
  const EDGE = selfSigned('edge.example.com');
  const CA_PEM = selfSigned('internal-ca').cert;
  const doc = checked({
    _format_version: '1',
    services: [
      { name: 'api', url: 'http://api.internal', retry_on_statuses: [503], retries: 2 },
      { name: 'secure', url: 'https://secure.internal', ca_certificates: [CA_PEM], client_certificate: 'edge' },
      { name: 'lax', url: 'https://lax.internal', tls_verify: false },
    ],
    certificates: [sealCertificate(keys, { name: 'edge', ...EDGE })],
    routes: [
      { name: 'exact', service: 'api', paths: ['=/health'], query: { debug: [''] }, rewrite: '/v2/{path}', priority: 5 },
      { name: 'off', service: 'api', paths: ['/off'], enabled: false },
      { name: 'mock', paths: ['/mock'] },
    ],
    upstreams: [{ name: 'api.internal', algorithm: 'round-robin', targets: [{ target: '10.0.0.1:80', weight: 1 }, { target: '10.0.0.2:80', weight: 9 }], keepalive_connections: 16 }],
    consumers: [{ username: 'app' }],
    plugins: [
      { name: 'response-headers', config: { add: { 'x-a': 'b' } } },
      { name: 'jwt', service: 'api', config: { issuers: [{ iss: 'https://idp', jwks_uri: 'https://idp/jwks' }], required_claims: ['exp', 'sub'] } },
      { name: 'rate-limiting', route: 'exact', config: { limit_by: ['consumer', 'route'], day: 100, algorithm: 'sliding-window' } },
      { name: 'request-termination', route: 'mock', config: { status_code: 200, body: '{}', headers: { 'x-mock': '1' } } },
      { name: 'acl', route: 'exact', config: { required_scopes: ['read'] } },
    ],
    credentials: [newCredential(keys, 'app', { kind: 'key-auth' }).credential],
  });
  const { kong, report } = exportToKong(doc);
  const at = (source: string) => {
    const e = report.find((x) => x.source === source);
    if (!e) throw new Error(`no entry ${source}: ${report.map((x) => x.source).join(', ')}`);
    return e;
  };

  it('reports route and service features without Kong equivalents', () => {
    expect(at('services/api')).toMatchObject({ outcome: 'approximated', message: expect.stringContaining('retry_on_statuses') });
    const exact = at('routes/exact');
    expect(exact.outcome).toBe('approximated');
    expect(exact.message).toContain('query matching');
    expect(exact.message).toContain('rewrite');
    expect(exact.message).toContain("'~/health$'");
    expect(at('routes/off')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('cannot be disabled') });
    expect((kong.routes as { name: string }[]).map((r) => r.name)).toEqual(['mock']);
    const services = kong.services as { routes: { name: string; paths: string[]; regex_priority?: number }[] }[];
    expect(services[0]!.routes).toEqual([expect.objectContaining({ name: 'exact', paths: ['~/health$'], regex_priority: 5 })]);
  });

  it("writes services' upstream verification; reports certificates, their keys and the CAs it leaves out", () => {
    const services = kong.services as { name: string; tls_verify?: boolean }[];
    expect(services.find((x) => x.name === 'secure')!.tls_verify).toBe(true);
    expect(services.find((x) => x.name === 'lax')!.tls_verify).toBe(false);
    expect(services.find((x) => x.name === 'api')!.tls_verify).toBeUndefined();
    expect(at('services/secure').message).toContain('ca_certificates are not exported');
    expect(at('services/secure').message).toContain("client_certificate 'edge'");
    expect(at('certificates/edge')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('private key') });
    expect(JSON.stringify(kong)).not.toContain('PRIVATE KEY');
  });

  it('reports upstream, plugin and credential differences', () => {
    const u = at('upstreams/api.internal');
    expect(u.message).toContain('ignores weights');
    expect(u.message).toContain('keepalive');
    expect(at('plugins/response-headers')).toMatchObject({ outcome: 'unmapped' });
    const jwt = at('plugins/jwt@service:api');
    expect(jwt.outcome).toBe('approximated');
    expect(jwt.message).toContain('issuers');
    expect(jwt.message).toContain('sub');
    const rl = at('plugins/rate-limiting@route:exact');
    expect(rl.message).toContain('limit_by [consumer, route]');
    expect(rl.message).toContain('algorithm');
    expect(rl.message).toContain("calendar-day");
    expect(at('plugins/request-termination@route:mock').message).toContain('headers');
    expect(at('plugins/acl@route:exact')).toMatchObject({ outcome: 'unmapped', message: expect.stringContaining('required_scopes') });
    expect(report.find((e) => e.source.includes('key-auth of app'))).toMatchObject({ outcome: 'unmapped' });
    expect((kong.plugins as { name: string }[]).map((p) => p.name)).toEqual(['jwt', 'rate-limiting', 'request-termination']);
  });
});
