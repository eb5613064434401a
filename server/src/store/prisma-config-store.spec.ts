// Behaviour of the database store, run against in-memory PGlite and a throwaway PostgreSQL database.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkDocument } from '../config/check.js';
import { knownJson } from '../config/document-json.js';
import { emptyDocument, type ConfigDocument } from '../config/schema.js';
import { StoreConflictError, StoreNotFoundError, StoreValidationError, type ConfigStore } from './config-store.js';
import { createConfigStore } from './create-store.js';
import { loadDocument } from './entity-rows.js';
import type { StoreBackend } from './backends.js';
import { defaultMigrationsDir } from './migrate.js';
import { PrismaConfigStore, KEPT_VERSIONS } from './prisma-config-store.js';
import { PG_ENABLED, TEST_PLUGINS, createThrowawayDatabase, sampleDocument } from './test-support.js';

const author = { author: 'tester', message: 'test' };

interface Target {
  name: string;
  enabled: boolean;
  open(): Promise<{ store: ConfigStore; done(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'pglite',
    enabled: true,
    async open() {
      const store = await createConfigStore({ plugins: TEST_PLUGINS });
      return { store, done: () => store.close() };
    },
  },
  {
    name: 'postgres',
    enabled: PG_ENABLED,
    async open() {
      const db = await createThrowawayDatabase('store');
      const store = await createConfigStore({ plugins: TEST_PLUGINS, databaseUrl: db.url });
      return {
        store,
        async done() {
          await store.close();
          await db.drop();
        },
      };
    },
  },
];

async function catchError(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

/** The entity tables, read back independently of the stored version document. */
async function tablesOf(store: ConfigStore): Promise<ConfigDocument> {
  const prisma = (store as unknown as { backend: { prisma: Parameters<typeof loadDocument>[0] } }).backend.prisma;
  return loadDocument(prisma);
}

for (const target of targets) {
  describe.skipIf(!target.enabled)(`PrismaConfigStore on ${target.name}`, () => {
    let store: ConfigStore;
    let done: () => Promise<void>;

    beforeAll(async () => {
      ({ store, done } = await target.open());
    });
    afterAll(async () => {
      await done?.();
    });
    beforeEach(async () => {
      await store.replace(emptyDocument(), { author: 'reset' });
    });

    it('starts migrated and writable', () => {
      expect(store.kind).toBe(target.name);
      expect(store.readOnly).toBe(false);
      expect(store).toBeInstanceOf(PrismaConfigStore);
    });

    it('replace() fills defaults, assigns plugin ids, and is idempotent', async () => {
      const before = await store.current();
      const r1 = await store.replace(sampleDocument(), author);
      expect(r1).toEqual({ version: before.version + 1, changed: true });
      const { document, version } = await store.current();
      expect(version).toBe(r1.version);
      expect(document.services[0]).toMatchObject({ name: 'orders', connect_timeout: 5000, retries: 0, enabled: true, tags: [] });
      expect(document.upstreams[0]!.targets.map((t) => t.target)).toEqual(['10.0.0.2:8080', '10.0.0.1:8080']);
      expect(document.routes[0]!.headers).toEqual({ 'x-version': ['2'] });
      expect(document.plugins).toHaveLength(2);
      for (const p of document.plugins) expect(p.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(document.plugins.find((p) => p.route === 'orders-api')!.config).toEqual({ header: 'x-stamp', value: 'on' });

      // The same input again (ids omitted), and the exported document (ids present): nothing to write.
      expect(await store.replace(sampleDocument(), author)).toEqual({ version: r1.version, changed: false });
      expect(await store.replace(document, author)).toEqual({ version: r1.version, changed: false });
      expect((await store.current()).document.plugins.map((p) => p.id).sort()).toEqual(document.plugins.map((p) => p.id).sort());
      // The tables hold exactly what the version records.
      expect(await tablesOf(store)).toEqual((await store.current()).document);
    });

    it('replace() writes only what changed and records a version', async () => {
      await store.replace(sampleDocument(), author);
      const doc = sampleDocument();
      doc.upstreams[0]!.targets.push({ target: '10.0.0.3:8080', weight: 1, tags: [] });
      doc.consumers = [];
      doc.plugins = doc.plugins.filter((p) => p.route === undefined);
      const r = await store.replace(doc, { author: 'bob', message: 'scale out' });
      expect(r.changed).toBe(true);
      const { document } = await store.current();
      expect(document.consumers).toEqual([]);
      expect(document.plugins).toHaveLength(1);
      expect(document.upstreams[0]!.targets).toHaveLength(3);
      expect(await tablesOf(store)).toEqual(document);
      const v = await store.version(r.version);
      expect(v.info).toMatchObject({ version: r.version, author: 'bob', message: 'scale out' });
      expect(v.document).toEqual(document);
    });

    it('keeps text outside ASCII intact in the tables and the version (json and jsonb go as UTF-8 bytes)', async () => {
      const doc = sampleDocument();
      // Two-, three- and four-byte UTF-8 and JSON escapes: in text[] and jsonb columns, and the version's author and message.
      const odd = 'café ☕ 𝄞 "quoted" \\ back\\slash \u0001';
      doc.routes[0]!.tags = [odd, 'ü'];
      doc.routes[0]!.headers = { 'x-version': ['2', 'é𝄞'] };
      doc.plugins.find((p) => p.route === 'orders-api')!.config = { header: 'x-stamp', value: odd };
      doc.services[0]!.tags = [odd];
      const r = await store.replace(doc, { author: 'zoë', message: `keys ${odd}` });
      const { document } = await store.current();
      expect(document.routes[0]!.tags).toEqual([odd, 'ü']);
      expect(document.routes[0]!.headers).toEqual({ 'x-version': ['2', 'é𝄞'] });
      expect(document.services[0]!.tags).toEqual([odd]);
      expect(document.plugins.find((p) => p.route === 'orders-api')!.config).toEqual({ header: 'x-stamp', value: odd });
      expect(await tablesOf(store)).toEqual(document);
      const v = await store.version(r.version);
      expect(v.info).toMatchObject({ author: 'zoë', message: `keys ${odd}` });
      expect(v.document).toEqual(document);
    });

    it('current() after a write reads byte for byte like the version read back, and is frozen', async () => {
      const doc = sampleDocument();
      // Key orders jsonb would have changed (shorter keys first): the version is stored as json, as sent.
      doc.routes[0]!.headers = { 'x-version': ['2'], 'x-a': ['1'], 'x-much-longer-name': ['3'] };
      doc.plugins[1]!.config = { header: 'x-global', value: 'yes' };
      const checked = checkDocument(doc, TEST_PLUGINS);
      if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
      // A checked document takes the store's no-revalidation path.
      const r = await store.replace(checked.document, author);
      const head = (await store.current()).document;
      expect(JSON.stringify(head)).toBe(JSON.stringify((await store.version(r.version)).document));
      // The text kept with it for the proxy worker is that document, key order included.
      expect(knownJson(head)).toBe(JSON.stringify(head));
      expect(Object.keys(head.routes[0]!.headers!)).toEqual(['x-version', 'x-a', 'x-much-longer-name']);
      expect(Object.keys(head.plugins.find((p) => p.route === undefined)!.config)).toEqual(['header', 'value']);
      expect(() => head.routes.push(head.routes[0]!)).toThrow(TypeError);
      expect(() => Object.assign(head.routes[0]!, { priority: 9 })).toThrow(TypeError);
      // Nothing of the caller's document was frozen or changed along the way.
      expect(Object.isFrozen(checked.document.routes[0]!.paths)).toBe(false);
      expect(Object.keys(checked.document.plugins[1]!.config)).toEqual(['header', 'value']);
      expect(await tablesOf(store)).toEqual(head);
    });

    it('keeps the stored objects of the entities a write leaves unchanged, and copies the others', async () => {
      const first = checkDocument(sampleDocument(), TEST_PLUGINS);
      if (!first.ok) throw new Error(JSON.stringify(first.issues));
      await store.replace(first.document, author);
      const h1 = (await store.current()).document;
      expect(h1.routes[0]).not.toBe(first.document.routes[0]);

      const added = await store.create('routes', { name: 'added', service: 'orders', paths: ['/added'] }, author);
      const h2 = (await store.current()).document;
      expect(h2.services[0]).toBe(h1.services[0]);
      expect(h2.upstreams[0]).toBe(h1.upstreams[0]);
      expect(h2.plugins).toEqual(h1.plugins);
      h1.plugins.forEach((p, i) => expect(h2.plugins[i]).toBe(p));
      expect(h2.routes.find((r) => r.name === 'orders-api')).toBe(h1.routes[0]);
      const created = h2.routes.find((r) => r.name === 'added')!;
      expect(Object.isFrozen(created) && Object.isFrozen(created.paths)).toBe(true);
      expect(knownJson(h2)).toBe(JSON.stringify(h2));
      expect(JSON.stringify(h2)).toBe(JSON.stringify((await store.version(added.version)).document));

      // A whole document with one route changed: the equal entities are the stored objects, the changed one
      // neither the stored nor the caller's; values JSON has no form for are gone from both the document
      // and its text, as from the version.
      const doc = structuredClone(sampleDocument());
      doc.routes[0]!.paths = ['/orders', '/orders-v2'];
      doc.routes.push({ name: 'added', service: 'orders', paths: ['/added'] } as (typeof doc.routes)[number]);
      const checked = checkDocument(doc, TEST_PLUGINS);
      if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
      (checked.document.routes[0] as unknown as Record<string, unknown>).unsent = undefined;
      const r = await store.replace(checked.document, author);
      const h3 = (await store.current()).document;
      expect(h3.services[0]).toBe(h2.services[0]);
      expect(h3.routes.find((x) => x.name === 'added')).toBe(created);
      const changed = h3.routes.find((x) => x.name === 'orders-api')!;
      expect(changed).not.toBe(h2.routes.find((x) => x.name === 'orders-api'));
      expect(checked.document.routes).not.toContain(changed);
      expect(changed.paths).toEqual(['/orders', '/orders-v2']);
      expect('unsent' in changed).toBe(false);
      expect(knownJson(h3)).toBe(JSON.stringify(h3));
      expect(JSON.stringify(h3)).toBe(JSON.stringify((await store.version(r.version)).document));
      expect(await tablesOf(store)).toEqual(h3);
    });

    it('rejects an invalid document with issue paths and keeps the current one', async () => {
      await store.replace(sampleDocument(), author);
      const before = await store.current();
      const doc = sampleDocument();
      doc.routes[0]!.service = 'missing';
      const e = await catchError(store.replace(doc, author));
      expect(e).toBeInstanceOf(StoreValidationError);
      expect((e as StoreValidationError).issues).toContainEqual({ path: '/routes/0/service', message: "service 'missing' does not exist" });
      expect(await store.current()).toEqual(before);
    });

    it('CRUD on services, routes, upstreams and consumers', async () => {
      const s = await store.create('services', { name: 'billing', host: 'billing.internal', port: 9000 }, author);
      expect(s.entity).toMatchObject({ name: 'billing', host: 'billing.internal', port: 9000, read_timeout: 60000 });
      expect(await store.get('services', 'billing')).toEqual(s.entity);

      const r = await store.create('routes', { name: 'billing-api', service: 'billing', paths: ['/billing'], methods: ['GET'] }, author);
      expect(r.version).toBe(s.version + 1);
      expect(r.entity).toMatchObject({ service: 'billing', strip_path: true, protocols: ['http', 'https'] });

      const u = await store.create('upstreams', { name: 'pool', targets: [{ target: 'a.internal:80' }] }, author);
      expect(u.entity).toMatchObject({ algorithm: 'round-robin', targets: [{ target: 'a.internal:80', weight: 100, tags: [] }] });
      const c = await store.create('consumers', { username: 'carol', custom_id: 'c-1' }, author);
      expect(c.entity).toEqual({ username: 'carol', custom_id: 'c-1', groups: [], tags: [] });

      const up = await store.update('services', 'billing', { name: 'billing', url: 'http://billing.internal:9100' }, author);
      expect(up.entity.url).toBe('http://billing.internal:9100');
      expect(up.entity.host).toBeUndefined();

      await expect(store.create('services', { name: 'billing', host: 'x' }, author)).rejects.toBeInstanceOf(StoreConflictError);
      await expect(store.get('services', 'nope')).rejects.toBeInstanceOf(StoreNotFoundError);
      await expect(store.update('routes', 'nope', { name: 'nope' }, author)).rejects.toBeInstanceOf(StoreNotFoundError);
      await expect(store.remove('consumers', 'nope', author)).rejects.toBeInstanceOf(StoreNotFoundError);

      await store.remove('routes', 'billing-api', author);
      await store.remove('services', 'billing', author);
      await store.remove('upstreams', 'pool', author);
      await store.remove('consumers', 'carol', author);
      const { document } = await store.current();
      expect(document).toEqual(emptyDocument());
      expect(await tablesOf(store)).toEqual(emptyDocument());
    });

    it('CRUD on plugin instances by id', async () => {
      await store.replace(sampleDocument(), author);
      const created = await store.create('plugins', { name: 'header-stamp', service: 'orders', config: { header: 'x-svc' } }, author);
      const id = created.entity.id as string;
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(await store.get('plugins', id)).toMatchObject({ name: 'header-stamp', service: 'orders', config: { header: 'x-svc', value: 'on' } });
      const updated = await store.update('plugins', id, { name: 'header-stamp', service: 'orders', enabled: false, config: { header: 'x-svc', value: 'v2' } }, author);
      expect(updated.entity).toMatchObject({ id, enabled: false, config: { value: 'v2' } });
      // A second instance of the same plugin at the same scope is refused.
      const dup = await catchError(store.create('plugins', { name: 'header-stamp', service: 'orders', config: { header: 'x' } }, author));
      expect(dup).toBeInstanceOf(StoreValidationError);
      expect((dup as StoreValidationError).issues[0]!.path).toBe('/');
      await expect(store.update('plugins', id, { id: '00000000-0000-4000-8000-000000000000', name: 'header-stamp', config: { header: 'x' } }, author)).rejects.toBeInstanceOf(
        StoreConflictError,
      );
      await store.remove('plugins', id, author);
      await expect(store.get('plugins', id)).rejects.toBeInstanceOf(StoreNotFoundError);
    });

    it('re-roots issue paths at the entity body for single-entity writes', async () => {
      await store.replace(sampleDocument(), author);
      const e = await catchError(store.create('routes', { name: 'bad', service: 'ghost', paths: ['/ok', 'no-slash', '~(unclosed'] }, author));
      expect(e).toBeInstanceOf(StoreValidationError);
      const paths = (e as StoreValidationError).issues.map((i) => i.path).sort();
      expect(paths).toEqual(['/paths/1', '/paths/2', '/service']);
      const p = await catchError(store.create('plugins', { name: 'header-stamp', route: 'orders-api', consumer: 'alice', config: { header: 5 } }, author));
      expect((p as StoreValidationError).issues.map((i) => i.path)).toContain('/config/header');
      const unknown = await catchError(store.create('plugins', { name: 'no-such-plugin', config: {} }, author));
      expect((unknown as StoreValidationError).issues).toEqual([{ path: '/name', message: "unknown plugin 'no-such-plugin'" }]);
      const typo = await catchError(store.update('services', 'orders', { name: 'orders', url: 'http://x', retries: 99 }, author));
      expect((typo as StoreValidationError).issues.map((i) => i.path)).toEqual(['/retries']);
    });

    it('refuses to delete a service, route or consumer that is still referenced', async () => {
      await store.replace(sampleDocument(), author);
      const e = await catchError(store.remove('services', 'orders', author));
      expect(e).toBeInstanceOf(StoreConflictError);
      expect(e.message).toContain("route 'orders-api'");
      const r = await catchError(store.remove('routes', 'orders-api', author));
      expect(r).toBeInstanceOf(StoreConflictError);
      expect(r.message).toContain("plugin 'header-stamp'");
      await store.create('plugins', { name: 'header-stamp', consumer: 'alice', config: { header: 'x-c' } }, author);
      await expect(store.remove('consumers', 'alice', author)).rejects.toBeInstanceOf(StoreConflictError);
      expect((await store.current()).document.services).toHaveLength(1);
    });

    it('renames through update and carries references along', async () => {
      await store.replace(sampleDocument(), author);
      await store.create('plugins', { name: 'header-stamp', service: 'orders', config: { header: 'x-s' } }, author);
      await store.update('services', 'orders', { name: 'orders-v2', url: 'http://orders.internal:8080/v1' }, author);
      await store.update('routes', 'orders-api', { name: 'orders-route', service: 'orders-v2', paths: ['/orders'] }, author);
      await store.update('consumers', 'alice', { username: 'alicia', groups: ['staff'] }, author);
      await store.update('upstreams', 'orders-pool', { name: 'pool-b', targets: [] }, author);
      const { document } = await store.current();
      expect(document.services.map((s) => s.name)).toEqual(['orders-v2']);
      expect(document.routes.map((r) => [r.name, r.service])).toEqual([['orders-route', 'orders-v2']]);
      expect(document.plugins.find((p) => p.service)!.service).toBe('orders-v2');
      expect(document.plugins.find((p) => p.route)!.route).toBe('orders-route');
      expect(document.consumers.map((c) => c.username)).toEqual(['alicia']);
      expect(document.upstreams).toMatchObject([{ name: 'pool-b', targets: [] }]);
      expect(await tablesOf(store)).toEqual(document);
      // Renaming onto an existing key is a conflict.
      await store.create('services', { name: 'other', host: 'o' }, author);
      await expect(store.update('services', 'other', { name: 'orders-v2', host: 'o' }, author)).rejects.toBeInstanceOf(StoreConflictError);
    });

    it('lists with paging, tags, search and filters', async () => {
      const doc = sampleDocument();
      doc.services = Array.from({ length: 12 }, (_, i) => ({ name: `svc-${String(i).padStart(2, '0')}`, host: 'h', tags: i % 3 === 0 ? ['a', 'b'] : ['a'] }) as never);
      doc.routes = [{ name: 'r1', service: 'svc-01', paths: ['/x'] } as never, { name: 'r2', service: 'svc-02' } as never, { name: 'Orders-api', service: 'svc-01' } as never];
      doc.plugins = [];
      await store.replace(doc, author);
      const page = await store.list('services', { offset: 10, limit: 5 });
      expect(page).toMatchObject({ total: 12, offset: 10, limit: 5 });
      expect(page.data.map((s) => s.name)).toEqual(['svc-10', 'svc-11']);
      expect((await store.list('services', {})).limit).toBe(100);
      expect((await store.list('services', { limit: 5000 })).limit).toBe(1000);
      expect((await store.list('services', { tags: ['a', 'b'] })).data.map((s) => s.name)).toEqual(['svc-00', 'svc-03', 'svc-06', 'svc-09']);
      expect((await store.list('routes', { search: 'ORDERS' })).data.map((r) => r.name)).toEqual(['Orders-api']);
      expect((await store.list('routes', { filter: { service: 'svc-01' } })).total).toBe(2);
      expect((await store.list('services', { filter: { enabled: 'true' } })).total).toBe(12);
    });

    it('lists versions newest first and keeps a bounded history', async () => {
      const start = (await store.current()).version;
      await store.create('services', { name: 'a', host: 'a' }, { author: 'ann', message: 'one' });
      await store.create('services', { name: 'b', host: 'b' }, { author: 'ben' });
      const page = await store.versions({ limit: 2 });
      expect(page.data.map((v) => [v.version, v.author, v.message])).toEqual([
        [start + 2, 'ben', ''],
        [start + 1, 'ann', 'one'],
      ]);
      expect(page.total).toBeLessThanOrEqual(KEPT_VERSIONS);
      expect(new Date(page.data[0]!.created_at).getTime()).toBeGreaterThan(0);
      expect((await store.version(start + 1)).document.services.map((s) => s.name)).toEqual(['a']);
      await expect(store.version(987654)).rejects.toBeInstanceOf(StoreNotFoundError);
    });

    it('serialises concurrent writes within one node', async () => {
      const start = (await store.current()).version;
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.create('consumers', { username: `c${i}` }, author)));
      expect(results.map((r) => r.version).sort((x, y) => x - y)).toEqual(Array.from({ length: 8 }, (_, i) => start + 1 + i));
      expect((await store.current()).document.consumers).toHaveLength(8);
    });

    it('tells listeners about its own writes', async () => {
      const seen: number[] = [];
      const off = store.onChange((v) => seen.push(v));
      const r = await store.create('consumers', { username: 'dave' }, author);
      off();
      await store.remove('consumers', 'dave', author);
      expect(seen).toEqual([r.version]);
    });

    it('announces a write before it commits: the document current() then returns, and that it committed', async () => {
      const seen: { document: ConfigDocument; committed: Promise<boolean> }[] = [];
      const off = store.onWriting!((document, committed) => seen.push({ document, committed }));
      const r = await store.replace(sampleDocument(), author);
      // A write with nothing to change is not announced.
      await store.replace(sampleDocument(), author);
      expect(seen).toHaveLength(1);
      expect(await seen[0]!.committed).toBe(true);
      const head = await store.current();
      expect(head.version).toBe(r.version);
      expect(head.document).toBe(seen[0]!.document);
      off();
      await store.create('consumers', { username: 'erin' }, author);
      expect(seen).toHaveLength(1);
    });

    it('stores admin users', async () => {
      const before = await store.adminUsers.count();
      const name = `admin-${before}`;
      const u = await store.adminUsers.create({ username: name, password_hash: 'scrypt$x', role: 'admin' });
      expect(u).toMatchObject({ username: name, password_hash: 'scrypt$x', role: 'admin' });
      expect(await store.adminUsers.find(name)).toEqual(u);
      expect(await store.adminUsers.find('nobody')).toBeUndefined();
      expect(await store.adminUsers.count()).toBe(before + 1);
      await expect(store.adminUsers.create({ username: name, password_hash: 'y', role: 'viewer' })).rejects.toBeInstanceOf(StoreConflictError);
    });

    it('shares settings through the database', async () => {
      const s = store as PrismaConfigStore;
      const first = await s.setting('jwt_secret', () => 'one');
      expect(first).toBe('one');
      expect(await s.setting('jwt_secret', () => 'two')).toBe('one');
    });
  });
}

describe('PGlite in a data folder', () => {
  it('tells the writing listener when the announced write did not commit', async () => {
    const healthy = await createConfigStore({ plugins: TEST_PLUGINS });
    try {
      const backend = (healthy as unknown as { backend: StoreBackend }).backend;
      // The version insert fails, as a database that runs out of disk would, after the announcement.
      const failing = (tx: object) =>
        new Proxy(tx, {
          get: (t, k) =>
            k === '$executeRawUnsafe'
              ? (sql: string, ...args: unknown[]) => (sql.startsWith('INSERT INTO "config_versions"') ? Promise.reject(new Error('could not extend file')) : (t as { $executeRawUnsafe: (...a: unknown[]) => unknown }).$executeRawUnsafe(sql, ...args))
              : Reflect.get(t, k),
        });
      const prisma = new Proxy(backend.prisma, {
        get: (t, k) =>
          k === '$transaction'
            ? (fn: (tx: object) => Promise<unknown>, opts: unknown) => (t.$transaction as (f: unknown, o: unknown) => Promise<unknown>)((tx: object) => fn(failing(tx)), opts)
            : Reflect.get(t, k),
      });
      const store = new PrismaConfigStore({ backend: { ...backend, prisma }, plugins: TEST_PLUGINS, migrationsDir: defaultMigrationsDir() });
      const before = await store.current();
      const outcomes: Promise<boolean>[] = [];
      store.onWriting((_document, committed) => outcomes.push(committed));
      await expect(store.replace(sampleDocument(), author)).rejects.toThrow(/could not extend file/);
      expect(outcomes).toHaveLength(1);
      expect(await outcomes[0]).toBe(false);
      expect(await store.current()).toEqual(before);
    } finally {
      await healthy.close();
    }
  });

  it('keeps the configuration across restarts', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dataDir = join(mkdtempSync(join(tmpdir(), 'gh-pglite-')), 'data');
    try {
      const first = await createConfigStore({ plugins: TEST_PLUGINS, dataDir });
      const r = await first.replace(sampleDocument(), author);
      await first.close();
      const second = await createConfigStore({ plugins: TEST_PLUGINS, dataDir });
      const { version, document } = await second.current();
      expect(version).toBe(r.version);
      expect(document.routes.map((x) => x.name)).toEqual(['orders-api']);
      // The first write after a restart starts from the tables (no head of its own yet); what it keeps of
      // them reads like the version it wrote, key order included.
      const w = await second.create('routes', { name: 'added', service: 'orders', paths: ['/added'] }, author);
      expect(JSON.stringify((await second.current()).document)).toBe(JSON.stringify((await second.version(w.version)).document));
      await second.close();
    } finally {
      rmSync(join(dataDir, '..'), { recursive: true, force: true });
    }
  }, 60_000);
});
