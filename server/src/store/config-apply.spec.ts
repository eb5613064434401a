// A declarative apply of 10,000 routes through the real store (issue 11), on in-memory PGlite and a
// throwaway PostgreSQL database. Timing targets live in config-apply.bench.ts; this checks correctness at
// 10,000 routes and that the write's statements do not grow with the number of routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDocument } from '../config/check.js';
import { emptyDocument, type ConfigDocument } from '../config/schema.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { ConfigStore } from './config-store.js';
import { createConfigStore } from './create-store.js';
import { manyRoutes as shapes } from './many-routes.js';
import { FOREIGN_KEYS, ForeignKeyViolation, SET_BASED_CHECK_ROWS, diffDocuments, loadDocument, writeDiff, type WriteOptions } from './entity-rows.js';
import { canonicalDocument } from './store-common.js';
import { PG_ENABLED, TEST_PLUGINS, createThrowawayDatabase } from './test-support.js';

const author = { author: 'tester', message: 'bulk' };

function manyRoutes(n: number, tag = ''): ConfigDocument {
  return shapes(n, { tag });
}

function checked(doc: ConfigDocument): ConfigDocument {
  const c = checkDocument(doc, TEST_PLUGINS);
  if (!c.ok) throw new Error(JSON.stringify(c.issues.slice(0, 3)));
  return canonicalDocument(c.document);
}

type PrismaOf = Parameters<typeof loadDocument>[0] & { $transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>, opts?: object): Promise<T> };

function prismaOf(store: ConfigStore): PrismaOf {
  return (store as unknown as { backend: { prisma: PrismaOf } }).backend.prisma;
}

/** Counts the statements (model calls and raw SQL) made through a transaction client. */
function counting(tx: Prisma.TransactionClient): { tx: Prisma.TransactionClient; calls: () => number } {
  let calls = 0;
  const count = <F extends (...a: unknown[]) => unknown>(fn: F, self: object) => (...args: unknown[]) => {
    calls++;
    return fn.apply(self, args);
  };
  const proxied = new Proxy(tx, {
    get(target, key) {
      const member = Reflect.get(target, key) as unknown;
      if (typeof member === 'function') return count(member as (...a: unknown[]) => unknown, target);
      if (member === null || typeof member !== 'object') return member;
      return new Proxy(member, {
        get(m, method) {
          const fn = Reflect.get(m, method) as unknown;
          return typeof fn === 'function' ? count(fn as (...a: unknown[]) => unknown, m) : fn;
        },
      });
    },
  });
  return { tx: proxied, calls: () => calls };
}

class Rollback extends Error {}

const targets = [
  { name: 'pglite', enabled: true, open: async () => ({ store: await createConfigStore({ plugins: TEST_PLUGINS }), drop: async () => {} }) },
  {
    name: 'postgres',
    enabled: PG_ENABLED,
    open: async () => {
      const db = await createThrowawayDatabase('apply');
      return { store: await createConfigStore({ plugins: TEST_PLUGINS, databaseUrl: db.url }), drop: () => db.drop() };
    },
  },
];

