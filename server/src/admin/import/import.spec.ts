// POST /config/import/:format on a real admin app: Kong and Traefik files converted with their report,
// the store's credential keys used for imported API keys, invalid documents returned with their issues,
// bad input as 422 problem+json, unknown formats as 404, operator role, and nothing written or audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyedHash, loadCredentialKeys } from '../../auth/secrets.js';
import { createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';

const KONG = `_format_version: "3.0"
services:
  - name: orders
    url: http://orders.internal:8080
    routes:
      - name: orders-api
        paths: [/orders]
    plugins:
      - name: rate-limiting
        config: { minute: 10, policy: local }
      - name: datadog
        config: {}
consumers:
  - username: shop
    keyauth_credentials:
      - key: shop-secret-key-1
`;

const TRAEFIK_TOML = `[http.routers.web]
rule = "PathPrefix(\`/web\`)"
service = "web"

[http.services.web.loadBalancer]
[[http.services.web.loadBalancer.servers]]
url = "http://web.internal:8080"
`;

interface ImportAnswer {
  format: string;
  document: { services: { name: string }[]; routes: { name: string; service?: string; paths?: string[] }[]; consumers: { username: string }[]; credentials?: { consumer: string; kind: string; key_hash?: string }[] };
  report: { outcome: string; source: string; target?: string; message: string }[];
  counts: { mapped: number; approximated: number; unmapped: number };
  issues: { path: string; message: string }[];
}

describe('POST /config/import/:format', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it('converts a Kong decK file into a document and a report with counts, without applying it', async () => {
    const before = (await h.store.current()).version;
    const res = await h.request('POST', '/config/import/kong', { body: KONG, headers: { 'content-type': 'application/yaml' } });
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json() as ImportAnswer;
    expect(out.format).toBe('kong');
    expect(out.document.services.map((s) => s.name)).toEqual(['orders']);
    expect(out.document.routes).toEqual([expect.objectContaining({ name: 'orders-api', service: 'orders', paths: ['/orders'] })]);
    expect(out.report).toEqual(expect.arrayContaining([expect.objectContaining({ outcome: 'unmapped', source: expect.stringContaining('datadog') })]));
    const counted = { mapped: 0, approximated: 0, unmapped: 0 };
    for (const e of out.report) counted[e.outcome as keyof typeof counted] += 1;
    expect(out.counts).toEqual(counted);
    expect(out.counts.mapped).toBeGreaterThan(0);
    expect(out.issues).toEqual([]);
    expect((await h.store.current()).version).toBe(before);
    expect(h.runtime.currentDocument().services).toEqual([]);
  });

  it("hashes imported API keys under the store's pepper, so they authenticate once applied", async () => {
    const out = (await h.request('POST', '/config/import/kong', { body: KONG, headers: { 'content-type': 'text/plain' } })).json() as ImportAnswer;
    const keys = await loadCredentialKeys(h.store, { warn() {}, info() {} });
    expect(out.document.credentials).toEqual([expect.objectContaining({ consumer: 'shop', kind: 'key-auth', key_hash: keyedHash(keys, 'shop-secret-key-1') })]);
    expect(JSON.stringify(out)).not.toContain('shop-secret-key-1');
    // The document is what PUT /config takes: the browser's review-and-apply step.
    const applied = await h.request('PUT', '/config', { body: out.document });
    expect(applied.statusCode, applied.body).toBe(200);
    expect(h.runtime.currentDocument().routes.map((r) => r.name)).toEqual(['orders-api']);
  });

  it('reads a JSON body and a Traefik TOML file named by ?filename', async () => {
    const json = JSON.stringify({ _format_version: '3.0', services: [{ name: 'js', url: 'http://js.internal' }] });
    const fromJson = await h.request('POST', '/config/import/kong', { body: json, headers: { 'content-type': 'application/json' } });
    expect(fromJson.statusCode, fromJson.body).toBe(200);
    expect((fromJson.json() as ImportAnswer).document.services.map((s) => s.name)).toEqual(['js']);

    const toml = await h.request('POST', '/config/import/traefik?filename=dynamic.toml', { body: TRAEFIK_TOML, headers: { 'content-type': 'text/plain' } });
    expect(toml.statusCode, toml.body).toBe(200);
    const out = toml.json() as ImportAnswer;
    expect(out.format).toBe('traefik');
    expect(out.document.routes.map((r) => r.paths)).toEqual([['/web']]);
    expect(out.issues).toEqual([]);
  });

  it('returns a document that does not validate together with its issues', async () => {
    // Kong passes a negative payload size through; Gatehouse's plugin schema refuses it.
    const negative = `_format_version: "3.0"\nservices:\n  - name: a\n    url: http://a.internal\n    plugins:\n      - name: request-size-limiting\n        config: { allowed_payload_size: -1 }\n`;
    const res = await h.request('POST', '/config/import/kong', { body: negative, headers: { 'content-type': 'text/plain' } });
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json() as ImportAnswer;
    expect(out.document.services.map((s) => s.name)).toEqual(['a']);
    expect(out.issues).toEqual([expect.objectContaining({ path: '/plugins/0/config/allowed_payload_size' })]);
  });

  it('answers 422 GW_ERR_IMPORT_INVALID with the reason for a file of another format', async () => {
    const wrongVersion = expectProblem(
      await h.request('POST', '/config/import/kong', { body: '_format_version: "1.1"\nservices: []\n', headers: { 'content-type': 'text/plain' } }),
      422,
      'GW_ERR_IMPORT_INVALID',
    );
    expect(wrongVersion.detail).toMatch(/_format_version "1.1" is not supported/);
    expect(wrongVersion.errors).toEqual([expect.objectContaining({ path: '_format_version' })]);
    const broken = expectProblem(await h.request('POST', '/config/import/traefik', { body: 'http: [unclosed', headers: { 'content-type': 'text/plain' } }), 422, 'GW_ERR_IMPORT_INVALID');
    expect(broken.detail).toMatch(/YAML syntax error/);
    expectProblem(await h.request('POST', '/config/import/kong', { body: '   ', headers: { 'content-type': 'text/plain' } }), 422, 'GW_ERR_IMPORT_INVALID');
  });

  it('answers 404 for an unknown format and 400 for a strange file name', async () => {
    const unknown = expectProblem(await h.request('POST', '/config/import/nginx', { body: 'x', headers: { 'content-type': 'text/plain' } }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expect(unknown.detail).toMatch(/kong/);
    expectProblem(await h.request('POST', '/config/import/__proto__', { body: 'x', headers: { 'content-type': 'text/plain' } }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('POST', '/config/import/kong?filename=..%2Fetc%2Fpasswd', { body: KONG, headers: { 'content-type': 'text/plain' } }), 400, 'GW_ERR_BAD_REQUEST');
  });

  it('is for operators: a viewer gets 403, and a conversion leaves no audit event', async () => {
    expect((await h.request('POST', '/admin-users', { body: { username: 'imp-viewer', password: 'password-123', role: 'viewer' } })).statusCode).toBe(201);
    expect((await h.request('POST', '/admin-users', { body: { username: 'imp-operator', password: 'password-123', role: 'operator' } })).statusCode).toBe(201);
    const viewer = await h.login('imp-viewer', 'password-123');
    const operator = await h.login('imp-operator', 'password-123');
    expectProblem(await h.request('POST', '/config/import/kong', { token: viewer, body: KONG, headers: { 'content-type': 'text/plain' } }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    expect((await h.request('POST', '/config/import/kong', { token: operator, body: KONG, headers: { 'content-type': 'text/plain' } })).statusCode).toBe(200);
    const events = (await h.request('GET', '/audit?actor=imp-operator')).json() as { data: unknown[] };
    expect(events.data).toEqual([]);
  });

  it('is size-capped like PUT /config', async () => {
    const huge = `# ${'x'.repeat(11 * 1024 * 1024)}\n_format_version: "3.0"\n`;
    expectProblem(await h.request('POST', '/config/import/kong', { body: huge, headers: { 'content-type': 'text/plain' } }), 413, 'GW_ERR_ADMIN_PAYLOAD_TOO_LARGE');
  });
});
