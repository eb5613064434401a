// Health, status, schemas for the dashboard, and problem+json for errors Nest and Fastify raise themselves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';

describe('system endpoints', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    // Every failure above was the client's: none may have been logged as a server error.
    expect(h.logs.filter((l) => l.level === 'error')).toEqual([]);
    await h.close();
  });

  it('listens on a real loopback socket', async () => {
    await h.app.listen('127.0.0.1', 0);
    expect(h.app.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${h.app.url()}/health/live`);
    expect(res.status).toBe(200);
    const denied = await fetch(`${h.app.url()}/services`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('serves liveness and readiness without auth', async () => {
    const live = await h.request('GET', '/health/live', { token: null });
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'ok' });
    const ready = await h.request('GET', '/health/ready', { token: null });
    expect(ready.statusCode, ready.body).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready' });
  });

  it('answers 503 problem+json while no snapshot serves traffic', async () => {
    h.runtime.forceNotReady = true;
    try {
      expectProblem(await h.request('GET', '/health/ready', { token: null }), 503, 'GW_ERR_ADMIN_NOT_READY');
    } finally {
      h.runtime.forceNotReady = false;
    }
  });

  it('reports status with the store kind', async () => {
    const res = await h.request('GET', '/status');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ node_id: 'test-node', store: { kind: 'pglite', read_only: false }, config_source: 'pglite' });
    expectProblem(await h.request('GET', '/status', { token: null }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
  });

  it('lists available plugins with their schemas, and entity schemas', async () => {
    const plugins = (await h.request('GET', '/plugins-available')).json().data as { name: string; scopes: string[]; schema: { properties: object } }[];
    const stamp = plugins.find((p) => p.name === 'test-stamp');
    expect(stamp).toMatchObject({ scopes: ['global', 'service', 'route'], description: expect.any(String) });
    expect(Object.keys(stamp!.schema.properties)).toEqual(['header', 'value']);
    const route = (await h.request('GET', '/schemas/routes')).json();
    expect(route.properties.paths.description).toMatch(/prefix/);
    expectProblem(await h.request('GET', '/schemas/widgets'), 404, 'GW_ERR_ADMIN_NOT_FOUND');
  });

  it('renders framework errors as problem+json: unknown route, malformed JSON, wrong content type', async () => {
    const unknown = expectProblem(await h.request('GET', '/no/such/thing'), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expect(unknown.instance).toBe('/no/such/thing');
    expectProblem(await h.request('GET', '/no/such/thing', { token: null }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('POST', '/services', { body: '{"name": ', headers: { 'content-type': 'application/json' } }), 400, 'GW_ERR_BAD_REQUEST');
    expectProblem(await h.request('POST', '/services', { body: 'name=x', headers: { 'content-type': 'text/csv' } }), 415, 'GW_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await h.request('POST', '/services', { body: { nope: true } }), 400, 'GW_ERR_ADMIN_VALIDATION');
  });
});