for (const target of targets) {
  describe.skipIf(!target.enabled)(`applying 10,000 routes on ${target.name}`, () => {
    let store: ConfigStore;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      ({ store, drop } = await target.open());
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    it('stores 10,000 routes, renames all of them in one apply, then changes one in place', async () => {
      const first = await store.replace(checked(manyRoutes(10_000)), author);
      expect(first.changed).toBe(true);
      let tables = await loadDocument(prismaOf(store));
      expect(tables.routes).toHaveLength(10_000);
      expect(tables).toEqual(checked(manyRoutes(10_000)));
      expect((await store.current()).document.routes).toHaveLength(10_000);

      // Every route renamed: 10,000 deletes and 10,000 inserts in one transaction.
      const renamed = await store.replace(checked(manyRoutes(10_000, 'b')), author);
      expect(renamed).toEqual({ version: first.version + 1, changed: true });
      tables = await loadDocument(prismaOf(store));
      expect(tables).toEqual(checked(manyRoutes(10_000, 'b')));

      const one = manyRoutes(10_000, 'b');
      (one.routes[7]!.paths as string[]).push('/also');
      one.routes[8]!.methods = ['DELETE'];
      expect(await store.replace(checked(one), author)).toEqual({ version: first.version + 2, changed: true });
      tables = await loadDocument(prismaOf(store));
      expect(tables).toEqual(checked(one));
      expect((await store.current()).document).toEqual(tables);
      expect(await store.replace(checked(one), author)).toEqual({ version: first.version + 2, changed: false });
    }, 300_000);

    it('writes new and changed routes in a number of statements that does not grow with the routes', async () => {
      const prisma = prismaOf(store);
      const base = await loadDocument(prisma);
      const statements = async (n: number): Promise<number> => {
        // n routes added, n of the stored ones changed in place, n removed.
        const kept = base.routes.slice(n).map((r, i) => (i < n ? { ...r, tags: ['changed'] } : r));
        const next = checked({ ...emptyDocument(), services: manyRoutes(0).services, routes: [...kept, ...manyRoutes(n, `n${n}`).routes] } as ConfigDocument);
        const diff = diffDocuments(base, next);
        expect([diff.routes.creates.length, diff.routes.updates.length, diff.routes.deletes.length]).toEqual([n, n, n]);
        let calls = 0;
        await prisma
          .$transaction(async (tx) => {
            const c = counting(tx);
            await writeDiff(c.tx, diff);
            calls = c.calls();
            throw new Rollback();
          }, { maxWait: 15_000, timeout: 120_000 })
          .catch((e: unknown) => {
            if (!(e instanceof Rollback)) throw e;
          });
        return calls;
      };
      const small = await statements(100);
      const large = await statements(3_000);
      // One INSERT, one UPDATE and one DELETE, whatever the number of rows.
      expect(small).toBe(3);
      expect(large).toBe(3);
      // Rolled back: the tables still hold what they held.
      expect(await loadDocument(prisma)).toEqual(base);
    }, 300_000);

    /** Writes `next` over the tables' document in a transaction that is always rolled back; what the write threw. */
    async function attempt(prelude: ConfigDocument | undefined, next: (base: ConfigDocument) => ConfigDocument, opts: WriteOptions, preludeOpts?: WriteOptions): Promise<unknown> {
      const prisma = prismaOf(store);
      const stored = await loadDocument(prisma);
      let thrown: unknown;
      await prisma
        .$transaction(async (tx) => {
          let base = stored;
          if (prelude) {
            await writeDiff(tx, diffDocuments(base, prelude), preludeOpts);
            base = prelude;
          }
          thrown = await writeDiff(tx, diffDocuments(base, next(base)), opts).then(
            () => undefined,
            (e: unknown) => e,
          );
          throw new Rollback();
        }, { maxWait: 15_000, timeout: 120_000 })
        .catch((e: unknown) => {
          if (!(e instanceof Rollback)) throw e;
        });
      expect(await loadDocument(prisma)).toEqual(stored);
      return thrown;
    }

    it('checks the foreign keys of a large insert set-based: a route naming no service fails the write', async () => {
      const n = SET_BASED_CHECK_ROWS + 10;
      const orphans = (base: ConfigDocument): ConfigDocument => {
        const routes = checked(manyRoutes(n, 'orphan')).routes.map((r, i) => (i === n - 1 ? { ...r, service: 'no-such-service' } : r));
        return { ...base, routes: [...base.routes, ...routes] };
      };
      const setBased = await attempt(undefined, orphans, { setBasedChecks: true });
      expect(setBased).toBeInstanceOf(ForeignKeyViolation);
      expect(setBased).toMatchObject({ fk: FOREIGN_KEYS.find((f) => f.table === 'routes' && f.column === 'service'), value: 'no-such-service' });
      // The row triggers refuse the same write.
      expect(String(await attempt(undefined, orphans, { setBasedChecks: false }))).toMatch(/foreign key|routes_service_fkey/i);
      // And a large insert whose references hold goes through either way.
      const fine = (base: ConfigDocument): ConfigDocument => ({ ...base, routes: [...base.routes, ...checked(manyRoutes(n, 'fine')).routes] });
      expect(await attempt(undefined, fine, { setBasedChecks: true })).toBeUndefined();
      // After a set-based statement the row triggers are back: a small insert naming no service still fails.
      const stored = await loadDocument(prismaOf(store));
      const oneOrphan = (base: ConfigDocument): ConfigDocument => ({ ...base, routes: [...base.routes, { ...checked(manyRoutes(1, 'lone')).routes[0]!, service: 'no-such-service' }] });
      expect(String(await attempt(fine(stored), oneOrphan, { setBasedChecks: true }, { setBasedChecks: true }))).toMatch(/foreign key|routes_service_fkey/i);
    }, 300_000);

    it('checks the foreign keys of a large delete set-based: a route a plugin names cannot go', async () => {
      const withPlugin = (base: ConfigDocument): ConfigDocument => ({
        ...base,
        plugins: [...base.plugins, { id: '00000000-0000-4000-8000-00000000a11c', name: 'header-stamp', route: base.routes[5]!.name, enabled: true, config: { header: 'x-a', value: 'on' }, tags: [] }],
      });
      const stored = await loadDocument(prismaOf(store));
      expect(stored.routes.length).toBeGreaterThan(SET_BASED_CHECK_ROWS + 10);
      const prelude = withPlugin(stored);
      const dropFirst = (base: ConfigDocument): ConfigDocument => ({ ...base, routes: base.routes.slice(SET_BASED_CHECK_ROWS + 10) });
      const setBased = await attempt(prelude, dropFirst, { setBasedChecks: true });
      expect(setBased).toBeInstanceOf(ForeignKeyViolation);
      expect(setBased).toMatchObject({ fk: FOREIGN_KEYS.find((f) => f.table === 'plugin_instances' && f.column === 'route'), value: stored.routes[5]!.name });
      expect(String(await attempt(prelude, dropFirst, { setBasedChecks: false }))).toMatch(/foreign key|plugin_instances_route_fkey/i);
      // Without the plugin the same delete goes through.
      expect(await attempt(undefined, dropFirst, { setBasedChecks: true })).toBeUndefined();
    }, 300_000);
  });
}

describe.skipIf(!PG_ENABLED)('a PostgreSQL role without superuser rights', () => {
  it('keeps the row triggers (it may not switch them off) and still writes 10,000 routes', async () => {
    const db = await createThrowawayDatabase('plainrole', { ownRole: true });
    const store = await createConfigStore({ plugins: TEST_PLUGINS, databaseUrl: db.url });
    try {
      expect(await store.replace(checked(manyRoutes(10_000)), author)).toMatchObject({ changed: true });
      expect(await store.replace(checked(manyRoutes(10_000, 'b')), author)).toMatchObject({ changed: true });
      expect(await loadDocument(prismaOf(store))).toEqual(checked(manyRoutes(10_000, 'b')));
    } finally {
      await store.close();
      await db.drop();
    }
  }, 300_000);
});
