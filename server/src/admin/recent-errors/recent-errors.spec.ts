// `GET /errors` reads the data plane's real error store (this thread's, as an in-process proxy plane would):
// a real ProxyServer in this thread records real failures, and the admin API reports them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recentErrors } from '../../observability/recent-errors.js';
import { deadPort, send, startGateway, type Gateway } from '../../proxy/test-support/harness.js';
import { createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';

describe('recent errors admin API', () => {
  let h: Harness;
  let gw: Gateway;
  let viewer: string;
  const ids: string[] = [];

  beforeAll(async () => {
    recentErrors.clear();
    h = await createHarness();
    expect((await h.request('POST', '/admin-users', { body: { username: 'err-viewer', password: 'password-123', role: 'viewer' } })).statusCode).toBe(201);
    viewer = await h.login('err-viewer', 'password-123');
    const dead = await deadPort();
    // The admin's current document names `api`; the proxy routes `api` and `legacy` (a route since removed from the config).
    expect((await h.request('POST', '/services', { body: { name: 'gone', url: `http://127.0.0.1:${dead}` } })).statusCode).toBe(201);
    expect((await h.request('POST', '/routes', { body: { name: 'api', service: 'gone', paths: ['/api'] } })).statusCode).toBe(201);
    gw = await startGateway(
      {
        services: [{ name: 'gone', url: `http://127.0.0.1:${dead}` }],
        routes: [
          { name: 'api', service: 'gone', paths: ['/api'] },
          { name: 'legacy', service: 'gone', paths: ['/legacy'] },
        ],
      },
      [],
      { observer: recentErrors },
    );
    for (const p of ['/api/1', '/api/2', '/legacy/1']) {
      const r = await send(gw.port, p);
      expect(r.status).toBe(502);
      ids.push(String(r.headers['x-request-id']));
    }
    await new Promise((r) => setTimeout(r, 30));
  });
  afterAll(async () => {
    await gw?.close();
    await h?.close();
    recentErrors.clear();
  });

  it('GET /errors lists the failures newest first with counts, to any admin role', async () => {
    const res = await h.request('GET', '/errors', { token: viewer });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ total: 3, capacity: 500, counts: { GW_ERR_UPSTREAM_UNAVAILABLE: 3 } });
    expect(body.data.map((e: { request_id: string }) => e.request_id)).toEqual([...ids].reverse());
    expect(body.data[0]).toMatchObject({ route: 'legacy', status: 502, code: 'GW_ERR_UPSTREAM_UNAVAILABLE', upstream_failure: 'connect', path: '/legacy/1' });
    expectProblem(await h.request('GET', '/errors', { token: null }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
  });

  it('filters by route (also one no longer in the config) and limits', async () => {
    const api = (await h.request('GET', '/errors?route=api&limit=1', { token: viewer })).json();
    expect(api.data).toHaveLength(1);
    expect(api.data[0]).toMatchObject({ route: 'api', path: '/api/2' });
    const legacy = await h.request('GET', '/errors?route=legacy', { token: viewer });
    expect(legacy.statusCode).toBe(200);
    expect(legacy.json().data).toHaveLength(1);
  });

  it('answers 404 for an unknown route and 400 for bad parameters', async () => {
    expectProblem(await h.request('GET', '/errors?route=nope', { token: viewer }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('GET', '/errors?limit=0', { token: viewer }), 400, 'GW_ERR_BAD_REQUEST');
    expectProblem(await h.request('GET', '/errors?limit=501', { token: viewer }), 400, 'GW_ERR_BAD_REQUEST');
    expectProblem(await h.request('GET', '/errors?limit=abc', { token: viewer }), 400, 'GW_ERR_BAD_REQUEST');
    expectProblem(await h.request('GET', '/errors?rout=api', { token: viewer }), 400, 'GW_ERR_BAD_REQUEST');
    expectProblem(await h.request('GET', '/errors?route=api&route=legacy', { token: viewer }), 400, 'GW_ERR_BAD_REQUEST');
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await h.request('GET', '/openapi.json')).json();
    expect(doc.paths['/errors'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['route', 'limit']);
    expect(doc.components.schemas.RecentErrors).toBeDefined();
  });
});
