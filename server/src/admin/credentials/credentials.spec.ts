// The credentials API over the real store, checked against a real proxy built from the store's document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentialKeys, setActiveCredentialKeys } from '../../auth/secrets.js';
import { send, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { createHarness, expectProblem, keyAuthProxy, type Harness } from '../test-support/admin-harness.js';

describe('consumer credentials API', () => {
  let h: Harness;
  let up: Upstream;
  let gw: Gateway | undefined;
  const base = '/consumers/alice/credentials';

  beforeAll(async () => {
    h = await createHarness();
    up = await startUpstream();
    // The data plane uses the store's pepper, as main.ts arranges.
    setActiveCredentialKeys(await loadCredentialKeys(h.store, { info() {}, warn() {} }));
    expect((await h.request('POST', '/consumers', { body: { username: 'alice', groups: ['gold'] } })).statusCode).toBe(201);
  });
  afterAll(async () => {
    await gw?.close();
    await up.close();
    await h.close();
  });

  const gateway = async (): Promise<Gateway> => (gw = await keyAuthProxy(h.store, up, gw));

  it('creates a key shown once, stores only its keyed hash, and the proxy accepts it', async () => {
    const res = await h.request('POST', base, { body: { kind: 'key-auth', tags: ['mobile'] } });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json() as { id: string; secret: string; key_hash: string };
    expect(created.secret).toMatch(/^ghk_[A-Za-z0-9_-]{43}$/);
    const listed = (await h.request('GET', base)).json() as { data: Record<string, unknown>[] };
    expect(listed.data.map((c) => c.id)).toEqual([created.id]);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    expect(JSON.stringify((await h.request('GET', '/config')).json())).not.toContain(created.secret);
    expect(JSON.stringify(h.logs)).not.toContain(created.secret);

    const g = await gateway();
    const ok = await send(g.port, '/r', { headers: { apikey: created.secret } });
    expect(ok.status).toBe(200);
    expect(ok.json().headers['x-consumer-username']).toBe('alice');
    expect((await send(g.port, '/r', { headers: { apikey: `${created.secret}x` } })).status).toBe(401);
  });

  it('rotates with an overlap: both keys work until the old one expires; revoking stops it at once', async () => {
    const first = (await h.request('POST', base, { body: { kind: 'key-auth' } })).json() as { id: string; secret: string };
    const rot = await h.request('POST', `${base}/${first.id}/rotate`, { body: { overlap_seconds: 600 } });
    expect(rot.statusCode, rot.body).toBe(201);
    const { credential, previous } = rot.json() as { credential: { id: string; secret: string }; previous: { expires_at: string } };
    expect(Date.parse(previous.expires_at) - Date.now()).toBeGreaterThan(590_000);
    let g = await gateway();
    expect((await send(g.port, '/r', { headers: { apikey: first.secret } })).status).toBe(200);
    expect((await send(g.port, '/r', { headers: { apikey: credential.secret } })).status).toBe(200);

    const rev = await h.request('POST', `${base}/${first.id}/revoke`);
    expect(rev.statusCode, rev.body).toBe(200);
    expect(rev.json()).toHaveProperty('revoked_at');
    g = await gateway();
    expect((await send(g.port, '/r', { headers: { apikey: first.secret } })).status).toBe(401);

    const zero = await h.request('POST', `${base}/${credential.id}/rotate`, { body: { overlap_seconds: 0 } });
    g = await gateway();
    const expired = await send(g.port, '/r', { headers: { apikey: credential.secret } });
    expect(expired.json<{ code: string }>().code).toBe('GW_ERR_AUTH_EXPIRED');
    expect((await send(g.port, '/r', { headers: { apikey: (zero.json() as { credential: { secret: string } }).credential.secret } })).status).toBe(200);
  });

  it('creates basic-auth with a password it never returns in listings', async () => {
    const res = await h.request('POST', base, { body: { kind: 'basic-auth', key: 'alice', secret: 'correct horse battery' } });
    expect(res.statusCode, res.body).toBe(201);
    const got = (await h.request('GET', `${base}/${(res.json() as { id: string }).id}`)).json() as { secret_hash: string; secret?: string };
    expect(got.secret).toBeUndefined();
    expect(got.secret_hash).toMatch(/^scrypt\$/);
  });

  it('answers problem+json for bad bodies, unknown consumers and ids', async () => {
    expectProblem(await h.request('POST', base, { body: { kind: 'basic-auth', key: 'alice' } }), 400, 'GW_ERR_ADMIN_VALIDATION');
    expectProblem(await h.request('POST', base, { body: { kind: 'nope' } }), 400, 'GW_ERR_ADMIN_VALIDATION');
    expectProblem(await h.request('POST', '/consumers/nobody/credentials', { body: { kind: 'key-auth' } }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('GET', `${base}/00000000-0000-4000-8000-000000000000`), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('GET', base, { token: null }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
  });

  it('deletes a credential, and a consumer with its credentials', async () => {
    const c = (await h.request('POST', base, { body: { kind: 'hmac-auth', key: 'alice-hmac' } })).json() as { id: string; secret: string };
    expect(c.secret.length).toBeGreaterThanOrEqual(16);
    expect((await h.request('DELETE', `${base}/${c.id}`)).statusCode).toBe(204);
    expectProblem(await h.request('GET', `${base}/${c.id}`), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expect((await h.request('DELETE', '/consumers/alice')).statusCode).toBe(204);
    expect((await h.store.current()).document.credentials).toBeUndefined();
  });
});
