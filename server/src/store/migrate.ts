/**
 * Applies the SQL migrations in prisma/migrations (Prisma's folder layout) at start-up, for PGlite and
 * PostgreSQL alike, so a node never needs the Prisma CLI or its schema engine in production.
 *
 * An advisory lock serialises nodes starting together; each migration runs in its own transaction and
 * is recorded in `_gatehouse_migrations` with a checksum, and a changed checksum stops the start.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreLogger } from './store-common.js';

/** The few operations the runner needs, on ONE session (the advisory lock and transactions are per session). */
export interface MigrationSession {
  query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements (simple-query protocol). */
  exec(sql: string): Promise<void>;
}

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

// An arbitrary constant shared by every Gatehouse node ("gatehouse" in ASCII, truncated to fit a bigint).
const MIGRATION_LOCK_KEY = '7449371627802470245';

export class MigrationChecksumError extends Error {
  constructor(readonly migration: string) {
    super(
      `migration '${migration}' was changed after it had been applied to this database; ` +
        'applied migrations must never be edited: restore the original file and add a new migration instead',
    );
    this.name = 'MigrationChecksumError';
  }
}

/** prisma/migrations resolved from this file, which sits two levels below server/ in src/ and in dist/. */
export function defaultMigrationsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'prisma', 'migrations');
}

export function readMigrations(dir: string): Migration[] {
  if (!existsSync(dir)) throw new Error(`migrations folder not found: ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map(function loadMigration(name) {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/** Applies pending migrations; returns the names it applied. */
export async function applyMigrations(session: MigrationSession, migrations: Migration[], logger: StoreLogger): Promise<string[]> {
  await session.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
  try {
    await session.exec(
      'CREATE TABLE IF NOT EXISTS "_gatehouse_migrations" (' +
        '"name" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "applied_at" TIMESTAMPTZ NOT NULL DEFAULT now())',
    );
    const rows = await session.query<{ name: string; checksum: string }>('SELECT "name", "checksum" FROM "_gatehouse_migrations"');
    const applied = new Map(rows.map((r) => [r.name, r.checksum]));
    const known = new Set(migrations.map((m) => m.name));
    for (const name of applied.keys()) {
      if (!known.has(name)) logger.warn({ migration: name }, 'the database has a migration this build does not know (a newer node applied it?)');
    }
    const done: string[] = [];
    for (const m of migrations) {
      const checksum = applied.get(m.name);
      if (checksum !== undefined) {
        if (checksum !== m.checksum) throw new MigrationChecksumError(m.name);
        continue;
      }
      await session.exec('BEGIN');
      try {
        await session.exec(m.sql);
        await session.query('INSERT INTO "_gatehouse_migrations" ("name", "checksum") VALUES ($1, $2)', [m.name, m.checksum]);
        await session.exec('COMMIT');
      } catch (e) {
        await session.exec('ROLLBACK').catch(() => undefined);
        throw new Error(`migration '${m.name}' failed: ${(e as Error).message}`, { cause: e });
      }
      logger.info({ migration: m.name }, 'applied migration');
      done.push(m.name);
    }
    return done;
  } finally {
    await session.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`).catch(() => undefined);
  }
}
