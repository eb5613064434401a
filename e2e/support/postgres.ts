/**
 * PostgreSQL for e2e tests: a throwaway database on the shared test server (GATEHOUSE_TEST_DATABASE_URL,
 * started by .ci/run), or a private server instance this test owns and may stop and restart (store-loss tests).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort } from './ports.js';

export const TEST_DATABASE_URL = process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgresql://gatehouse:gatehouse@127.0.0.1:5432/gatehouse';

export interface Database {
  url: string;
  drop(): Promise<void>;
}

export async function createDatabase(serverUrl = TEST_DATABASE_URL): Promise<Database> {
  const name = `gh_e2e_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

function pgBin(name: string): string {
  for (const v of ['17', '16', '15']) {
    const p = `/usr/lib/postgresql/${v}/bin/${name}`;
    if (existsSync(p)) return p;
  }
  throw new Error(`${name} not found under /usr/lib/postgresql`);
}

/** Runs a PostgreSQL binary as the `postgres` user when we are root (initdb and postgres refuse root). */
function asPostgres(bin: string, args: string[]): string {
  const argv = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(argv[0] as string, argv[1] as string[], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface PostgresInstance {
  url: string;
  port: number;
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
  destroy(): void;
}

export async function startPostgresInstance(): Promise<PostgresInstance> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-pg-'));
  const data = path.join(dir, 'data');
  chmodSync(dir, 0o777);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  asPostgres(pgBin('initdb'), ['-D', data, '-A', 'trust', '-U', 'gatehouse', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const pgCtl = pgBin('pg_ctl');
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const inst: PostgresInstance = {
    url: `postgresql://gatehouse@127.0.0.1:${port}/postgres`,
    port,
    start() {
      asPostgres(pgCtl, ['-D', data, '-l', path.join(dir, 'log'), '-o', opts, '-w', '-t', '30', 'start']);
    },
    stop(mode = 'fast') {
      asPostgres(pgCtl, ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
    },
    destroy() {
      try {
        inst.stop('immediate');
      } catch {
        /* already stopped */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  inst.start();
  return inst;
}
