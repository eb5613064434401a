// The SQL migrations must build exactly the schema in prisma/schema.prisma; Prisma 6.19's WebAssembly
// schema engine compares them offline (prisma/migration-sql.mjs), with exit 2 on any difference.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultMigrationsDir, readMigrations } from './migrate.js';

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
