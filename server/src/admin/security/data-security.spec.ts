/**
 * Admin-plane data security: the listener is loopback unless told otherwise, sign-in is throttled,
 * credential secrets never come back out (export, listings, audit log, admin logs), and configuration
 * imports refuse unknown fields and oversize documents with problem+json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../config/env.js';
import { LOGIN_LIMIT } from '../common/throttles.js';
import { createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';

describe('admin listener default', () => {
  it('binds to loopback when GATEHOUSE_ADMIN_LISTEN is unset or a bare port', () => {
    expect(loadEnv({}).adminListen.host).toBe('127.0.0.1');
    expect(loadEnv({ GATEHOUSE_ADMIN_LISTEN: '9123' }).adminListen.host).toBe('127.0.0.1');
  });
});

describe('admin data security', () => {
  let h: Harness;
  const secrets: string[] = [];

  beforeAll(async () => {
    h = await createHarness();
    expect((await h.request('POST', '/consumers', { body: { username: 'sec-alice' } })).statusCode).toBe(201);
    const base = '/consumers/sec-alice/credentials';
    const key = (await h.request('POST', base, { body: { kind: 'key-auth' } })).json() as { secret: string };
    secrets.push(key.secret);
    const basicPassword = 'basic-password-that-must-not-leak';
    expect((await h.request('POST', base, { body: { kind: 'basic-auth', key: 'sec-alice', secret: basicPassword } })).statusCode).toBe(201);
    secrets.push(basicPassword);
    const hmac = (await h.request('POST', base, { body: { kind: 'hmac-auth', key: 'sec-alice-hmac' } })).json() as { secret: string };
    secrets.push(hmac.secret);
    // An admin user's password too.
    expect((await h.request('POST', '/admin-users', { body: { username: 'sec-viewer', password: 'viewer-password-never-logged', role: 'viewer' } })).statusCode).toBe(201);
    secrets.push('viewer-password-never-logged');
    for (const s of secrets) expect(typeof s).toBe('string');
  });
  afterAll(() => h?.close());

  it('throttles sign-in: wrong passwords from one address are refused with 429 after the limit', async () => {
    let limited = 0;
    for (let i = 0; i <= LOGIN_LIMIT.limit; i++) {
      const res = await h.request('POST', '/auth/login', { token: null, body: { username: 'root', password: `guess-${i}` }, headers: { 'x-forwarded-for': '203.0.113.9' } });
      if (res.statusCode === 429) {
        expectProblem(res, 429, 'GW_ERR_ADMIN_RATE_LIMITED');
        limited++;
      } else expect(res.statusCode).toBe(401);
    }
    expect(limited).toBeGreaterThan(0);
  });

  it('never returns a credential secret or password in the export, listings, audit log or admin logs', async () => {
    const places: Record<string, string> = {
      export: (await h.request('GET', '/config')).body,
      'export (yaml)': (await h.request('GET', '/config', { headers: { accept: 'application/yaml' } })).body,
      credentials: (await h.request('GET', '/consumers/sec-alice/credentials')).body,
      consumers: (await h.request('GET', '/consumers')).body,
      'admin users': (await h.request('GET', '/admin-users')).body,
      audit: (await h.request('GET', '/audit')).body,
      versions: (await h.request('GET', '/versions')).body,
      logs: JSON.stringify(h.logs),
    };
    expect(places.export!.length).toBeGreaterThan(10);
    const leaks: string[] = [];
    for (const [where, text] of Object.entries(places)) for (const s of secrets) if (text.includes(s)) leaks.push(`${where} contains ${s.slice(0, 6)}…`);
    expect(leaks).toEqual([]);
  });

  it('grants no cross-origin access: no Access-Control-Allow-* on a preflight or a request from a foreign origin', async () => {
    const origin = 'https://evil.example';
    const pre = await h.request('OPTIONS', '/config', { token: null, headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,content-type' } });
    const get = await h.request('GET', '/config', { headers: { origin } });
    for (const res of [pre, get]) expect(Object.keys(res.headers).filter((k) => k.startsWith('access-control-allow'))).toEqual([]);
  });

  it('refuses a configuration document with an unknown field, naming it, and changes nothing', async () => {
    const before = (await h.request('GET', '/config')).body;
    const res = await h.request('PUT', '/config', { body: { _format_version: '1', services: [{ name: 'x', url: 'http://x.internal', surprise: true }] } });
    const problem = expectProblem(res, 400, 'GW_ERR_CONFIG_INVALID');
    expect(JSON.stringify(problem)).toContain('surprise');
    const top = await h.request('PUT', '/config', { body: { _format_version: '1', not_a_section: [] } });
    expect(JSON.stringify(expectProblem(top, 400, 'GW_ERR_CONFIG_INVALID'))).toContain('not_a_section');
    expect((await h.request('GET', '/config')).body).toBe(before);
  });

  it('refuses an oversize configuration document with 413 problem+json before parsing it', async () => {
    const huge = JSON.stringify({ _format_version: '1', services: [{ name: 'x', url: 'http://x.internal', tags: ['y'.repeat(11 * 1024 * 1024)] }] });
    expectProblem(await h.request('PUT', '/config', { body: huge }), 413, 'GW_ERR_ADMIN_PAYLOAD_TOO_LARGE');
    expectProblem(await h.request('PUT', '/config', { body: `_format_version: "1"\nx: ${'z'.repeat(11 * 1024 * 1024)}\n`, headers: { 'content-type': 'application/yaml' } }), 413, 'GW_ERR_ADMIN_PAYLOAD_TOO_LARGE');
  });
});
