// GET /me/apis and GET /me/applications/:app/usage over the real store, guards, live hub (fed as the proxy
// worker feeds it) and a real HTTP server holding an OpenAPI document.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../proxy/test-support/harness.js';
import type { LiveSecond } from '../../observability/live-aggregates.js';
import { createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';

const PASSWORD = 'developer-password-1';
const ORDERS_DOC = { openapi: '3.0.3', info: { title: 'Orders', version: '1' }, paths: { '/orders': { get: { summary: 'List orders' } } } };
const PARTNERS_DOC = { openapi: '3.1.0', info: { title: 'Partners', version: '2' }, paths: { '/partners/{id}': { get: { summary: 'One partner' } } } };

interface Api {
  service: string;
  routes: { name: string; paths: string[]; key_names: string[] }[];
  applications: string[];
  openapi: { source: string; url?: string; document?: { info: { title: string } }; error?: string };
}

describe('developer portal: APIs and usage', () => {
  let h: Harness;
  let docs: Upstream;
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({ token: tokens[who]! });

  beforeAll(async () => {
    h = await createHarness();
    docs = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/partners.json') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(PARTNERS_DOC));
      else if (req.url === '/big.json') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ openapi: '3.0.0', pad: 'x'.repeat(1_100_000) }));
      else res.writeHead(404).end();
    });
    for (const [name, groups] of [['alice', ['partners']], ['bob', []]] as const) {
      expect((await h.request('POST', '/developers/signup', { token: null, body: { username: name, password: PASSWORD } })).statusCode).toBe(201);
      expect((await h.request('POST', `/developers/${name}/approve`, { body: {} })).statusCode).toBe(200);
      if (groups.length) expect((await h.request('POST', `/developers/${name}/restrict`, { body: { groups } })).statusCode).toBe(200);
      tokens[name] = await h.login(name, PASSWORD);
      expect((await h.request('POST', '/me/applications', { ...as(name), body: { name: 'shop' } })).statusCode).toBe(201);
    }
    const create = async (kind: string, body: unknown) => {
      const res = await h.request('POST', `/${kind}`, { body });
      expect(res.statusCode, res.body).toBe(201);
    };
    await create('services', { name: 'orders', url: 'http://127.0.0.1:9/', openapi: { document: ORDERS_DOC } });
    await create('services', { name: 'partners', url: 'http://127.0.0.1:9/', openapi: { url: `http://${docs.address}/partners.json` } });
    await create('services', { name: 'big', url: 'http://127.0.0.1:9/', openapi: { url: `http://${docs.address}/big.json` } });
    await create('services', { name: 'open', url: 'http://127.0.0.1:9/' });
    await create('services', { name: 'scoped', url: 'http://127.0.0.1:9/' });
    await create('services', { name: 'both', url: 'http://127.0.0.1:9/' });
    for (const s of ['orders', 'partners', 'big', 'open', 'scoped', 'both']) await create('routes', { name: `${s}-r`, service: s, paths: [`/${s}`] });
    await create('plugins', { name: 'key-auth', service: 'orders', config: { key_names: ['x-api-key'] } });
    await create('plugins', { name: 'key-auth', route: 'partners-r', config: {} });
    await create('plugins', { name: 'acl', route: 'partners-r', config: { allow: ['partners'] } });
    await create('plugins', { name: 'key-auth', route: 'big-r', config: {} });
    await create('plugins', { name: 'key-auth', route: 'scoped-r', config: {} });
    await create('plugins', { name: 'acl', route: 'scoped-r', config: { required_scopes: ['read'] } });
    // Needs a key AND basic auth: a key alone is not enough.
    await create('plugins', { name: 'key-auth', route: 'both-r', config: { auth_mode: 'all' } });
    await create('plugins', { name: 'basic-auth', route: 'both-r', config: { auth_mode: 'all' } });
  }, 120_000);
  afterAll(async () => {
    await docs.close();
    await h.close();
  });

  it('lists only the services whose key-auth routes admit the developer, with their OpenAPI documents', async () => {
    const res = await h.request('GET', '/me/apis', as('alice'));
    expect(res.statusCode, res.body).toBe(200);
    const alice = (res.json() as { data: Api[] }).data;
    expect(alice.map((a) => a.service)).toEqual(['big', 'orders', 'partners']);
    const orders = alice.find((a) => a.service === 'orders')!;
    expect(orders.openapi).toEqual({ source: 'inline', document: ORDERS_DOC });
    expect(orders.routes).toEqual([{ name: 'orders-r', hosts: [], paths: ['/orders'], methods: [], key_names: ['x-api-key'], key_in_header: true, key_in_query: true }]);
    expect(orders.applications).toEqual(['shop']);
    const partners = alice.find((a) => a.service === 'partners')!;
    expect(partners.openapi).toEqual({ source: 'url', url: `http://${docs.address}/partners.json`, document: PARTNERS_DOC });
    const big = alice.find((a) => a.service === 'big')!;
    expect(big.openapi.error).toBe('the document is larger than 1048576 bytes');
    expect(big.openapi.document).toBeUndefined();

    // bob is in no group: the acl-protected service is not even named to him.
    const bob = ((await h.request('GET', '/me/apis', as('bob'))).json() as { data: Api[] }).data;
    expect(bob.map((a) => a.service)).toEqual(['big', 'orders']);
  });

  it('fetches a URL document once and serves it from the cache', async () => {
    const before = docs.hits;
    await h.request('GET', '/me/apis', as('alice'));
    await h.request('GET', '/me/apis', as('bob'));
    expect(docs.hits).toBe(before);
  });

  it('is for developers only', async () => {
    expectProblem(await h.request('GET', '/me/apis'), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    expectProblem(await h.request('GET', '/me/apis', { token: null }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
    expectProblem(await h.request('GET', '/me/applications/shop/usage'), 403, 'GW_ERR_ADMIN_FORBIDDEN');
  });

  it("reports an application's per-minute usage, and only its own developer's", async () => {
    const second = Math.floor(Date.now() / 1000);
    const cell = (name: string, count: number, errors: number, limited: number) => ({ name, count, errors, limited, latency: [] });
    const live: LiveSecond = {
      node: 'test-node',
      second,
      total: cell('total', 12, 1, 2),
      routes: [],
      services: [],
      breakers: [],
      consumers: [cell('dev.alice.shop', 5, 1, 2), cell('dev.bob.shop', 7, 0, 0)],
    };
    h.runtime.emitLive(live);

    const res = await h.request('GET', '/me/applications/shop/usage?minutes=5', as('alice'));
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { consumer: string; minutes: number; data: { at: string; requests: number }[]; totals: object };
    expect(body.consumer).toBe('dev.alice.shop');
    expect(body.minutes).toBe(5);
    expect(body.data).toHaveLength(5);
    expect(body.totals).toEqual({ requests: 5, errors: 1, limited: 2 });
    expect(Date.parse(body.data.at(-1)!.at)).toBe(Math.floor(Date.now() / 60_000) * 60_000);

    const bob = (await h.request('GET', '/me/applications/shop/usage', as('bob'))).json() as { data: unknown[]; totals: object };
    expect(bob.totals).toEqual({ requests: 7, errors: 0, limited: 0 });
    expect(bob.data).toHaveLength(60);

    // Another developer's application reads as absent, whatever its name.
    expectProblem(await h.request('GET', '/me/applications/dev.bob.shop/usage', as('alice')), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('GET', '/me/applications/nothing/usage', as('alice')), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('GET', '/me/applications/shop/usage?minutes=0', as('alice')), 400, 'GW_ERR_BAD_REQUEST');
    expectProblem(await h.request('GET', '/me/applications/shop/usage?minutes=1441', as('alice')), 400, 'GW_ERR_BAD_REQUEST');
    expectProblem(await h.request('GET', '/me/applications/shop/usage?hours=1', as('alice')), 400, 'GW_ERR_BAD_REQUEST');
  });

  it('keeps services without an OpenAPI document backward compatible in the config', async () => {
    const svc = (await h.request('GET', '/services/open')).json() as Record<string, unknown>;
    expect(svc.openapi).toBeUndefined();
    const orders = (await h.request('GET', '/services/orders')).json() as { openapi: unknown };
    expect(orders.openapi).toEqual({ document: ORDERS_DOC });
    expectProblem(await h.request('POST', '/services', { body: { name: 'bad', url: 'http://x/', openapi: { url: 'ftp://x/doc' } } }), 400, 'GW_ERR_ADMIN_VALIDATION');
  });
});
