import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, expectProblem, ROOT, type Harness } from '../test-support/admin-harness.js';
import type { AuditEvent, AuditPage } from '../../store/audit-store.js';
import { REDACTED } from './redact.js';
import { parseAuditQuery } from './audit.controller.js';

describe('audit log', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    // A fresh PGlite store takes a while on a busy machine.
  }, 90_000);
  afterAll(async () => {
    await h?.close();
  });

  const audit = async (query = ''): Promise<AuditPage> => {
    const res = await h.request('GET', `/audit${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as AuditPage;
  };
  const lastOf = async (action: string): Promise<AuditEvent> => (await audit(`?action=${action}&limit=1`)).data[0]!;

  it('records an entity change with who, what, before and after', async () => {
    expect((await h.request('POST', '/services', { body: { name: 'orders', url: 'http://orders.internal:8080' } })).statusCode).toBe(201);
    const created = await lastOf('services.create');
    expect(created).toMatchObject({ actor: 'admin-token', actor_role: 'admin', actor_via: 'token', target_kind: 'services', target_key: 'orders', before: null, status: 201 });
    expect(created.after).toMatchObject({ name: 'orders', url: 'http://orders.internal:8080' });
    expect(Date.parse(created.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(created.request_id).toBeTruthy();
    expect(created.source_ip).toBeTruthy();

    const res = await h.request('PUT', '/services/orders', { body: { name: 'orders', url: 'http://orders.internal:9090' } });
    expect(res.statusCode, res.body).toBe(200);
    const updated = await lastOf('services.update');
    expect(updated).toMatchObject({ target_kind: 'services', target_key: 'orders', before: { url: 'http://orders.internal:8080' }, after: { url: 'http://orders.internal:9090' } });
    expect(updated.id).toBeGreaterThan(created.id);

    expect((await h.request('DELETE', '/services/orders')).statusCode).toBe(204);
    expect(await lastOf('services.delete')).toMatchObject({ target_key: 'orders', before: { name: 'orders' }, after: null, status: 204 });
  });

  // Regression: a created plugin was recorded under its plugin type (`rate-limiting`), not its id.
  it('records a created plugin under its id, the key its update and delete use', async () => {
    const made = await h.request('POST', '/plugins', { body: { name: 'cors', config: {} } });
    expect(made.statusCode, made.body).toBe(201);
    const id = (made.json() as { id: string }).id;
    expect(await lastOf('plugins.create')).toMatchObject({ target_kind: 'plugins', target_key: id });
    expect((await h.request('DELETE', `/plugins/${id}`)).statusCode).toBe(204);
    expect(await lastOf('plugins.delete')).toMatchObject({ target_kind: 'plugins', target_key: id });
  });

  it('never stores secrets: credentials and admin users are redacted', async () => {
    expect((await h.request('POST', '/consumers', { body: { username: 'alice' } })).statusCode).toBe(201);
    const made = await h.request('POST', '/consumers/alice/credentials', { body: { kind: 'key-auth' } });
    expect(made.statusCode, made.body).toBe(201);
    const plaintext = (made.json() as { secret: string }).secret;
    expect(plaintext).toBeTruthy();
    const ev = await lastOf('credentials.create');
    expect(ev).toMatchObject({ target_kind: 'credentials' });
    expect(ev.target_key).toMatch(/^alice\//);
    expect(JSON.stringify(ev)).not.toContain(plaintext);
    expect(ev.after).toMatchObject({ kind: 'key-auth', key_hash: REDACTED, secret: REDACTED });
    const id = ev.target_key!.slice('alice/'.length);
    expect((await h.request('POST', `/consumers/alice/credentials/${id}/revoke`)).statusCode).toBe(200);
    const revoked = await lastOf('credentials.revoke');
    expect(revoked).toMatchObject({ target_kind: 'credentials', target_key: `alice/${id}`, after: { kind: 'key-auth' } });
    expect((revoked.before as { revoked_at?: string }).revoked_at).toBeFalsy();
    expect((revoked.after as { revoked_at: string }).revoked_at).toBeTruthy();

    const u = await h.request('POST', '/admin-users', { body: { username: 'bob', password: 'bob-password-1', role: 'viewer' } });
    expect(u.statusCode, u.body).toBe(201);
    const au = await lastOf('admin-users.create');
    expect(au).toMatchObject({ target_kind: 'admin-users', target_key: 'bob' });
    expect(JSON.stringify(au)).not.toContain('bob-password-1');
  });

  it('records a whole-config replace as versions, and failed logins', async () => {
    const before = (await h.store.current()).version;
    const res = await h.request('PUT', '/config', { body: { _format_version: '1', services: [{ name: 'a', url: 'http://a.internal' }], routes: [] } });
    expect(res.statusCode, res.body).toBe(200);
    expect(await lastOf('config.replace')).toMatchObject({ target_kind: 'config', before: { version: before }, after: { version: before + 1 } });

    expectProblem(await h.request('POST', '/auth/login', { token: null, body: { username: ROOT.username, password: 'wrong-password' } }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
    expect(await lastOf('login.failed')).toMatchObject({ actor: ROOT.username, status: 401, actor_via: 'password' });
    // Reads and successful logins are not changes.
    await h.login(ROOT.username, ROOT.password);
    await h.request('POST', '/config/validate', { body: { _format_version: '1', services: [], routes: [] } });
    const all = await audit('?limit=500');
    expect(all.data.some((e) => e.action.startsWith('config.validate') || e.action.startsWith('login.create'))).toBe(false);
  });

  it('filters and pages, newest first, and is for admins only', async () => {
    const all = (await audit('?limit=500')).data;
    expect(all.length).toBeGreaterThanOrEqual(6);
    const ids = all.map((e) => e.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    const p1 = await audit('?limit=2');
    expect(p1.data.map((e) => e.id)).toEqual(ids.slice(0, 2));
    const p2 = await audit(`?limit=2&cursor=${p1.next_cursor}`);
    expect(p2.data.map((e) => e.id)).toEqual(ids.slice(2, 4));
    const lastPage = await audit(`?limit=500&cursor=${ids[ids.length - 2]}`);
    expect(lastPage).toEqual({ data: [all[all.length - 1]], next_cursor: null });

    expect((await audit('?actor=admin-token&target=services:orders')).data.map((e) => e.action)).toEqual(['services.delete', 'services.update', 'services.create']);
    expect((await audit('?action=services.')).data).toHaveLength(3);
    expect((await audit(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).data).toEqual([]);

    expectProblem(await h.request('GET', '/audit?limit=0'), 400, 'GW_ERR_ADMIN_VALIDATION');
    expectProblem(await h.request('GET', '/audit?bogus=1'), 400, 'GW_ERR_ADMIN_VALIDATION');
    const viewer = await h.login('bob', 'bob-password-1');
    expectProblem(await h.request('GET', '/audit', { token: viewer }), 403, 'GW_ERR_ADMIN_FORBIDDEN');
  });

  it('parses its query strictly', () => {
    expect(parseAuditQuery({})).toEqual({ limit: 50 });
    expect(() => parseAuditQuery({ since: 'yesterday' })).toThrow();
    expect(() => parseAuditQuery({ actor: ['a', 'b'] })).toThrow();
    expect(parseAuditQuery({ cursor: '12', limit: '500' })).toEqual({ cursor: 12, limit: 500 });
  });
});
