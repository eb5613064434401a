// Authentication and authorization of the admin API against a real in-memory store.
import { JwtService } from '@nestjs/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_LIMIT } from '../admin.module.js';
import { KEY_ISSUE_LIMIT } from '../common/throttles.js';
import { ADMIN_TOKEN, ROOT, createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';

describe('auth', () => {
  let h: Harness;
  let viewer: string;
  let operator: string;
  beforeAll(async () => {
    h = await createHarness();
    for (const [username, role] of [['vera', 'viewer'], ['otto', 'operator']] as const) {
      const res = await h.request('POST', '/admin-users', { body: { username, password: `${username}-password`, role } });
      expect(res.statusCode, res.body).toBe(201);
    }
    viewer = await h.login('vera', 'vera-password');
    operator = await h.login('otto', 'otto-password');
  });
  afterAll(() => h.close());

  it('creates the first admin from GATEHOUSE_ADMIN_USER/PASSWORD and logs in with it', async () => {
    const res = await h.request('POST', '/auth/login', { token: null, body: ROOT });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ token_type: 'Bearer', role: 'admin', expires_in: 28800 });
    expect(body.access_token.split('.')).toHaveLength(3);
    const me = await h.request('GET', '/auth/me', { token: body.access_token });
    expect(me.json()).toEqual({ username: 'root', role: 'admin', via: 'jwt' });
  });

  it('rejects a wrong password and an unknown user alike', async () => {
    const wrong = await h.request('POST', '/auth/login', { token: null, body: { username: 'root', password: 'nope-nope' } });
    const unknown = await h.request('POST', '/auth/login', { token: null, body: { username: 'nobody', password: 'nope-nope' } });
    expect(expectProblem(wrong, 401, 'GW_ERR_ADMIN_UNAUTHORIZED').detail).toBe(expectProblem(unknown, 401, 'GW_ERR_ADMIN_UNAUTHORIZED').detail);
  });

  it('validates the login body, naming the field', async () => {
    const res = await h.request('POST', '/auth/login', { token: null, body: { username: 'root' } });
    const p = expectProblem(res, 400, 'GW_ERR_ADMIN_VALIDATION');
    expect(p.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/password' })]));
  });

  it('accepts the static admin token and rejects others', async () => {
    const ok = await h.request('GET', '/auth/me');
    expect(ok.json()).toEqual({ username: 'admin-token', role: 'admin', via: 'token' });
    expectProblem(await h.request('GET', '/auth/me', { token: `${ADMIN_TOKEN}x` }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
    const none = expectProblem(await h.request('GET', '/services', { token: null }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
    expect(none.instance).toBe('/services');
  });

  it('rejects a JWT signed with another secret, expired, or tampered with', async () => {
    const foreign = await new JwtService({ secret: 'another-secret' }).signAsync({ sub: 'root', role: 'admin' }, { expiresIn: 600 });
    expectProblem(await h.request('GET', '/auth/me', { token: foreign }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
    const expired = await new JwtService({ secret: 'jwt-secret-for-tests' }).signAsync({ sub: 'root', role: 'admin', exp: Math.floor(Date.now() / 1000) - 60 });
    expect(expectProblem(await h.request('GET', '/auth/me', { token: expired }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED').detail).toMatch(/expired/);
    const valid = await new JwtService({ secret: 'jwt-secret-for-tests' }).signAsync({ sub: 'root', role: 'admin' }, { expiresIn: 600 });
    expect((await h.request('GET', '/auth/me', { token: valid })).statusCode).toBe(200);
    const ghost = await new JwtService({ secret: 'jwt-secret-for-tests' }).signAsync({ sub: 'deleted-user', role: 'admin' }, { expiresIn: 600 });
    expectProblem(await h.request('GET', '/auth/me', { token: ghost }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
    const [head, , sig] = viewer.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'vera', role: 'admin', exp: 9_999_999_999 })).toString('base64url');
    expectProblem(await h.request('GET', '/auth/me', { token: `${head}.${forged}.${sig}` }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
  });

  it('lets a viewer read but not write', async () => {
    expect((await h.request('GET', '/services', { token: viewer })).statusCode).toBe(200);
    expect((await h.request('GET', '/config', { token: viewer })).statusCode).toBe(200);
    const write = await h.request('POST', '/services', { token: viewer, body: { name: 'v-svc', url: 'http://x.internal' } });
    expect(expectProblem(write, 403, 'GW_ERR_ADMIN_FORBIDDEN').detail).toMatch(/viewer/);
    expectProblem(await h.request('PUT', '/config', { token: viewer, body: { _format_version: '1' } }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    expectProblem(await h.request('GET', '/admin-users', { token: viewer }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
  });

  it('lets an operator write config but not manage admin users', async () => {
    const write = await h.request('POST', '/services', { token: operator, body: { name: 'o-svc', url: 'http://x.internal' } });
    expect(write.statusCode, write.body).toBe(201);
    expectProblem(await h.request('GET', '/admin-users', { token: operator }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
    const create = await h.request('POST', '/admin-users', { token: operator, body: { username: 'eve', password: 'eve-password', role: 'admin' } });
    expectProblem(create, 403, 'GW_ERR_ADMIN_FORBIDDEN');
  });

  it('lets an admin create users; duplicates and short passwords are refused', async () => {
    const created = await h.request('POST', '/admin-users', { body: { username: 'ada', password: 'ada-password', role: 'operator' } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toEqual({ id: expect.any(String), username: 'ada', role: 'operator', created_at: expect.any(String) });
    expectProblem(await h.request('POST', '/admin-users', { body: { username: 'vera', password: 'whatever-1', role: 'viewer' } }), 409, 'GW_ERR_ADMIN_CONFLICT');
    const short = expectProblem(await h.request('POST', '/admin-users', { body: { username: 'sam', password: 'short', role: 'viewer' } }), 400, 'GW_ERR_ADMIN_VALIDATION');
    expect(short.errors).toEqual([expect.objectContaining({ path: '/password' })]);
  });

  it('lets an admin list users without their password hashes', async (ctx) => {
    // Needs ConfigStore.adminUsers.list (optional in the contract until every store implements it).
    if (!h.store.adminUsers.list) ctx.skip();
    const list = await h.request('GET', '/admin-users');
    expect(list.statusCode, list.body).toBe(200);
    const users = list.json().data as Record<string, unknown>[];
    expect(users.map((u) => u.username)).toEqual(expect.arrayContaining(['root', 'vera', 'otto']));
    expect(list.body).not.toMatch(/scrypt|password/);
  });
});

describe('first admin without GATEHOUSE_ADMIN_USER', () => {
  it('generates a password, logs it once, and it works', async () => {
    const h = await createHarness({ env: { adminUser: undefined, adminPassword: undefined, jwtSecret: undefined } });
    try {
      const lines = h.logs.filter((l) => /generated password/.test(l.msg ?? ''));
      expect(lines).toHaveLength(1);
      const password = (lines[0]!.obj as { generated_password: string }).generated_password;
      expect(lines[0]!.msg).toContain(password);
      // Without GATEHOUSE_JWT_SECRET the secret comes from the store, shared by every node: no warning.
      expect(h.logs.some((l) => /GATEHOUSE_JWT_SECRET is not set/.test(l.msg ?? ''))).toBe(false);
      const token = await h.login('admin', password);
      expect((await h.request('GET', '/auth/me', { token })).json()).toMatchObject({ username: 'admin', role: 'admin' });
      const secret = await h.store.setting('admin_jwt_secret', () => 'must-not-be-created');
      expect(secret).not.toBe('must-not-be-created');
      expect(secret.length).toBeGreaterThanOrEqual(32);
    } finally {
      await h.close();
    }
  });
});

describe('login throttling', () => {
  it(`answers 429 problem+json after ${LOGIN_LIMIT.limit} attempts a minute from one IP`, async () => {
    const h = await createHarness();
    try {
      for (let i = 0; i < LOGIN_LIMIT.limit; i++) {
        const res = await h.request('POST', '/auth/login', { token: null, body: { username: 'root', password: 'wrong-password' } });
        expect(res.statusCode).toBe(401);
      }
      const limited = await h.request('POST', '/auth/login', { token: null, body: ROOT });
      expectProblem(limited, 429, 'GW_ERR_ADMIN_RATE_LIMITED');
      expect(Number(limited.headers['retry-after-login'] ?? limited.headers['retry-after'])).toBeGreaterThan(0);
      // Other endpoints are not throttled.
      expect((await h.request('GET', '/auth/me')).statusCode).toBe(200);
    } finally {
      await h.close();
    }
  });

  it(`answers 429 after ${KEY_ISSUE_LIMIT.limit} credentials a minute from one account, create and rotate counted together`, async () => {
    const h = await createHarness();
    try {
      expect((await h.request('POST', '/consumers', { body: { username: 'bulk' } })).statusCode).toBe(201);
      const first = await h.request('POST', '/consumers/bulk/credentials', { body: { kind: 'key-auth' } });
      expect(first.statusCode).toBe(201);
      const id = (first.json() as { id: string }).id;
      for (let i = 1; i < KEY_ISSUE_LIMIT.limit; i++) {
        const res = i % 2 ? await h.request('POST', `/consumers/bulk/credentials/${id}/rotate`, { body: {} }) : await h.request('POST', '/consumers/bulk/credentials', { body: { kind: 'key-auth' } });
        expect(res.statusCode, res.body).toBe(201);
      }
      const limited = await h.request('POST', '/consumers/bulk/credentials', { body: { kind: 'key-auth' } });
      const problem = expectProblem(limited, 429, 'GW_ERR_ADMIN_RATE_LIMITED');
      expect(JSON.stringify(problem)).toContain('too many credentials issued');
      // The login throttle is a separate budget, and reads are never throttled.
      expect((await h.request('POST', '/auth/login', { token: null, body: ROOT })).statusCode).toBe(200);
      expect((await h.request('GET', '/consumers/bulk/credentials')).statusCode).toBe(200);
    } finally {
      await h.close();
    }
  });
});
