/**
 * Developer self-serve end to end: the built gateway (embedded store), a real upstream, and only HTTP.
 * An admin publishes routes protected by key-auth (+ acl by group), developers sign up, get approved and
 * restricted to groups, create applications and keys through /me/**, and the proxy honours those keys:
 * 200 for an allowed group, 403 for another group, 401 once revoked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const PASSWORD = 'developer-password-1';

describe('developer portal (e2e)', () => {
  let upstream: Upstream;
  let gw: Gateway;

  beforeAll(async () => {
    upstream = await startUpstream('api');
    gw = await startGateway();
    for (const [p, body] of [
      ['/services', { name: 'api', url: upstream.url }],
      ['/routes', { name: 'keyed', service: 'api', paths: ['/keyed'] }],
      ['/routes', { name: 'partners', service: 'api', paths: ['/partners'] }],
      ['/plugins', { name: 'key-auth', route: 'keyed', config: {} }],
    ] as const) {
      const r = await gw.admin(p, { method: 'POST', body: JSON.stringify(body) });
      expect(r.status, await r.clone().text()).toBe(201);
    }
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  /** JSON call to the admin API as someone (a developer's JWT, or no token at all). */
  async function call(method: string, p: string, token: string | null, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const r = await fetch(`${gw.adminUrl}${p}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }
  const admin = async (method: string, p: string, body?: unknown) => {
    const r = await gw.admin(p, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };

  /** Sign up, get approved and restricted by the admin, log in, create an application and a key. */
  async function onboard(username: string, groups: string[], app: string): Promise<{ token: string; keyId: string; key: string }> {
    expect((await call('POST', '/developers/signup', null, { username, password: PASSWORD })).status).toBe(201);
    const pending = await call('POST', '/auth/login', null, { username, password: PASSWORD });
    expect(pending.status).toBe(403);
    expect(pending.json.code).toBe('GW_ERR_DEVELOPER_PENDING');
    expect((await admin('POST', `/developers/${username}/approve`, {})).status).toBe(200);
    expect((await admin('POST', `/developers/${username}/restrict`, { groups })).json).toMatchObject({ status: 'approved', groups });
    const login = await call('POST', '/auth/login', null, { username, password: PASSWORD });
    expect(login.status).toBe(200);
    const token = String(login.json.access_token);
    expect((await call('POST', '/me/applications', token, { name: app })).json).toMatchObject({ consumer: `dev.${username}.${app}`, groups });
    const key = await call('POST', `/me/applications/${app}/keys`, token, {});
    expect(key.status).toBe(201);
    return { token, keyId: String(key.json.id), key: String(key.json.key) };
  }

  const proxy = (p: string, key?: string) => fetch(`${gw.proxyUrl}${p}`, { headers: key ? { apikey: key } : {} });

  it('a developer’s key reaches a key-auth route as its application; a revoked key gets 401', async () => {
    const alice = await onboard('alice', ['partners'], 'shop');
    const ok = await proxy('/keyed/x', alice.key);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { headers: Record<string, string> }).headers['x-consumer-username']).toBe('dev.alice.shop');
    expect((await proxy('/keyed/x')).status).toBe(401);
    // The developer cannot touch the rest of the admin API.
    expect((await call('GET', '/consumers', alice.token)).status).toBe(403);
    expect((await call('DELETE', `/me/applications/shop/keys/${alice.keyId}`, alice.token)).status).toBe(200);
    const revoked = await proxy('/keyed/x', alice.key);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('acl on the route: a key of an application in `partners` → 200, another group → 403, revoked → 401', async () => {
    for (const body of [
      { name: 'key-auth', route: 'partners', config: {} },
      { name: 'acl', route: 'partners', config: { allow: ['partners'] } },
    ]) {
      const r = await admin('POST', '/plugins', body);
      expect(r.status, JSON.stringify(r.json)).toBe(201);
    }
    const carol = await onboard('carol', ['partners'], 'app');
    const dave = await onboard('dave', ['others'], 'app');
    expect((await proxy('/partners/x', carol.key)).status).toBe(200);
    const denied = await proxy('/partners/x', dave.key);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { code: string }).code).toBe('GW_ERR_AUTH_FORBIDDEN');
    expect((await call('DELETE', `/me/applications/app/keys/${carol.keyId}`, carol.token)).status).toBe(200);
    expect((await proxy('/partners/x', carol.key)).status).toBe(401);
    // Dave cannot revoke or even see carol's key by its id.
    expect((await call('DELETE', `/me/applications/app/keys/${carol.keyId}`, dave.token)).status).toBe(404);
  });
});
