// The SQL migrations must build exactly the schema in prisma/schema.prisma; Prisma 6.19's WebAssembly
// schema engine compares them offline (prisma/migration-sql.mjs), with exit 2 on any difference.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteBackend } from './backends.js';
import { FOREIGN_KEYS } from './entity-rows.js';
import { applyMigrations, defaultMigrationsDir, readMigrations } from './migrate.js';
import { SILENT_LOGGER } from './store-common.js';

const script = resolve(defaultMigrationsDir(), '..', 'migration-sql.mjs');

function check(dir?: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [script, 'check', ...(dir ? [dir] : [])], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('migrations and schema.prisma', () => {
  it('agree', () => {
    const r = check();
    expect(r.output).toContain('No difference detected');
    expect(r.status).toBe(0);
  }, 120_000);

  it('disagree when a migration misses part of the schema', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-migrations-'));
    try {
      cpSync(defaultMigrationsDir(), dir, { recursive: true });
      const [first] = readMigrations(dir);
      const file = join(dir, first!.name, 'migration.sql');
      const sql = readFileSync(file, 'utf8');
      const edited = sql.replace(/CREATE UNIQUE INDEX "admin_users_username_key"[^;]*;/, '');
      expect(edited).not.toBe(sql);
      writeFileSync(file, edited);
      const r = check(dir);
      expect(r.status).toBe(2);
      expect(r.output).toContain('admin_users');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('migrated schema', () => {
  let backend: Awaited<ReturnType<typeof pgliteBackend>>;
  beforeAll(async () => {
    backend = await pgliteBackend(undefined);
    await backend.withSession((s) => applyMigrations(s, readMigrations(defaultMigrationsDir()), SILENT_LOGGER));
  }, 60_000);
  afterAll(async () => {
    await backend?.close();
  });
  const query = <T extends Record<string, unknown>>(sql: string): Promise<T[]> => backend.withSession((s) => s.query<T>(sql));

  // PostgreSQL checks a foreign key on every delete or key change of the referenced row with a query on the
  // referencing columns; without an index that leads with them, each check scans the whole table (10,000
  // routes deleted with 5,000 route plugins took 14 s before plugin_instances had its scope indexes).
  it('indexes the referencing columns of every foreign key', async () => {
    const rows = await query<{ constraint: string; columns: number }>(`
      SELECT c.conname AS constraint, array_length(c.conkey, 1) AS columns FROM pg_constraint c
      WHERE c.contype = 'f' AND NOT EXISTS (
        SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
          AND (string_to_array(i.indkey::text, ' ')::int2[])[1:array_length(c.conkey, 1)] = c.conkey)
      ORDER BY c.conname`);
    const all = await query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f'`);
    expect(all[0]!.n).toBeGreaterThanOrEqual(6);
    expect(rows.map((r) => r.constraint)).toEqual([]);
  });

  // The set-based checks of large writes (entity-rows.ts) know the foreign keys from FOREIGN_KEYS.
  it('has exactly the foreign keys entity-rows.ts lists, with their delete actions', async () => {
    const rows = await query<{ table: string; column: string; references: string; key: string; action: string }>(`
      SELECT t.relname AS table, a.attname AS column, r.relname AS references, ra.attname AS key, c.confdeltype AS action
      FROM pg_constraint c
      JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
      JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
      WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1`);
    const multi = await query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND array_length(conkey, 1) > 1`);
    expect(multi[0]!.n).toBe(0);
    const actions: Record<string, string> = { r: 'restrict', a: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };
    const found = rows.map((r) => ({ table: r.table, column: r.column, references: r.references, key: r.key, onDelete: actions[r.action] }));
    const order = (l: readonly { table: string; column: string }[]) => [...l].sort((x, y) => `${x.table}.${x.column}`.localeCompare(`${y.table}.${y.column}`));
    expect(order(found)).toEqual(order(FOREIGN_KEYS));
  });

  // Large writes switch row triggers off for one statement (session_replication_role): a trigger of our own
  // on these tables would silently not fire for them. Only the foreign keys' internal triggers may exist.
  it("has no triggers besides the foreign keys' own", async () => {
    const rows = await query<{ name: string }>(`SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal`);
    expect(rows.map((r) => r.name)).toEqual([]);
  });
});
