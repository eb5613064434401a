/**
 * The DB-less store: the configuration comes from one YAML or JSON file, is validated like any write,
 * and cannot be changed through the admin API. `reload()` (the lead wires it to SIGHUP) re-reads the
 * file; admin users live in memory so the env-provided first admin can still log in.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseDocument } from 'yaml';
import { checkDocument } from '../config/check.js';
import { resolveSecretRefs } from '../config/secret-refs.js';
import type { ConfigDocument, CredentialConfig, EntityKind } from '../config/schema.js';
import type { PluginDefinition } from '../plugins/types.js';
import {
  StoreConflictError,
  StoreNotFoundError,
  StoreReadOnlyError,
  StoreValidationError,
  type AdminUserRecord,
  type ConfigStore,
  type CredentialStore,
  type Entity,
  type ListQuery,
  type Page,
  type VersionInfo,
} from './config-store.js';
import { MemoryAuditStore, type AuditStore } from './audit-store.js';
import { SILENT_LOGGER, canonicalDocument, clampPage, deterministicPluginId, entitiesOf, entityKey, listEntities, stableStringify, type StoreLogger } from './store-common.js';

export interface FileConfigStoreOptions {
  path: string;
  plugins: ReadonlyMap<string, PluginDefinition>;
  logger?: StoreLogger;
}

/** Parses YAML (JSON is a subset) and validates; syntax errors carry line and column. */
export async function loadConfigFile(path: string, plugins: ReadonlyMap<string, PluginDefinition>): Promise<ConfigDocument> {
  const text = await readFile(path, 'utf8');
  const parsed = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (parsed.errors.length) {
    throw new StoreValidationError(
      parsed.errors.map(function syntaxIssue(e) {
        const pos = e.linePos?.[0];
        const where = pos ? `line ${pos.line}, column ${pos.col}` : 'unknown position';
        return { path: '/', message: `${path}: ${where}: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  // `{env://…}` / `{file://…}` values (config/secret-refs.ts), so the file itself can be committed without secrets.
  const refs = await resolveSecretRefs(parsed.toJS() ?? {}, { env: process.env, baseDir: dirname(path) });
  if (!refs.ok) throw new StoreValidationError(refs.issues);
  const checked = checkDocument(refs.value, plugins);
  if (!checked.ok) throw new StoreValidationError(checked.issues);
  const doc = checked.document;
  doc.plugins = doc.plugins.map((p) => (p.id ? p : { ...p, id: deterministicPluginId(p) }));
  return canonicalDocument(doc);
}

export class FileConfigStore implements ConfigStore {
  readonly kind = 'file' as const;
  readonly readOnly = true;
  private readonly path: string;
  private readonly plugins: ReadonlyMap<string, PluginDefinition>;
  private readonly logger: StoreLogger;
  private document: ConfigDocument | undefined;
  private currentVersion = 0;
  private loadedAt = new Date();
  private readonly listeners = new Set<(version: number) => void>();
  private readonly users = new Map<string, AdminUserRecord>();

  constructor(opts: FileConfigStoreOptions) {
    this.path = opts.path;
    this.plugins = opts.plugins;
    this.logger = opts.logger ?? SILENT_LOGGER;
  }

  async init(): Promise<void> {
    this.document = await loadConfigFile(this.path, this.plugins);
    this.currentVersion = 1;
    this.loadedAt = new Date();
  }

  /**
   * Re-reads the file. An invalid file is rejected and the previous configuration stays; a changed one
   * becomes the next version and listeners are told.
   */
  async reload(): Promise<{ version: number; changed: boolean }> {
    const next = await loadConfigFile(this.path, this.plugins);
    if (this.document && stableStringify(next) === stableStringify(this.document)) return { version: this.currentVersion, changed: false };
    this.document = next;
    this.currentVersion += 1;
    this.loadedAt = new Date();
    this.logger.info({ path: this.path, version: this.currentVersion }, 'reloaded declarative configuration');
    for (const listener of [...this.listeners]) {
      try {
        listener(this.currentVersion);
      } catch (e) {
        this.logger.error({ err: (e as Error).message }, 'config store: change listener threw');
      }
    }
    return { version: this.currentVersion, changed: true };
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private doc(): ConfigDocument {
    if (!this.document) throw new Error('FileConfigStore used before init()');
    return this.document;
  }

  /** Credentials come from the file (hashed/encrypted); the admin API can read but not change them. */
  readonly audit: AuditStore = new MemoryAuditStore();

  readonly credentials: CredentialStore = {
    list: async (consumer: string): Promise<CredentialConfig[]> => {
      const doc = this.doc();
      if (!doc.consumers.some((c) => c.username === consumer)) throw new StoreNotFoundError('consumers', consumer);
      return structuredClone((doc.credentials ?? []).filter((c) => c.consumer === consumer));
    },
    get: async (consumer: string, id: string): Promise<CredentialConfig> => {
      const found = (await this.credentials.list(consumer)).find((c) => c.id === id);
      if (!found) throw new StoreNotFoundError('credentials' as EntityKind, id);
      return found;
    },
    create: () => Promise.reject(new StoreReadOnlyError()),
    update: () => Promise.reject(new StoreReadOnlyError()),
    remove: () => Promise.reject(new StoreReadOnlyError()),
  };

  async current(): Promise<{ document: ConfigDocument; version: number }> {
    return { document: structuredClone(this.doc()), version: this.currentVersion };
  }

  async replace(): Promise<{ version: number; changed: boolean }> {
    throw new StoreReadOnlyError();
  }
  async create(): Promise<{ entity: Entity; version: number }> {
    throw new StoreReadOnlyError();
  }
  async update(): Promise<{ entity: Entity; version: number }> {
    throw new StoreReadOnlyError();
  }
  async remove(): Promise<{ version: number }> {
    throw new StoreReadOnlyError();
  }

  async list(kind: EntityKind, query: ListQuery): Promise<Page<Entity>> {
    return listEntities(kind, entitiesOf(structuredClone(this.doc()), kind), query);
  }

  async get(kind: EntityKind, key: string): Promise<Entity> {
    const found = entitiesOf(this.doc(), kind).find((e) => entityKey(kind, e) === key);
    if (!found) throw new StoreNotFoundError(kind, key);
    return structuredClone(found);
  }

  private info(): VersionInfo {
    return { version: this.currentVersion, created_at: this.loadedAt.toISOString(), author: 'file', message: this.path };
  }

  async versions(query: { offset?: number; limit?: number }): Promise<Page<VersionInfo>> {
    const { offset, limit } = clampPage(query);
    return { data: offset === 0 ? [this.info()] : [], total: 1, offset, limit };
  }

  async version(n: number): Promise<{ info: VersionInfo; document: ConfigDocument }> {
    if (n !== this.currentVersion) throw new StoreNotFoundError('versions' as EntityKind, String(n));
    return { info: this.info(), document: structuredClone(this.doc()) };
  }

  onChange(listener: (version: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private readonly settings = new Map<string, string>();

  async setting(key: string, create: () => string): Promise<string> {
    let value = this.settings.get(key);
    if (value === undefined) this.settings.set(key, (value = create()));
    return value;
  }

  readonly adminUsers = {
    count: async (): Promise<number> => this.users.size,
    list: async (): Promise<AdminUserRecord[]> => [...this.users.values()],
    find: async (username: string): Promise<AdminUserRecord | undefined> => this.users.get(username),
    create: async (user: { username: string; password_hash: string; role: AdminUserRecord['role'] }): Promise<AdminUserRecord> => {
      if (this.users.has(user.username)) throw new StoreConflictError(`admin user '${user.username}' already exists`);
      const record: AdminUserRecord = { id: randomUUID(), ...user, created_at: new Date().toISOString() };
      this.users.set(user.username, record);
      return record;
    },
  };
}
