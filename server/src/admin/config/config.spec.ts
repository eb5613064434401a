// Declarative config over HTTP (export, validate, diff, apply, dry run) and the version history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';

const DOC = {
  _format_version: '1',
  services: [{ name: 'catalog', url: 'http://catalog.internal:8080' }],
  routes: [{ name: 'catalog-api', service: 'catalog', paths: ['/catalog'] }],
  upstreams: [],
  consumers: [{ username: 'shop' }],
  plugins: [{ name: 'test-stamp', route: 'catalog-api', config: { header: 'x-catalog' } }],
};

const YAML_DOC = `
_format_version: "1"
services:
  - name: catalog
    url: http://catalog.internal:9090
routes:
  - name: catalog-api
    service: catalog
    paths: [/catalog]
`;

describe('declarative config', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it('validates JSON and YAML documents, listing every error by path', async () => {
    expect((await h.request('POST', '/config/validate', { body: DOC })).json()).toEqual({ valid: true, errors: [] });
    const yaml = await h.request('POST', '/config/validate', { body: YAML_DOC, headers: { 'content-type': 'application/yaml' } });
    expect(yaml.json()).toEqual({ valid: true, errors: [] });
    const bad = (await h.request('POST', '/config/validate', { body: { ...DOC, routes: [{ name: 'r', service: 'ghost', paths: ['/x'] }] } })).json();
    expect(bad.valid).toBe(false);
    expect(bad.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/routes/0/service' })]));
    const broken = (await h.request('POST', '/config/validate', { body: 'services: [unclosed', headers: { 'content-type': 'text/yaml' } })).json();
    expect(broken.valid).toBe(false);
    expect(broken.errors[0].message).toMatch(/YAML/);
  });

  it('diffs a document against the running store without changing it', async () => {
    const res = await h.request('POST', '/config/diff', { body: DOC });
    expect(res.statusCode, res.body).toBe(200);
    const { diff, text, base_version } = res.json();
    expect(diff.created.map((c: { kind: string; key: string }) => `${c.kind}:${c.key}`)).toEqual(
      expect.arrayContaining(['services:catalog', 'routes:catalog-api', 'consumers:shop']),
    );
    expect(text).toMatch(/\+ service catalog/);
    // The review answer carries the entities in full.
    expect(diff.created.find((c: { key: string }) => c.key === 'catalog-api').after).toMatchObject({ paths: ['/catalog'] });
    expect((await h.store.current()).version).toBe(base_version);
    const invalid = expectProblem(await h.request('POST', '/config/diff', { body: { _format_version: '2' } }), 400, 'GW_ERR_CONFIG_INVALID');
    expect(invalid.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/_format_version' })]));
  });

  it('applies with a dry run first, then for real, recording author and message', async () => {
    const before = (await h.store.current()).version;
    const dry = await h.request('PUT', '/config?dry_run=true', { body: DOC });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toMatchObject({ dry_run: true, changed: true, version: before });
    expect((await h.store.current()).version).toBe(before);

    const applied = await h.request('PUT', '/config?message=first%20catalog', { body: DOC });
    expect(applied.statusCode, applied.body).toBe(200);
    const { version, changed, diff, text } = applied.json();
    expect(changed).toBe(true);
    // The apply names what it changed; only plugin instances carry a body (their key does not say their scope).
    expect(diff.created.find((c: { kind: string }) => c.kind === 'routes')).toEqual({ kind: 'routes', key: 'catalog-api' });
    expect(diff.created.find((c: { kind: string }) => c.kind === 'plugins').after).toMatchObject({ name: 'test-stamp', route: 'catalog-api' });
    expect(text).toMatch(/\+ plugin test-stamp \(route catalog-api\)/);
    expect(version).toBeGreaterThan(before);
    expect(h.runtime.loadedVersion).toBe(version);
    expect(h.runtime.currentDocument().routes.map((r) => r.name)).toEqual(['catalog-api']);
    const history = (await h.request('GET', '/versions')).json();
    expect(history.data[0]).toMatchObject({ version, author: 'admin-token', message: 'first catalog' });

    const again = (await h.request('PUT', '/config', { body: DOC })).json();
    expect(again).toMatchObject({ changed: false, version });
  });

  it('exports JSON and YAML that round-trip', async () => {
    const json = await h.request('GET', '/config');
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.json().routes[0]).toMatchObject({ name: 'catalog-api', service: 'catalog' });
    const yaml = await h.request('GET', '/config?format=yaml');
    expect(yaml.headers['content-type']).toMatch(/^application\/yaml/);
    expect(parseYaml(yaml.body)).toEqual(json.json());
    expectProblem(await h.request('GET', '/config?format=xml'), 400, 'GW_ERR_BAD_REQUEST');
  });

  it('applies YAML, shows versions, and rolls back', async () => {
    const start = (await h.store.current()).version;
    const res = await h.request('PUT', '/config', { body: YAML_DOC, headers: { 'content-type': 'application/yaml' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().diff.deleted.map((c: { key: string }) => c.key)).toEqual(expect.arrayContaining(['shop']));
    // An update lists its fields, not the two bodies.
    expect(res.json().diff.updated).toEqual([{ kind: 'services', key: 'catalog', fields: [{ path: '/url', before: 'http://catalog.internal:8080', after: 'http://catalog.internal:9090' }] }]);
    const v = (await h.request('GET', `/versions/${start}`)).json();
    expect(v).toMatchObject({ version: start });
    expect(v.document.consumers).toEqual([expect.objectContaining({ username: 'shop' })]);

    const rb = await h.request('POST', `/versions/${start}/rollback`);
    expect(rb.statusCode, rb.body).toBe(200);
    expect(rb.json().changed).toBe(true);
    const now = await h.store.current();
    expect(now.document.consumers.map((c) => c.username)).toEqual(['shop']);
    expect(now.document.services[0]?.url).toBe('http://catalog.internal:8080');
    expect(h.runtime.loadedVersion).toBe(now.version);
    expect((await h.request('GET', '/versions?limit=1')).json().data[0]).toMatchObject({ message: `rollback to v${start}` });

    expectProblem(await h.request('GET', '/versions/99999'), 404, 'GW_ERR_ADMIN_NOT_FOUND');
    expectProblem(await h.request('GET', '/versions/abc'), 400, 'GW_ERR_BAD_REQUEST');
  });

  it('rejects an invalid apply with every error, leaving the store as it was', async () => {
    const before = (await h.store.current()).version;
    const res = await h.request('PUT', '/config', { body: { _format_version: '1', services: [{ name: 's' }], routes: [{ name: 'r', service: 'nope' }] } });
    const p = expectProblem(res, 400, 'GW_ERR_CONFIG_INVALID');
    expect((p.errors as { path: string }[]).map((e) => e.path)).toEqual(expect.arrayContaining(['/services/0', '/routes/0/service']));
    expect((await h.store.current()).version).toBe(before);
  });

  it('limits body sizes: 1 MB for entities, 10 MB for /config, as 413 problem+json', async () => {
    const big = JSON.stringify({ name: 'big', url: 'http://big.internal', tags: ['x'.repeat(2 * 1024 * 1024)] });
    expectProblem(await h.request('POST', '/services', { body: big }), 413, 'GW_ERR_ADMIN_PAYLOAD_TOO_LARGE');
    const twoMb = JSON.stringify({ ...DOC, consumers: Array.from({ length: 20_000 }, (_, i) => ({ username: `user-${i}-${'p'.repeat(80)}` })) });
    expect(twoMb.length).toBeGreaterThan(DEFAULT_ENTITY_LIMIT);
    const ok = await h.request('POST', '/config/validate', { body: twoMb });
    expect(ok.statusCode).toBe(200);
    expectProblem(await h.request('POST', '/config/validate', { body: 'x'.repeat(11 * 1024 * 1024) }), 413, 'GW_ERR_ADMIN_PAYLOAD_TOO_LARGE');
  });
});

const DEFAULT_ENTITY_LIMIT = 1024 * 1024;
