// Several gateway nodes on one PostgreSQL database: migrations at start, write serialisation,
// change notification (LISTEN/NOTIFY, reconnect, poll) and recovery after the database was unreachable.
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigStore } from './config-store.js';
import { createConfigStore, type CreateConfigStoreOptions } from './create-store.js';
import { MigrationChecksumError, defaultMigrationsDir, readMigrations } from './migrate.js';
import type { StoreLogger } from './store-common.js';
import { PG_ENABLED, PG_ADMIN_URL, TEST_PLUGINS, createThrowawayDatabase } from './test-support.js';

const author = { author: 'cluster-test' };

function recordingLogger(): StoreLogger & { messages: string[] } {
  const messages: string[] = [];
  return { messages, info: (_o, m) => messages.push(`info ${m}`), warn: (_o, m) => messages.push(`warn ${m}`), error: (_o, m) => messages.push(`error ${m}`) };
}

function waitFor<T>(what: string, ms: number, arm: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    arm((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

describe.skipIf(!PG_ENABLED)('config store cluster on PostgreSQL', () => {
  let db: { url: string; drop(): Promise<void> };
  const opened: ConfigStore[] = [];
  let a: ConfigStore;
  let b: ConfigStore;
  const logA = recordingLogger();
  const logB = recordingLogger();

  async function open(extra: Partial<CreateConfigStoreOptions> = {}): Promise<ConfigStore> {
    const s = await createConfigStore({ plugins: TEST_PLUGINS, databaseUrl: db.url, ...extra });
    opened.push(s);
    return s;
  }

  beforeAll(async () => {
    db = await createThrowawayDatabase('cluster');
    // Two nodes starting together on an empty database.
    [a, b] = await Promise.all([open({ logger: logA }), open({ logger: logB })]);
  });
  afterAll(async () => {
    for (const s of opened) await s.close().catch(() => undefined);
    await db?.drop();
  });

  it('applies each migration exactly once when nodes start together', async () => {
    const names = readMigrations(defaultMigrationsDir()).map((m) => m.name);
    const applied = [...logA.messages, ...logB.messages].filter((m) => m === 'info applied migration');
    expect(applied).toHaveLength(names.length);
    const rows = await sql(db.url, 'SELECT name FROM _gatehouse_migrations ORDER BY name');
    expect(rows.rows.map((r: { name: string }) => r.name)).toEqual(names);
    const again = recordingLogger();
    await open({ logger: again });
    expect(again.messages.filter((m) => m.includes('applied migration'))).toEqual([]);
  });

  it('serialises concurrent writes from two nodes: versions strictly increase, nothing is lost', async () => {
    const start = (await a.current()).version;
    const writes = Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).create('services', { name: `svc-${i}`, host: `h${i}` }, author));
    const results = await Promise.all(writes);
    const versions = results.map((r) => r.version).sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: 16 }, (_, i) => start + 1 + i));
    const { document, version } = await b.current();
    expect(version).toBe(start + 16);
    expect(document.services.map((s) => s.name).sort()).toEqual(Array.from({ length: 16 }, (_, i) => `svc-${i}`).sort());
    const history = await a.versions({ limit: 16 });
    expect(history.data.map((v) => v.version)).toEqual([...versions].reverse());
  });

  it('notifies the other node within a second (LISTEN/NOTIFY)', async () => {
    const got = waitFor<number>('B to hear of A’s write', 1000, (resolve) => {
      const off = b.onChange((v) => {
        off();
        resolve(v);
      });
    });
    const r = await a.create('consumers', { username: 'notify-me' }, author);
    expect(await got).toBe(r.version);
  });

  it('re-establishes the listener after its connection is killed', async () => {
    const c = await open({ pollIntervalMs: 3_600_000 });
    const killed = await sql(
      PG_ADMIN_URL,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
      [new URL(db.url).pathname.slice(1)],
    );
    expect(killed.rowCount).toBeGreaterThanOrEqual(1);
    // First retry comes after 250 ms; give it time to reconnect and LISTEN again.
    await new Promise((r) => setTimeout(r, 1500));
    const got = waitFor<number>('the reconnected listener', 1000, (resolve) => {
      const off = c.onChange((v) => {
        off();
        resolve(v);
      });
    });
    const r = await a.create('consumers', { username: 'after-reconnect' }, author);
    expect(await got).toBe(r.version);
  });

  it('polls the committed version as a safety net for missed notifications', async () => {
    const d = await open({ pollIntervalMs: 200 });
    const { version } = await d.current();
    const got = waitFor<number>('the poll', 2000, (resolve) => {
      const off = d.onChange((v) => {
        off();
        resolve(v);
      });
    });
    // A commit without NOTIFY, as if the notification had been lost.
    await sql(db.url, `INSERT INTO config_versions (version, author, message, document) SELECT $1::int, 'raw', '', document FROM config_versions WHERE version = $2::int`, [
      version + 1,
      version,
    ]);
    await sql(db.url, 'UPDATE config_state SET version = $1 WHERE id = 1', [version + 1]);
    expect(await got).toBe(version + 1);
  });

  it('rejects reads while the database is unreachable and recovers afterwards', async () => {
    const name = new URL(db.url).pathname.slice(1);
    await sql(PG_ADMIN_URL, `ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    try {
      await sql(PG_ADMIN_URL, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      await expect(a.current()).rejects.toThrow();
    } finally {
      await sql(PG_ADMIN_URL, `ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    let recovered: number | undefined;
    for (let i = 0; i < 20 && recovered === undefined; i++) {
      recovered = await a.current().then(
        (c) => c.version,
        () => undefined,
      );
      if (recovered === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(recovered).toBeGreaterThan(0);
    const w = await a.create('consumers', { username: 'after-outage' }, author);
    expect(w.version).toBe((recovered ?? 0) + 1);
  });
});

describe.skipIf(!PG_ENABLED)('migration checksums', () => {
  it('refuses to start when an applied migration was edited', async () => {
    const db = await createThrowawayDatabase('checksum');
    const dir = mkdtempSync(join(tmpdir(), 'gh-migrations-'));
    try {
      cpSync(defaultMigrationsDir(), dir, { recursive: true });
      const first = await createConfigStore({ plugins: TEST_PLUGINS, databaseUrl: db.url, migrationsDir: dir });
      await first.close();
      const [m] = readMigrations(dir);
      appendFileSync(join(dir, m!.name, 'migration.sql'), '\n-- edited afterwards\n');
      await expect(createConfigStore({ plugins: TEST_PLUGINS, databaseUrl: db.url, migrationsDir: dir })).rejects.toBeInstanceOf(MigrationChecksumError);
      // A new migration, by contrast, is applied.
      cpSync(defaultMigrationsDir(), dir, { recursive: true });
      mkdirSync(join(dir, '99990101000000_extra'));
      writeFileSync(join(dir, '99990101000000_extra', 'migration.sql'), 'CREATE TABLE "extra_probe" ("id" INTEGER PRIMARY KEY);');
      const again = await createConfigStore({ plugins: TEST_PLUGINS, databaseUrl: db.url, migrationsDir: dir });
      await again.close();
      const rows = await sql(db.url, "SELECT to_regclass('extra_probe') AS t");
      expect(rows.rows[0].t).toBe('extra_probe');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
