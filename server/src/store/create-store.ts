/**
 * Chooses and initialises the config store from the environment's choices: a declarative file
 * (DB-less, read-only), PostgreSQL (`DATABASE_URL`), or embedded PGlite in a data folder (in memory
 * when no folder is given, as tests do).
 */
import type { PluginDefinition } from '../plugins/types.js';
import { pgliteBackend, postgresBackend } from './backends.js';
import type { ConfigStore } from './config-store.js';
import { FileConfigStore } from './file-config-store.js';
import { defaultMigrationsDir } from './migrate.js';
import { PrismaConfigStore } from './prisma-config-store.js';
import { SILENT_LOGGER, type StoreLogger } from './store-common.js';

export interface CreateConfigStoreOptions {
  databaseUrl?: string;
  dataDir?: string;
  configFile?: string;
  plugins: ReadonlyMap<string, PluginDefinition>;
  logger?: StoreLogger;
  /** Defaults to prisma/migrations of this checkout or install. */
  migrationsDir?: string;
  /** PostgreSQL only: safety-net poll of the committed version (default 5 s). */
  pollIntervalMs?: number;
}

export async function createConfigStore(opts: CreateConfigStoreOptions): Promise<ConfigStore> {
  const logger = opts.logger ?? SILENT_LOGGER;
  let store: ConfigStore;
  if (opts.configFile) {
    store = new FileConfigStore({ path: opts.configFile, plugins: opts.plugins, logger });
  } else {
    const backend = opts.databaseUrl ? postgresBackend(opts.databaseUrl, logger) : await pgliteBackend(opts.dataDir);
    store = new PrismaConfigStore({
      backend,
      plugins: opts.plugins,
      migrationsDir: opts.migrationsDir ?? defaultMigrationsDir(),
      logger,
      ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
    });
  }
  try {
    await store.init();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}
