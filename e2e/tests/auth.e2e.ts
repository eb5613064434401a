/**
 * Authentication and authorization end to end: the built gateway (embedded store), a real upstream, and
 * consumers/credentials/plugins created through the admin API. Covers key-auth + acl (valid, missing,
 * revoked, expired, wrong group), identity headers reaching the upstream, spoofed identity headers never
 * reaching it (with and without auth on the route), and key-auth + basic-auth combined in `any` mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

interface Seen {
  upstream: string;
  url: string;
  headers: Record<string, string | undefined>;
}
interface Problem {
  code: string;
  status: number;
}

const SPOOFED = {
  'x-consumer-id': 'admin',
  'x-consumer-username': 'admin',
  'x-consumer-custom-id': 'ROOT',
  'x-consumer-groups': 'partners,admins',
  'x-credential-identifier': 'forged',
  'x-anonymous-consumer': 'false',
};

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('auth (e2e)', () => {
  let upstream: Upstream;
  let gw: Gateway;
  const secrets: Record<string, string> = {};
  const ids: Record<string, string> = {};

  async function admin<T>(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<T> {
    const r = await gw.admin(path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path} → ${r.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
  async function credential(name: string, username: string, body: Record<string, unknown>): Promise<void> {
    const c = await admin<{ id: string; secret?: string }>(`/consumers/${username}/credentials`, body);
    ids[name] = c.id;
    if (c.secret !== undefined) secrets[name] = c.secret;
  }
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${gw.proxyUrl}${path}`, { headers });

  beforeAll(async () => {
    upstream = await startUpstream('api');
    gw = await startGateway();
    await admin('/services', { name: 'api', url: upstream.url });
    for (const r of ['partners', 'either', 'open']) await admin('/routes', { name: r, service: 'api', paths: [`/${r}`] });
    await admin('/consumers', { username: 'acme', custom_id: 'C-42', groups: ['partners'] });
    await admin('/consumers', { username: 'stranger', groups: ['public'] });
    await credential('acme-key', 'acme', { kind: 'key-auth' });
    await credential('revoked-key', 'acme', { kind: 'key-auth' });
    await credential('expiring-key', 'acme', { kind: 'key-auth' });
    await credential('stranger-key', 'stranger', { kind: 'key-auth' });
    await credential('acme-basic', 'acme', { kind: 'basic-auth', key: 'acme-user', secret: 'correct horse battery' });
    await admin(`/consumers/acme/credentials/${ids['revoked-key']}/revoke`, {});
    // Rotation with a short overlap: the old key expires in 3 s (and the new one works).
    const rotated = await admin<{ credential: { id: string; secret: string } }>(`/consumers/acme/credentials/${ids['expiring-key']}/rotate`, { overlap_seconds: 3 });
    secrets['rotated-key'] = rotated.credential.secret;
    await admin('/plugins', { name: 'key-auth', route: 'partners', config: {} });
    await admin('/plugins', { name: 'acl', route: 'partners', config: { allow: ['partners'] } });
    await admin('/plugins', { name: 'key-auth', route: 'either', config: {} });
    await admin('/plugins', { name: 'basic-auth', route: 'either', config: { realm: 'e2e' } });
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('never returns a clear secret except in the creation answer', async () => {
    const list = await admin<{ data: Record<string, unknown>[] }>('/consumers/acme/credentials');
    const dump = JSON.stringify(list);
    for (const s of [secrets['acme-key']!, secrets['acme-basic']!]) expect(dump).not.toContain(s);
    expect(secrets['acme-key']).toMatch(/^ghk_/);
  });

  it('valid key in an allowed group → 200, identity headers reach the upstream, spoofed ones do not', async () => {
    const r = await get('/partners/orders', { apikey: secrets['acme-key']!, ...SPOOFED });
    expect(r.status).toBe(200);
    const seen = (await r.json()) as Seen;
    expect(seen.headers['x-consumer-id']).toBe('acme');
    expect(seen.headers['x-consumer-username']).toBe('acme');
    expect(seen.headers['x-consumer-custom-id']).toBe('C-42');
    expect(seen.headers['x-consumer-groups']).toBe('partners');
    expect(seen.headers['x-credential-identifier']).toBe(ids['acme-key']);
    expect(seen.headers['x-anonymous-consumer']).toBeUndefined();
  });

  it.each([
    { name: 'missing key', key: undefined, status: 401, code: 'GW_ERR_AUTH_MISSING' },
    { name: 'unknown key', key: 'ghk_this-key-does-not-exist-anywhere', status: 401, code: 'GW_ERR_AUTH_INVALID' },
    { name: 'revoked key', key: 'revoked-key', status: 401, code: 'GW_ERR_AUTH_INVALID' },
    { name: 'consumer not in the allowed group', key: 'stranger-key', status: 403, code: 'GW_ERR_AUTH_FORBIDDEN' },
  ])('$name → $status problem+json, upstream not called', async ({ key, status, code }) => {
    const before = upstream.requests;
    const headers: Record<string, string> = key === undefined ? {} : { apikey: secrets[key] ?? key };
    const r = await get('/partners/orders', headers);
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(((await r.json()) as Problem).code).toBe(code);
    expect(upstream.requests).toBe(before);
  });

  it('a key rotated with a 3 s overlap: works, then 401 GW_ERR_AUTH_EXPIRED; the new key keeps working', async () => {
    const key = secrets['expiring-key']!;
    const wait = Date.parse((await admin<{ expires_at: string }>(`/consumers/acme/credentials/${ids['expiring-key']}`)).expires_at) - Date.now();
    if (wait > 500) expect((await get('/partners', { apikey: key })).status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, wait) + 100));
    const r = await get('/partners', { apikey: key });
    expect(r.status).toBe(401);
    expect(((await r.json()) as Problem).code).toBe('GW_ERR_AUTH_EXPIRED');
    expect((await get('/partners', { apikey: secrets['rotated-key']! })).status).toBe(200);
  });

  it('spoofed identity headers never reach the upstream on a route without auth', async () => {
    const r = await get('/open/x', SPOOFED);
    expect(r.status).toBe(200);
    const seen = (await r.json()) as Seen;
    for (const name of Object.keys(SPOOFED)) expect(seen.headers[name]).toBeUndefined();
  });

  it('key-auth OR basic-auth ("any"): either credential is accepted, neither → 401 with the Basic challenge', async () => {
    const byKey = await get('/either', { apikey: secrets['acme-key']!, ...SPOOFED });
    expect(byKey.status).toBe(200);
    expect(((await byKey.json()) as Seen).headers['x-credential-identifier']).toBe(ids['acme-key']);
    const byPassword = await get('/either', { authorization: basic('acme-user', 'correct horse battery'), ...SPOOFED });
    expect(byPassword.status).toBe(200);
    const seen = ((await byPassword.json()) as Seen).headers;
    expect(seen['x-consumer-username']).toBe('acme');
    expect(seen['x-credential-identifier']).toBe('acme-user');
    expect(seen['x-consumer-groups']).toBe('partners');

    const none = await get('/either');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="e2e", charset="UTF-8"');
    expect(((await none.json()) as Problem).code).toBe('GW_ERR_AUTH_MISSING');
    const wrong = await get('/either', { authorization: basic('acme-user', 'wrong horse battery') });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as Problem).code).toBe('GW_ERR_AUTH_INVALID');
  });
});
