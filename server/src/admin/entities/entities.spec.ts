// Entity CRUD over the real store: pagination, filters, validation naming the field, error mapping,
// nested conveniences, and the runtime reload that must happen before a write is answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';

describe('entities', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it('creates, reads, replaces, patches and deletes a service, reloading the runtime before each answer', async () => {
    const before = h.runtime.reloads;
    const created = await h.request('POST', '/services', { body: { name: 'orders', url: 'http://orders.internal:8080/v1', tags: ['team-a'] } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ name: 'orders', url: 'http://orders.internal:8080/v1', enabled: true, retries: 0 });
    expect(h.runtime.reloads).toBe(before + 1);
    expect(h.runtime.currentDocument().services.map((s) => s.name)).toContain('orders');

    expect((await h.request('GET', '/services/orders')).json()).toMatchObject({ name: 'orders', tags: ['team-a'] });

    const put = await h.request('PUT', '/services/orders', { body: { url: 'http://orders.internal:9090', retries: 2 } });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ name: 'orders', url: 'http://orders.internal:9090', retries: 2, tags: [] });

    const patch = await h.request('PATCH', '/services/orders', { body: { retries: 3, tags: ['team-b'] } });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json()).toMatchObject({ name: 'orders', url: 'http://orders.internal:9090', retries: 3, tags: ['team-b'] });
    expect(h.runtime.loadedVersion).toBe((await h.store.current()).version);

    const del = await h.request('DELETE', '/services/orders');
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expectProblem(await h.request('GET', '/services/orders'), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expect(h.runtime.currentDocument().services.map((s) => s.name)).not.toContain('orders');
  });

  it('names the failing field on validation errors', async () => {
    const res = await h.request('POST', '/services', { body: { name: 'bad', url: 'http://x.internal', retries: 99 } });
    const p = expectProblem(res, 400, 'GW_ERR_ADMIN_VALIDATION');
    expect(p.errors).toEqual([expect.objectContaining({ path: '/retries' })]);
    const unknown = expectProblem(await h.request('POST', '/routes', { body: { name: 'r', paths: ['/x'], colour: 'red' } }), 400, 'GW_ERR_ADMIN_VALIDATION');
    expect(unknown.errors).toEqual([{ path: '/colour', message: 'Unexpected property' }]);
    // A reference the store rejects is named too.
    const ref = expectProblem(await h.request('POST', '/routes', { body: { name: 'r-missing', service: 'ghost', paths: ['/g'] } }), 400, 'GW_ERR_ADMIN_VALIDATION');
    expect(JSON.stringify(ref.errors)).toMatch(/service/);
    const patch = expectProblem(await h.request('PATCH', '/services/nope', { body: { retries: 1 } }), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expect(patch.detail).toMatch(/nope/);
  });

  it('answers 409 on a duplicate key', async () => {
    expect((await h.request('POST', '/consumers', { body: { username: 'alice' } })).statusCode).toBe(201);
    expectProblem(await h.request('POST', '/consumers', { body: { username: 'alice' } }), 409, 'GW_ERR_ADMIN_CONFLICT');
  });

  it('paginates with next links and filters by tags, search and exact fields', async () => {
    await h.request('POST', '/services', { body: { name: 'billing', url: 'http://billing.internal' } });
    await h.request('POST', '/services', { body: { name: 'shipping', url: 'http://shipping.internal' } });
    for (let i = 0; i < 5; i++) {
      const res = await h.request('POST', '/routes', { body: { name: `bill-${i}`, service: 'billing', paths: [`/bill/${i}`], tags: i % 2 ? ['odd'] : ['even', 'x'] } });
      expect(res.statusCode, res.body).toBe(201);
    }
    await h.request('POST', '/routes', { body: { name: 'ship-0', service: 'shipping', paths: ['/ship'] } });

    const first = (await h.request('GET', '/routes?service=billing&limit=2')).json();
    expect(first).toMatchObject({ total: 5, offset: 0, limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.next).toMatch(/^\/routes\?/);
    const seen = [...first.data];
    let next: string | null = first.next;
    while (next) {
      const page = (await h.request('GET', next)).json();
      seen.push(...page.data);
      next = page.next;
    }
    expect(seen.map((r: { name: string }) => r.name).sort()).toEqual(['bill-0', 'bill-1', 'bill-2', 'bill-3', 'bill-4']);

    const even = (await h.request('GET', '/routes?tags=even,x')).json();
    expect(even.data.map((r: { name: string }) => r.name).sort()).toEqual(['bill-0', 'bill-2', 'bill-4']);
    expect((await h.request('GET', '/routes?search=SHIP')).json().data.map((r: { name: string }) => r.name)).toEqual(['ship-0']);

    const nested = (await h.request('GET', '/services/shipping/routes')).json();
    expect(nested).toMatchObject({ total: 1, next: null });
    expectProblem(await h.request('GET', '/services/ghost/routes'), 404, 'GW_ERR_ADMIN_NOT_FOUND');

    expectProblem(await h.request('GET', '/routes?limit=0'), 400, 'GW_ERR_BAD_REQUEST');
    const typo = expectProblem(await h.request('GET', '/routes?servce=billing'), 400, 'GW_ERR_BAD_REQUEST');
    expect(typo.errors).toEqual([expect.objectContaining({ path: '/query/servce' })]);
  });

  it('refuses to delete a service that routes still use', async () => {
    const p = expectProblem(await h.request('DELETE', '/services/shipping'), 409, 'GW_ERR_ADMIN_REFERENCE');
    expect(p.detail).toMatch(/ship-0/);
    expect((await h.request('GET', '/services/shipping')).statusCode).toBe(200);
  });

  it('manages upstream targets through the nested endpoints', async () => {
    expect((await h.request('POST', '/upstreams', { body: { name: 'pool', targets: [{ target: '10.0.0.1:80' }] } })).statusCode).toBe(201);
    const added = await h.request('POST', '/upstreams/pool/targets', { body: { target: '10.0.0.2:80', weight: 50 } });
    expect(added.statusCode, added.body).toBe(201);
    expectProblem(await h.request('POST', '/upstreams/pool/targets', { body: { target: '10.0.0.2:80' } }), 409, 'GW_ERR_ADMIN_CONFLICT');
    const bad = expectProblem(await h.request('POST', '/upstreams/pool/targets', { body: { target: 'no-port' } }), 400, 'GW_ERR_ADMIN_VALIDATION');
    expect(bad.errors).toEqual([expect.objectContaining({ path: '/target' })]);
    expect((await h.request('GET', '/upstreams/pool/targets')).json().data.map((t: { target: string }) => t.target)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    expect((await h.request('DELETE', '/upstreams/pool/targets/10.0.0.1:80')).statusCode).toBe(204);
    expectProblem(await h.request('DELETE', '/upstreams/pool/targets/10.0.0.1:80'), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expect((await h.request('GET', '/upstreams/pool')).json().targets).toEqual([expect.objectContaining({ target: '10.0.0.2:80', weight: 50 })]);
  });

  it("validates a plugin's config against that plugin's schema, and filters plugins", async () => {
    const bad = expectProblem(await h.request('POST', '/plugins', { body: { name: 'test-stamp', service: 'billing', config: { header: 'bad header' } } }), 400, 'GW_ERR_ADMIN_VALIDATION');
    expect(bad.errors).toEqual([expect.objectContaining({ path: '/config/header' })]);
    const unknown = expectProblem(await h.request('POST', '/plugins', { body: { name: 'no-such-plugin' } }), 400, 'GW_ERR_ADMIN_VALIDATION');
    expect(unknown.errors).toEqual([expect.objectContaining({ path: '/name' })]);

    const created = await h.request('POST', '/plugins', { body: { name: 'test-stamp', service: 'billing', config: { header: 'x-stamp' } } });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await h.request('POST', '/plugins', { body: { name: 'test-stamp', config: { header: 'x-global' } } });

    const byService = (await h.request('GET', '/plugins?service=billing&name=test-stamp')).json();
    expect(byService.data.map((p: { id: string }) => p.id)).toEqual([id]);
    const patched = await h.request('PATCH', `/plugins/${id}`, { body: { config: { value: 'v2' } } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().config).toMatchObject({ header: 'x-stamp', value: 'v2' });
    expect((await h.request('DELETE', `/plugins/${id}`)).statusCode).toBe(204);
  });
});

describe('entities in DB-less (read-only) mode', () => {
  it('answers 405 GW_ERR_ADMIN_READ_ONLY to every write, and still serves reads', async () => {
    const h = await createHarness({ env: { readOnly: true } });
    try {
      expectProblem(await h.request('POST', '/services', { body: { name: 'x', url: 'http://x.internal' } }), 405, 'GW_ERR_ADMIN_READ_ONLY');
      expectProblem(await h.request('DELETE', '/services/x'), 405, 'GW_ERR_ADMIN_READ_ONLY');
      expectProblem(await h.request('PUT', '/config', { body: { _format_version: '1' } }), 405, 'GW_ERR_ADMIN_READ_ONLY');
      expect((await h.request('GET', '/services')).statusCode).toBe(200);
      expect(h.runtime.reloads).toBe(1);
    } finally {
      await h.close();
    }
  });
});
