// The traffic endpoints read the data plane's real traffic state (this thread's, as an in-process proxy
// plane would): a real ProxyServer in this thread mirrors and splits real requests, and the admin API
// reports what it counted and recorded.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';

/** Answers 200 `{"v":1}` as the primary, 503 `{"v":2}` as the shadow: every comparison is a mismatch. */
function app(role: 'primary' | 'shadow'): Promise<Upstream> {
  return startUpstream((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(role === 'primary' ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ v: role === 'primary' ? 1 : 2 }));
    });
  });
}

async function until(cond: () => Promise<boolean>, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('traffic admin API', () => {
  let h: Harness;
  let gw: Gateway;
  let primary: Upstream;
  let shadow: Upstream;
  let viewer: string;
  let operator: string;

  const samples = async (route: string) => (await h.request('GET', `/shadow/samples?route=${route}`, { token: viewer })).json().data as { route: string }[];

  beforeAll(async () => {
    h = await createHarness();
    for (const [username, role] of [['tr-viewer', 'viewer'], ['tr-operator', 'operator']] as const) {
      expect((await h.request('POST', '/admin-users', { body: { username, password: 'password-123', role } })).statusCode).toBe(201);
    }
    viewer = await h.login('tr-viewer', 'password-123');
    operator = await h.login('tr-operator', 'password-123');
    primary = await app('primary');
    shadow = await app('shadow');
    const compare = { enabled: true, sample_size: 10 };
    gw = await startGateway({
      services: [
        { name: 'primary', url: `http://${primary.address}` },
        { name: 'shadow', url: `http://${shadow.address}` },
        { name: 'canary', url: `http://${primary.address}` },
      ],
      routes: [
        { name: 'mirrored', service: 'primary', paths: ['/mirrored'] },
        { name: 'other', service: 'primary', paths: ['/other'] },
        { name: 'split', service: 'primary', paths: ['/split'] },
      ],
      plugins: [
        { name: 'mirror', route: 'mirrored', config: { service: 'shadow', compare } },
        { name: 'mirror', route: 'other', config: { service: 'shadow', compare } },
        { name: 'traffic-split', route: 'split', config: { targets: [{ service: 'canary', weight: 100 }, { service: 'primary', weight: 0 }] } },
      ],
    });
    for (let i = 0; i < 3; i++) expect((await send(gw.port, `/mirrored/${i}`)).status).toBe(200);
    expect((await send(gw.port, '/other')).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await send(gw.port, '/split')).status).toBe(200);
    // The comparison runs after both responses, off the client's path.
    await until(async () => (await h.request('GET', '/shadow/samples')).json().data.length === 4);
  });
  afterAll(async () => {
    await gw?.close();
    await primary?.close();
    await shadow?.close();
    await h?.close();
  });

  it('GET /shadow shows split and mirror counters to any admin role; GET /resilience and /metrics include them', async () => {
    const res = await h.request('GET', '/shadow', { token: viewer });
    expect(res.statusCode, res.body).toBe(200);
    const view = res.json();
    expect(view.split).toEqual(expect.arrayContaining([{ scope: 'split', service: 'canary', requests: 4, unavailable: 0 }, { scope: 'split', service: 'primary', requests: 0, unavailable: 0 }]));
    expect(view.shadow).toContainEqual(expect.objectContaining({ route: 'mirrored', shadow_service: 'shadow', mirrored: 3, compared: 3, matched: 0, mismatched: 3, mismatch_status: 3 }));
    expectProblem(await h.request('GET', '/shadow', { token: null }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');

    expect((await h.request('GET', '/resilience', { token: viewer })).json().traffic).toEqual(view);

    const text = (await h.request('GET', '/metrics', { token: viewer })).body;
    expect(text).toContain('# TYPE gatehouse_traffic_split_requests_total counter\n');
    expect(text).toContain('gatehouse_traffic_split_requests_total{scope="split",service="canary"} 4\n');
    expect(text).toContain('gatehouse_mirror_requests_total{route="mirrored",shadow_service="shadow"} 3\n');
    expect(text).toContain('gatehouse_shadow_mismatches_total{route="mirrored",shadow_service="shadow",kind="status"} 3\n');
    expect(text).toContain('gatehouse_shadow_matched_total{route="other",shadow_service="shadow"} 0\n');
  });

  it('GET /shadow/samples lists the records newest first, of one route or of all', async () => {
    const res = await h.request('GET', '/shadow/samples?route=mirrored', { token: viewer });
    expect(res.statusCode, res.body).toBe(200);
    const data = res.json().data as { at: string; path: string }[];
    // strip_path (the default): the shadow got the path without the route's prefix.
    expect(data.map((s) => s.path)).toEqual(['/2', '/1', '/0']);
    expect(data[0]).toMatchObject({
      route: 'mirrored',
      shadow_service: 'shadow',
      method: 'GET',
      request_id: expect.any(String),
      primary: { status: 200, body_excerpt: '{"v":1}' },
      shadow: { status: 503, body_excerpt: '{"v":2}' },
      differences: expect.arrayContaining([{ kind: 'status', primary: 200, shadow: 503 }]),
    });
    const all = (await h.request('GET', '/shadow/samples', { token: viewer })).json().data as { route: string }[];
    expect(all.map((s) => s.route).sort()).toEqual(['mirrored', 'mirrored', 'mirrored', 'other']);
  });

  it('a route of the current config without records answers an empty list; a name known nowhere, 404', async () => {
    // `mirrored` is not in the admin store's config (the gateway above has its own), yet its records are
    // readable: records outlive their route.
    expect((await h.request('POST', '/services', { body: { name: 'quiet-svc', url: 'http://127.0.0.1:9' } })).statusCode).toBe(201);
    expect((await h.request('POST', '/routes', { body: { name: 'quiet', service: 'quiet-svc', paths: ['/quiet'] } })).statusCode).toBe(201);
    const quiet = await h.request('GET', '/shadow/samples?route=quiet', { token: viewer });
    expect(quiet.statusCode, quiet.body).toBe(200);
    expect(quiet.json()).toEqual({ data: [] });
    expectProblem(await h.request('GET', '/shadow/samples?route=nowhere', { token: viewer }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('DELETE', '/shadow/samples?route=nowhere', { token: operator }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expect((await h.request('DELETE', '/shadow/samples?route=quiet', { token: operator })).json()).toEqual({ cleared: 0 });
  });

  it('refuses an unknown, repeated or malformed query parameter with 400 (a typo must not clear every route)', async () => {
    for (const q of ['rout=mirrored', 'route=mirrored&route=other', 'route=', 'route=bad%20name', 'route=mirrored&limit=1']) {
      expectProblem(await h.request('GET', `/shadow/samples?${q}`, { token: viewer }), 400, 'GW_ERR_BAD_REQUEST');
      expectProblem(await h.request('DELETE', `/shadow/samples?${q}`, { token: operator }), 400, 'GW_ERR_BAD_REQUEST');
    }
    expect(await samples('mirrored')).toHaveLength(3);
  });

  it('DELETE /shadow/samples needs an operator, clears one route or all, and keeps the counters', async () => {
    expectProblem(await h.request('DELETE', '/shadow/samples?route=mirrored', { token: viewer }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    expect(await samples('mirrored')).toHaveLength(3);

    const one = await h.request('DELETE', '/shadow/samples?route=mirrored', { token: operator });
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toEqual({ cleared: 3 });
    expect(await samples('mirrored')).toEqual([]);
    expect(await samples('other')).toHaveLength(1);
    // Cleared records leave the route known: it still has counters.
    expect((await h.request('GET', '/shadow/samples?route=mirrored', { token: viewer })).statusCode).toBe(200);
    expect((await h.request('GET', '/shadow')).json().shadow).toContainEqual(expect.objectContaining({ route: 'mirrored', mismatched: 3 }));

    expect((await h.request('DELETE', '/shadow/samples', { token: operator })).json()).toEqual({ cleared: 1 });
    expect((await h.request('GET', '/shadow/samples')).json()).toEqual({ data: [] });
  });

  it('documents the endpoints with their schemas, query parameter and problems', async () => {
    const doc = (await h.request('GET', '/openapi.json', { token: null })).json();
    expect(doc.paths['/shadow'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/TrafficView' });
    const list = doc.paths['/shadow/samples'].get;
    expect(list.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ShadowSampleList' });
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(['route']);
    expect(Object.keys(list.responses)).toEqual(expect.arrayContaining(['400', '401', '403', '404']));
    expect(doc.paths['/shadow/samples'].delete['x-gatehouse-role']).toBe('operator');
    expect(doc.components.schemas.ResilienceView.properties.traffic).toEqual({ $ref: '#/components/schemas/TrafficView' });
    expect(doc.components.schemas.ShadowSample.properties.differences.items.properties.kind.anyOf).toHaveLength(5);
  });
});
