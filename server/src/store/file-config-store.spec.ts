// DB-less mode: a declarative YAML/JSON file, validated, read-only, reloadable.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreConflictError, StoreNotFoundError, StoreReadOnlyError, StoreValidationError } from './config-store.js';
import { createConfigStore } from './create-store.js';
import { FileConfigStore } from './file-config-store.js';
import { TEST_PLUGINS, sampleDocument } from './test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-file-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const YAML_DOC = `_format_version: "1"
services:
  - name: orders
    url: http://orders.internal:8080
routes:
  - name: orders-api
    service: orders
    paths: [/orders]
    tags: [public]
plugins:
  - name: header-stamp
    route: orders-api
    config:
      header: x-stamp
`;

async function catchError(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('FileConfigStore', () => {
  it('loads YAML with defaults and stable plugin ids, and refuses writes', async () => {
    const path = join(dir, 'gateway.yaml');
    writeFileSync(path, YAML_DOC);
    const store = await createConfigStore({ configFile: path, plugins: TEST_PLUGINS });
    expect(store).toBeInstanceOf(FileConfigStore);
    expect(store.kind).toBe('file');
    expect(store.readOnly).toBe(true);
    const { document, version } = await store.current();
    expect(version).toBe(1);
    expect(document.routes[0]).toMatchObject({ name: 'orders-api', strip_path: true, tags: ['public'] });
    const plugin = document.plugins[0]!;
    expect(plugin.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await store.get('plugins', plugin.id!)).toMatchObject({ config: { header: 'x-stamp', value: 'on' } });
    expect((await store.list('routes', { tags: ['public'] })).total).toBe(1);
    await expect(store.get('services', 'nope')).rejects.toBeInstanceOf(StoreNotFoundError);

    await expect(store.replace(sampleDocument(), { author: 'x' })).rejects.toBeInstanceOf(StoreReadOnlyError);
    await expect(store.create('services', { name: 'a', host: 'a' }, { author: 'x' })).rejects.toBeInstanceOf(StoreReadOnlyError);
    await expect(store.update('services', 'orders', { name: 'orders', host: 'a' }, { author: 'x' })).rejects.toBeInstanceOf(StoreReadOnlyError);
    await expect(store.remove('routes', 'orders-api', { author: 'x' })).rejects.toBeInstanceOf(StoreReadOnlyError);

    expect((await store.versions({})).data.map((v) => v.version)).toEqual([1]);
    expect((await store.version(1)).document).toEqual(document);
    await expect(store.version(2)).rejects.toBeInstanceOf(StoreNotFoundError);

    // The env-provided first admin lives in memory.
    expect(await store.adminUsers.count()).toBe(0);
    await store.adminUsers.create({ username: 'root', password_hash: 'h', role: 'admin' });
    expect(await store.adminUsers.find('root')).toMatchObject({ username: 'root', role: 'admin' });
    await expect(store.adminUsers.create({ username: 'root', password_hash: 'h', role: 'admin' })).rejects.toBeInstanceOf(StoreConflictError);
    await store.close();
  });

  it('loads JSON too', async () => {
    const path = join(dir, 'gateway.json');
    writeFileSync(path, JSON.stringify(sampleDocument(), null, 2));
    const store = await createConfigStore({ configFile: path, plugins: TEST_PLUGINS });
    expect((await store.current()).document.upstreams[0]!.targets).toHaveLength(2);
    await store.close();
  });

  it('reports syntax errors with line and column, and invalid documents with paths', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, '_format_version: "1"\nservices:\n  - name: a\n    url: [unclosed\n');
    const e = await catchError(createConfigStore({ configFile: bad, plugins: TEST_PLUGINS }));
    expect(e).toBeInstanceOf(StoreValidationError);
    expect(e.message).toMatch(/line \d+, column \d+/);

    const badJson = join(dir, 'bad.json');
    writeFileSync(badJson, '{\n  "_format_version": "1",\n  "services": [,]\n}');
    expect((await catchError(createConfigStore({ configFile: badJson, plugins: TEST_PLUGINS }))).message).toMatch(/line 3, column \d+/);

    const invalid = join(dir, 'invalid.yaml');
    writeFileSync(invalid, YAML_DOC.replace('service: orders', 'service: ghost'));
    const v = await catchError(createConfigStore({ configFile: invalid, plugins: TEST_PLUGINS }));
    expect((v as StoreValidationError).issues).toEqual([{ path: '/routes/0/service', message: "service 'ghost' does not exist" }]);
  });

  it('reload() re-reads the file, tells listeners, and keeps the old config when the new one is invalid', async () => {
    const path = join(dir, 'reload.yaml');
    writeFileSync(path, YAML_DOC);
    const store = (await createConfigStore({ configFile: path, plugins: TEST_PLUGINS })) as FileConfigStore;
    const seen: number[] = [];
    store.onChange((v) => seen.push(v));
    expect(await store.reload()).toEqual({ version: 1, changed: false });
    writeFileSync(path, YAML_DOC.replace('/orders]', '/orders, /v2/orders]'));
    expect(await store.reload()).toEqual({ version: 2, changed: true });
    expect(seen).toEqual([2]);
    expect((await store.current()).document.routes[0]!.paths).toEqual(['/orders', '/v2/orders']);
    writeFileSync(path, 'services: [');
    await expect(store.reload()).rejects.toBeInstanceOf(StoreValidationError);
    expect((await store.current()).version).toBe(2);
    expect(seen).toEqual([2]);
    await store.close();
  });
});
