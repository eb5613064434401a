// The developer portal over the real store, role checks through the real guards, and keys checked
// against a real proxy built from the store's document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentialKeys, setActiveCredentialKeys } from '../../auth/secrets.js';
import { send, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { createHarness, expectProblem, keyAuthProxy, type Harness } from '../test-support/admin-harness.js';
import { MAX_KEYS_PER_APP } from './developer-accounts.js';
import { developerSettingsFromEnv } from './developers.service.js';

const PASSWORD = 'developer-password-1';

interface Created {
  id: string;
  key: string;
  status: string;
}

describe('developer portal API', () => {
  let h: Harness;
  let up: Upstream;
  let gw: Gateway | undefined;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    h = await createHarness();
    up = await startUpstream();
    setActiveCredentialKeys(await loadCredentialKeys(h.store, { info() {}, warn() {} }));
    for (const [username, role] of [['ops', 'operator'], ['watcher', 'viewer']] as const) {
      expect((await h.request('POST', '/admin-users', { body: { username, password: 'password-123', role } })).statusCode).toBe(201);
      tokens[username] = await h.login(username, 'password-123');
    }
  });
  afterAll(async () => {
    await gw?.close();
    await up.close();
    await h.close();
  });

  const gateway = async (): Promise<Gateway> => (gw = await keyAuthProxy(h.store, up, gw));

  const signup = (username: string, extra: Record<string, unknown> = {}) =>
    h.request('POST', '/developers/signup', { token: null, body: { username, password: PASSWORD, ...extra } });
  const as = (who: string) => ({ token: tokens[who]! });

  it('signs up a pending developer who cannot log in until an admin approves', async () => {
    const res = await signup('alice', { email: 'alice@example.com' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toEqual({ username: 'alice', status: 'pending' });
    expectProblem(await signup('alice'), 409, 'GW_ERR_ADMIN_CONFLICT');
    expectProblem(await signup('Alice.X'), 400, 'GW_ERR_ADMIN_VALIDATION');
    expectProblem(await signup('shorty', { password: 'short' }), 400, 'GW_ERR_ADMIN_VALIDATION');

    const pending = await h.request('POST', '/auth/login', { token: null, body: { username: 'alice', password: PASSWORD } });
    expectProblem(pending, 403, 'GW_ERR_DEVELOPER_PENDING');
    // A wrong password still answers 401, so the pending state is only told to the account's owner.
    expectProblem(await h.request('POST', '/auth/login', { token: null, body: { username: 'alice', password: 'wrong-password-1' } }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');

    const list = await h.request('GET', '/developers', as('ops'));
    expect(list.statusCode, list.body).toBe(200);
    expect((list.json() as { data: unknown[] }).data).toEqual([
      { username: 'alice', status: 'pending', groups: [], email: 'alice@example.com', applications: 0, created_at: expect.any(String) },
    ]);
    expectProblem(await h.request('GET', '/developers', as('watcher')), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    expectProblem(await h.request('POST', '/developers/alice/approve', { ...as('ops'), body: {} }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    expectProblem(await h.request('POST', '/developers/nobody/approve', { body: {} }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('POST', '/developers/ops/approve', { body: {} }), 404, 'GW_ERR_ADMIN_NOT_FOUND');

    const ok = await h.request('POST', '/developers/alice/approve', { body: {} });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ username: 'alice', status: 'approved' });
    tokens.alice = await h.login('alice', PASSWORD);
    expect((await h.request('GET', '/auth/me', as('alice'))).json()).toEqual({ username: 'alice', role: 'developer', via: 'jwt' });
    // The approval is a versioned config write with its author.
    const versions = (await h.request('GET', '/versions')).json() as { data: { author: string; message: string }[] };
    expect(versions.data[0]).toMatchObject({ author: 'admin-token', message: 'approve developer alice' });
  });

  it('closes every other admin endpoint to developers', async () => {
    for (const [method, url] of [
      ['GET', '/developers'],
      ['GET', '/consumers'],
      ['GET', '/consumers/dev.alice.app1/credentials'],
      ['GET', '/config'],
      ['GET', '/status'],
      ['GET', '/admin-users'],
      ['POST', '/consumers'],
      ['POST', '/developers/alice/restrict'],
    ] as const) {
      expectProblem(await h.request(method, url, { ...as('alice'), ...(method === 'POST' ? { body: {} } : {}) }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    }
    expect((await h.request('GET', '/health/live', as('alice'))).statusCode).toBe(200);
    // …and /me to everyone else.
    for (const who of ['ops', 'watcher'] as const) expectProblem(await h.request('GET', '/me/applications', as(who)), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    expectProblem(await h.request('GET', '/me/applications'), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    expectProblem(await h.request('GET', '/me/applications', { token: null }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
  });

  it('creates an application and a key shown once; the proxy accepts the key as that application', async () => {
    const app = await h.request('POST', '/me/applications', { ...as('alice'), body: { name: 'app1' } });
    expect(app.statusCode, app.body).toBe(201);
    expect(app.json()).toEqual({ name: 'app1', consumer: 'dev.alice.app1', groups: [], keys: 0 });
    expectProblem(await h.request('POST', '/me/applications', { ...as('alice'), body: { name: 'app1' } }), 409, 'GW_ERR_ADMIN_CONFLICT');
    expectProblem(await h.request('POST', '/me/applications', { ...as('alice'), body: { name: 'x.y' } }), 400, 'GW_ERR_ADMIN_VALIDATION');

    const res = await h.request('POST', '/me/applications/app1/keys', as('alice'));
    expect(res.statusCode, res.body).toBe(201);
    const key = res.json() as Created;
    expect(key).toMatchObject({ status: 'active', key: expect.stringMatching(/^ghk_/) });
    const listed = (await h.request('GET', '/me/applications/app1/keys', as('alice'))).json() as { data: Record<string, unknown>[] };
    expect(listed.data).toEqual([{ id: key.id, status: 'active', created_at: expect.any(String) }]);
    expect(JSON.stringify(listed)).not.toContain(key.key);
    expect(JSON.stringify(h.logs)).not.toContain(key.key);
    expect((await h.request('GET', '/me/applications', as('alice'))).json()).toEqual({ data: [{ name: 'app1', consumer: 'dev.alice.app1', groups: [], keys: 1 }] });

    const g = await gateway();
    const ok = await send(g.port, '/r', { headers: { apikey: key.key } });
    expect(ok.status).toBe(200);
    expect(ok.json().headers['x-consumer-username']).toBe('dev.alice.app1');
  });

  it('rotates with an overlap and revokes at once', async () => {
    const first = (await h.request('POST', '/me/applications/app1/keys', as('alice'))).json() as Created;
    const rot = await h.request('POST', `/me/applications/app1/keys/${first.id}/rotate`, { ...as('alice'), body: { overlap_seconds: 600 } });
    expect(rot.statusCode, rot.body).toBe(201);
    const { key: second, previous } = rot.json() as { key: Created; previous: { id: string; status: string; expires_at: string } };
    expect(previous).toMatchObject({ id: first.id, status: 'active' });
    expect(Date.parse(previous.expires_at) - Date.now()).toBeGreaterThan(590_000);
    let g = await gateway();
    expect((await send(g.port, '/r', { headers: { apikey: first.key } })).status).toBe(200);
    expect((await send(g.port, '/r', { headers: { apikey: second.key } })).status).toBe(200);

    const rev = await h.request('DELETE', `/me/applications/app1/keys/${first.id}`, as('alice'));
    expect(rev.statusCode, rev.body).toBe(200);
    expect(rev.json()).toMatchObject({ id: first.id, status: 'revoked', revoked_at: expect.any(String) });
    g = await gateway();
    expect((await send(g.port, '/r', { headers: { apikey: first.key } })).status).toBe(401);
    expect((await send(g.port, '/r', { headers: { apikey: second.key } })).status).toBe(200);
    expectProblem(await h.request('POST', `/me/applications/app1/keys/${first.id}/rotate`, { ...as('alice'), body: {} }), 409, 'GW_ERR_ADMIN_CONFLICT');
  });

  it('never lets a developer see or change another developer’s applications or keys', async () => {
    await signup('bob');
    await h.request('POST', '/developers/bob/approve', { body: {} });
    tokens.bob = await h.login('bob', PASSWORD);
    const aliceKey = (await h.request('POST', '/me/applications/app1/keys', as('alice'))).json() as Created;
    expect((await h.request('POST', '/me/applications', { ...as('bob'), body: { name: 'mine' } })).statusCode).toBe(201);

    expect((await h.request('GET', '/me/applications', as('bob'))).json()).toEqual({ data: [{ name: 'mine', consumer: 'dev.bob.mine', groups: [], keys: 0 }] });
    // Alice's application name, her consumer name, traversal and encoded variants: all 404 (bob's own namespace).
    for (const app of ['app1', 'dev.alice.app1', '..%2Falice', 'alice.app1', '%2E%2E']) {
      for (const [method, url] of [
        ['GET', `/me/applications/${app}/keys`],
        ['POST', `/me/applications/${app}/keys`],
        ['GET', `/me/applications/${app}/limits`],
        ['DELETE', `/me/applications/${app}`],
        ['DELETE', `/me/applications/${app}/keys/${aliceKey.id}`],
        ['POST', `/me/applications/${app}/keys/${aliceKey.id}/rotate`],
      ] as const) {
        const res = await h.request(method, url, { ...as('bob'), ...(method === 'POST' ? { body: {} } : {}) });
        expect(res.statusCode, `${method} ${url}`).toBe(404);
      }
    }
    // Alice's key id under bob's own application.
    expectProblem(await h.request('DELETE', `/me/applications/mine/keys/${aliceKey.id}`, as('bob')), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('POST', `/me/applications/mine/keys/${aliceKey.id}/rotate`, { ...as('bob'), body: {} }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    // Nothing of alice's changed.
    const keys = (await h.request('GET', '/me/applications/app1/keys', as('alice'))).json() as { data: { id: string; status: string }[] };
    expect(keys.data.find((k) => k.id === aliceKey.id)?.status).toBe('active');
    // A consumer an operator named like bob's application is not bob's.
    expect((await h.request('POST', '/consumers', { body: { username: 'dev.bob.planted', groups: ['gold'] } })).statusCode).toBe(201);
    expectProblem(await h.request('POST', '/me/applications/planted/keys', as('bob')), 404, 'GW_ERR_ADMIN_NOT_FOUND');
  });

  it('restricts a developer: groups apply to existing and new applications', async () => {
    expectProblem(await h.request('POST', '/developers/alice/restrict', { ...as('ops'), body: { groups: ['partners'] } }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    const res = await h.request('POST', '/developers/alice/restrict', { body: { groups: ['partners'] } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ username: 'alice', status: 'approved', groups: ['partners'], applications: 1 });
    expect((await h.request('GET', '/consumers/dev.alice.app1')).json()).toMatchObject({ groups: ['partners'] });
    const app2 = await h.request('POST', '/me/applications', { ...as('alice'), body: { name: 'app2' } });
    expect(app2.json()).toMatchObject({ name: 'app2', groups: ['partners'] });
    // Bob's are untouched.
    expect((await h.request('GET', '/consumers/dev.bob.mine')).json()).toMatchObject({ groups: [] });
  });

  it('shows the rate limits that apply: the global one and the application’s own, not others’', async () => {
    for (const body of [
      { name: 'rate-limiting', config: { minute: 100, policy: 'local' } },
      { name: 'rate-limiting', consumer: 'dev.alice.app1', config: { second: 5, quota_day: 1000 } },
      { name: 'rate-limiting', consumer: 'dev.bob.mine', config: { second: 1 } },
    ]) {
      const res = await h.request('POST', '/plugins', { body });
      expect(res.statusCode, res.body).toBe(201);
    }
    const res = await h.request('GET', '/me/applications/app1/limits', as('alice'));
    expect(res.statusCode, res.body).toBe(200);
    const { data } = res.json() as { data: { scope: string; limits: Record<string, unknown> }[] };
    expect(data.map((d) => d.scope).sort()).toEqual(['consumer', 'global']);
    expect(data.find((d) => d.scope === 'consumer')!.limits).toMatchObject({ second: 5, quota_day: 1000 });
    expect(data.find((d) => d.scope === 'global')!.limits).toMatchObject({ minute: 100 });
    expect(JSON.stringify(data)).not.toContain('policy');
    const app2 = (await h.request('GET', '/me/applications/app2/limits', as('alice'))).json() as { data: { scope: string }[] };
    expect(app2.data.map((d) => d.scope)).toEqual(['global']);
  });

  it('bounds the keys of one application', async () => {
    await h.request('POST', '/me/applications', { ...as('bob'), body: { name: 'many' } });
    for (let i = 0; i < MAX_KEYS_PER_APP; i++) expect((await h.request('POST', '/me/applications/many/keys', as('bob'))).statusCode).toBe(201);
    expectProblem(await h.request('POST', '/me/applications/many/keys', as('bob')), 409, 'GW_ERR_DEVELOPER_LIMIT');
  });

  it('deletes an application with its keys', async () => {
    const key = (await h.request('POST', '/me/applications/app2/keys', as('alice'))).json() as Created;
    expect((await h.request('DELETE', '/me/applications/app2', as('alice'))).statusCode).toBe(204);
    expectProblem(await h.request('GET', '/me/applications/app2/keys', as('alice')), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expect(((await h.store.current()).document.credentials ?? []).some((c) => c.id === key.id)).toBe(false);
  });

  it('invites a developer with a one-time token kept only as a hash', async () => {
    expectProblem(await h.request('POST', '/developers/invitations', { ...as('ops'), body: { username: 'carol' } }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    expectProblem(await h.request('POST', '/developers/invitations', { body: { username: 'alice' } }), 409, 'GW_ERR_ADMIN_CONFLICT');
    const inv = await h.request('POST', '/developers/invitations', { body: { username: 'carol', groups: ['partners'] } });
    expect(inv.statusCode, inv.body).toBe(201);
    const { token } = inv.json() as { token: string };
    expect(token).toMatch(/^gdi_/);
    expect(JSON.stringify(h.logs)).not.toContain(token);
    expectProblem(await h.request('POST', '/auth/login', { token: null, body: { username: 'carol', password: PASSWORD } }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');

    const accept = (t: string) => h.request('POST', '/developers/accept-invite', { token: null, body: { token: t, password: PASSWORD } });
    // Forged or altered tokens are refused before the store is consulted.
    const forged = `${token.slice(0, -3)}${token.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    expectProblem(await accept(forged), 400, 'GW_ERR_DEVELOPER_INVITE_INVALID');
    expectProblem(await accept('gdi_not-a-token-at-all'), 400, 'GW_ERR_DEVELOPER_INVITE_INVALID');
    const ok = await accept(token);
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toEqual({ username: 'carol', status: 'approved' });
    expectProblem(await accept(token), 400, 'GW_ERR_DEVELOPER_INVITE_INVALID');
    tokens.carol = await h.login('carol', PASSWORD);
    const app = await h.request('POST', '/me/applications', { ...as('carol'), body: { name: 'c1' } });
    expect(app.json()).toMatchObject({ groups: ['partners'] });
  });
});

describe('developer sign-up with GATEHOUSE_DEVELOPER_AUTO_APPROVE', () => {
  it('reads the setting strictly', () => {
    expect(developerSettingsFromEnv({ GATEHOUSE_DEVELOPER_AUTO_APPROVE: 'true' })).toEqual({ autoApprove: true });
    expect(developerSettingsFromEnv({})).toEqual({ autoApprove: false });
    expect(() => developerSettingsFromEnv({ GATEHOUSE_DEVELOPER_AUTO_APPROVE: 'yes please' })).toThrow(/GATEHOUSE_DEVELOPER_AUTO_APPROVE/);
  });

  it('approves sign-ups at once', async () => {
    process.env.GATEHOUSE_DEVELOPER_AUTO_APPROVE = 'true';
    let h: Harness | undefined;
    try {
      h = await createHarness();
    } finally {
      delete process.env.GATEHOUSE_DEVELOPER_AUTO_APPROVE;
    }
    try {
      const res = await h.request('POST', '/developers/signup', { token: null, body: { username: 'dana', password: PASSWORD } });
      expect(res.json()).toEqual({ username: 'dana', status: 'approved' });
      const token = await h.login('dana', PASSWORD);
      expect((await h.request('GET', '/me/applications', { token })).json()).toEqual({ data: [] });
    } finally {
      await h.close();
    }
  });
});
