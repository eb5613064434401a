// The OpenAPI document covers every registered route (so it can't drift), is public, and uses the
// TypeBox schemas; the dashboard build is served with an HTML-only SPA fallback that never shadows the API.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';
import { OPERATIONS } from './openapi.builder.js';
import { ADMIN_CSP, inlineHash, SECURITY_HEADERS } from '../security/security-headers.js';

describe('OpenAPI document', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it('lists every route Nest registered, and nothing that does not exist', async () => {
    const res = await h.request('GET', '/openapi.json', { token: null });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const registered = h.app
      .routes()
      .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS')
      .map((r) => `${r.method.toLowerCase()} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
    expect(registered.length).toBeGreaterThan(40);
    const documented = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m} ${p}`));
    expect(registered.filter((r) => !documented.includes(r))).toEqual([]);
    expect(documented.filter((d) => !registered.includes(d))).toEqual([]);
  });

  it("documents each operation's role as the guards enforce it", async () => {
    for (const [username, role] of [['doc-viewer', 'viewer'], ['doc-operator', 'operator']] as const) {
      expect((await h.request('POST', '/admin-users', { body: { username, password: 'password-123', role } })).statusCode).toBe(201);
    }
    // A developer-portal account too: it may call only the `developer` and `authenticated` operations.
    expect((await h.request('POST', '/developers/signup', { token: null, body: { username: 'doc-dev', password: 'password-1234' } })).statusCode).toBe(201);
    expect((await h.request('POST', '/developers/doc-dev/approve', { body: {} })).statusCode).toBe(200);
    const tokens = {
      viewer: await h.login('doc-viewer', 'password-123'),
      operator: await h.login('doc-operator', 'password-123'),
      developer: await h.login('doc-dev', 'password-1234'),
      admin: undefined,
    };
    const rank: Record<string, number> = { viewer: 0, operator: 1, admin: 2 };
    const allowed = (role: keyof typeof tokens, access: string) =>
      access === 'authenticated' || (access === 'developer' ? role === 'developer' : role !== 'developer' && rank[role]! >= rank[access]!);
    for (const op of OPERATIONS) {
      if (op.path === '/auth/login') continue; // throttled; covered in auth.spec
      if (op.produces?.['text/event-stream']) continue; // never ends under inject; roles covered in resilience.spec
      const url = op.path.replace(/\{\w+\}/g, 'doc-probe');
      const body = op.method === 'get' || op.method === 'delete' ? undefined : {};
      if (op.access === 'public') {
        expect((await h.request(op.method, url, { token: null, body })).statusCode, `${op.method} ${op.path}`).not.toBe(401);
        continue;
      }
      for (const role of ['viewer', 'operator', 'developer', 'admin'] as const) {
        const res = await h.request(op.method, url, { token: tokens[role], body });
        const forbidden = !allowed(role, op.access);
        expect(res.statusCode === 403, `${role} ${op.method} ${op.path} → ${res.statusCode}`).toBe(forbidden);
      }
    }
  });

  it('reuses the TypeBox schemas, the problem schema and bearer security', async () => {
    const doc = (await h.request('GET', '/openapi.json', { token: null })).json();
    expect(doc.components.schemas.Route.properties.strip_path).toMatchObject({ type: 'boolean', default: true });
    expect(doc.components.schemas.ConfigDocument.properties.services.items).toEqual({ $ref: '#/components/schemas/Service' });
    expect(doc.components.schemas.Problem.properties.code.anyOf.length).toBeGreaterThan(10);
    expect(doc.paths['/routes'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Route' });
    expect(doc.paths['/routes'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['offset', 'limit', 'tags', 'search', 'service']));
    expect(doc.paths['/services/{key}'].delete.responses['404'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/auth/login'].post.security).toEqual([]);
    expect(JSON.stringify(doc)).not.toContain('"$id"');
  });

  it('serves a docs page without external resources', async () => {
    const res = await h.request('GET', '/docs', { token: null });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('openapi.json');
    expect(res.body).not.toMatch(/https?:\/\//);
  });

  it("allows the docs page's own inline style and script by hash, and nothing else inline", async () => {
    const res = await h.request('GET', '/docs', { token: null });
    const csp = String(res.headers['content-security-policy']);
    const style = /<style>([\s\S]*?)<\/style>/.exec(res.body)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(res.body)![1]!;
    expect(csp).toContain(`script-src 'self' ${inlineHash(script)}`);
    expect(csp).toContain(`style-src 'self' ${inlineHash(style)}`);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
  });
});

describe('dashboard static files', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gh-dashboard-'));
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Gatehouse</title><div id="root"></div>');
    writeFileSync(path.join(dir, 'assets', 'app.js'), 'console.log("app")');
    h = await createHarness({ dashboardDir: dir });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html and assets without auth', async () => {
    const index = await h.request('GET', '/', { token: null, headers: { accept: 'text/html' } });
    expect(index.statusCode).toBe(200);
    expect(index.body).toContain('<div id="root">');
    const asset = await h.request('GET', '/assets/app.js', { token: null });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
  });

  it('falls back to index.html for browser navigations only, and never shadows the API', async () => {
    const nav = await h.request('GET', '/ui/routes/orders', { token: null, headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(nav.statusCode).toBe(200);
    expect(nav.body).toContain('<div id="root">');
    expectProblem(await h.request('GET', '/ui/routes/orders', { token: null, headers: { accept: 'application/json' } }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('GET', '/assets/missing.js', { token: null }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    const api = await h.request('GET', '/services', { headers: { accept: 'text/html' } });
    expect(api.statusCode).toBe(200);
    expect(api.json()).toMatchObject({ data: [] });
    expect(h.app.routes().some((r) => r.url.startsWith('/assets'))).toBe(false);
  });

  it('sends the browser hardening headers with the dashboard, the API and its errors', async () => {
    const answers = [
      await h.request('GET', '/', { token: null, headers: { accept: 'text/html' } }),
      await h.request('GET', '/assets/app.js', { token: null }),
      await h.request('GET', '/services'),
      await h.request('GET', '/services', { token: null }),
      await h.request('GET', '/assets/missing.js', { token: null }),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 401, 404]);
    for (const a of answers) {
      expect(a.headers).toMatchObject({ ...SECURITY_HEADERS, 'content-security-policy': ADMIN_CSP });
    }
    expect(ADMIN_CSP).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
  });
});
