/**
 * The two database backends behind PrismaConfigStore: embedded PGlite (default, a data folder or memory)
 * and PostgreSQL (`DATABASE_URL`). Each gives a Prisma client on a driver adapter, a single session for
 * the migration runner, and, for PostgreSQL, the LISTEN/NOTIFY change feed.
 */
import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';
import type { MigrationSession } from './migrate.js';
import type { StoreLogger } from './store-common.js';

export const NOTIFY_CHANNEL = 'gatehouse_config';

export interface StoreBackend {
  readonly kind: 'pglite' | 'postgres';
  readonly prisma: PrismaClient;
  /** Runs `fn` on one dedicated session (advisory locks and BEGIN/COMMIT must share a connection). */
  withSession<T>(fn: (s: MigrationSession) => Promise<T>): Promise<T>;
  /**
   * Starts delivering versions committed by other nodes (PGlite has none); resolves once the first
   * LISTEN attempt has succeeded or failed, so a node does not miss changes made right after it starts.
   */
  listen(onVersion: (version: number) => void): Promise<void>;
  close(): Promise<void>;
}

// Creating a PGlite cluster runs initdb inside WebAssembly (seconds); in-memory stores (tests) start
// from a dump of one blank cluster made once per process instead.
let blankCluster: Promise<Blob> | undefined;

async function blankClusterDump(): Promise<Blob> {
  blankCluster ??= (async function makeBlankCluster() {
    const db = new PGlite();
    try {
      await db.waitReady;
      return await db.dumpDataDir('none');
    } finally {
      await db.close();
    }
  })();
  return blankCluster;
}

/**
 * The store's large json and jsonb parameters (a 10,000-route insert is 1.5 MB of rows, a version's
 * document 2–3 MB) travel as UTF-8 bytes in PostgreSQL's binary format rather than as strings: PGlite
 * measures a string parameter's UTF-8 length with a JavaScript loop, twice, before copying it (about
 * 100 ms of an apply that renames 10,000 routes), and copies bytes as they are. node-postgres sends a
 * byte array in the binary format as well. The binary form of `json` is its text; that of `jsonb` is a
 * version byte (1) followed by the text.
 */
export function jsonParam(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/** `value` as a jsonb parameter. */
export function jsonbParam(value: unknown): Uint8Array {
  const text = JSON.stringify(value);
  const n = Buffer.byteLength(text, 'utf8');
  const bytes = Buffer.allocUnsafe(n + 1);
  bytes[0] = 1;
  bytes.write(text, 1, n, 'utf8');
  return bytes;
}

// PGlite serialises every parameter by its type before it writes the message, and its json serialiser
// would turn bytes into a JSON object of indices; these pass bytes through, which PGlite then sends binary.
const keepBytes = (serialize: (x: unknown) => string) => (x: unknown) => (x instanceof Uint8Array ? x : serialize(x)) as string;
const PGLITE_SERIALIZERS = {
  [types.JSON]: keepBytes(types.serializers[types.JSON]!),
  [types.JSONB]: keepBytes(types.serializers[types.JSONB]!),
};

export async function pgliteBackend(dataDir: string | undefined): Promise<StoreBackend> {
  let db: PGlite;
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    db = new PGlite(dataDir, { serializers: PGLITE_SERIALIZERS });
  } else {
    db = new PGlite({ loadDataDir: await blankClusterDump(), serializers: PGLITE_SERIALIZERS });
  }
  await db.waitReady;
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  return {
    kind: 'pglite',
    prisma,
    async withSession(fn) {
      return fn({
        async query(sql, params) {
          const r = await db.query(sql, params ?? []);
          return r.rows as never[];
        },
        async exec(sql) {
          await db.exec(sql);
        },
      });
    },
    async listen() {},
    async close() {
      await prisma.$disconnect();
      await db.close();
    },
  };
}

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

export function postgresBackend(databaseUrl: string, logger: StoreLogger): StoreBackend {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 5_000 });
  // An idle client dying (server restart) must not crash the process; the pool replaces it on next use.
  pool.on('error', function onPoolError(err) {
    logger.warn({ err: err.message }, 'config store: idle database connection failed');
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  let closed = false;
  let listener: pg.Client | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let backoff = RECONNECT_MIN_MS;

  function connectListener(onVersion: (version: number) => void, attempted?: () => void): void {
    if (closed) return attempted?.();
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
    listener = client;
    let failed = false;
    function onLost(err?: Error): void {
      if (failed || closed) return;
      failed = true;
      logger.warn({ err: err?.message, retryInMs: backoff }, 'config store: change listener disconnected, reconnecting');
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      reconnectTimer = setTimeout(connectListener, backoff, onVersion);
      reconnectTimer.unref();
      backoff = Math.min(backoff * 2, RECONNECT_MAX_MS);
    }
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', function onNotification(msg) {
      const version = Number(msg.payload);
      if (msg.channel === NOTIFY_CHANNEL && Number.isInteger(version)) onVersion(version);
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${NOTIFY_CHANNEL}`))
      .then(() => {
        backoff = RECONNECT_MIN_MS;
      })
      .catch(onLost)
      .finally(() => attempted?.());
  }

  return {
    kind: 'postgres',
    prisma,
    async withSession(fn) {
      const client = await pool.connect();
      try {
        return await fn({
          async query(sql, params) {
            const r = await client.query(sql, params);
            return r.rows as never[];
          },
          async exec(sql) {
            await client.query(sql);
          },
        });
      } finally {
        client.release();
      }
    },
    listen(onVersion) {
      return new Promise<void>((resolve) => connectListener(onVersion, resolve));
    },
    async close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await listener?.end().catch(() => undefined);
      await prisma.$disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}
