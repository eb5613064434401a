/**
 * The database-backed config store (PGlite or PostgreSQL through Prisma). Every write is one
 * transaction that locks the `config_state` row, starts from the head document (this node's own last
 * write when it is still the head, else rebuilt from the entity tables), applies the change, checks the
 * whole result with `checkDocument`, writes only the entities that changed (entity-rows.ts), records a
 * version and notifies the other nodes.
 */
import { randomUUID } from 'node:crypto';
import { checkDocument } from '../config/check.js';
import { withJson } from '../config/document-json.js';
import { ConfigDocumentSchema, ENTITY_KINDS, emptyDocument, pluginInstanceKey, type CertificateConfig, type ConfigDocument, type CredentialConfig, type EntityKind, type PluginInstanceConfig } from '../config/schema.js';
import { hasPassed, markValidated, type ValidationIssue } from '../config/validate.js';
import type { PluginDefinition } from '../plugins/types.js';
import {
  StoreConflictError,
  StoreNotFoundError,
  StoreValidationError,
  type AdminUserRecord,
  type CertificateStore,
  type ConfigStore,
  type CredentialStore,
  type Entity,
  type ListQuery,
  type Page,
  type VersionInfo,
  type WriteMeta,
  type WritingListener,
  rethrowStoreError,
} from './config-store.js';
import { NOTIFY_CHANNEL, jsonParam, type StoreBackend } from './backends.js';
import { diffDocuments, isEmptyDiff, loadDocument, renameInPlace, writeDiff, type KindDiff, type WriteOptions } from './entity-rows.js';
import { applyMigrations, readMigrations } from './migrate.js';
import { PrismaAuditStore, type AuditStore } from './audit-store.js';
import {
  SILENT_LOGGER,
  canonicalDocument,
  clampPage,
  copyLists,
  deepFreeze,
  entitiesOf,
  entityKey,
  listEntities,
  orderDocumentKeys,
  referrersOf,
  renameReferences,
  repoint,
  rewriteIssuePaths,
  storedDocument,
  type StoreLogger,
} from './store-common.js';

/** Versions kept in config_versions; older ones are pruned on write. */
export const KEPT_VERSIONS = 200;
const DEFAULT_POLL_INTERVAL_MS = 5_000;
const TX_OPTIONS = { maxWait: 15_000, timeout: 30_000 } as const;
const INSERT_VERSION = 'INSERT INTO "config_versions" ("version", "author", "message", "document") VALUES ($1, $2, $3, $4::json)';

export interface PrismaConfigStoreOptions {
  backend: StoreBackend;
  plugins: ReadonlyMap<string, PluginDefinition>;
  migrationsDir: string;
  logger?: StoreLogger;
  /** How often PostgreSQL nodes compare versions in case a notification was missed (default 5 s). */
  pollIntervalMs?: number;
}

/** What a mutation returns: the new document, and the entity to re-root issue paths at (single-entity writes). */
interface Mutation {
  document: ConfigDocument;
  focus?: { kind: EntityKind; key: string };
  rename?: { kind: 'services' | 'routes' | 'upstreams' | 'consumers'; from: string; to: string };
}

export class PrismaConfigStore implements ConfigStore {
  readonly readOnly = false;
  readonly kind: 'pglite' | 'postgres';
  private readonly backend: StoreBackend;
  private readonly plugins: ReadonlyMap<string, PluginDefinition>;
  private readonly migrationsDir: string;
  private readonly logger: StoreLogger;
  private readonly listeners = new Set<(version: number) => void>();
  private lastEmitted = -1;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private readonly pollIntervalMs: number;
  /** Set at init: large statements check their foreign keys set-based when the session may (WriteOptions). */
  private writeOptions: WriteOptions = { setBasedChecks: false };

  constructor(opts: PrismaConfigStoreOptions) {
    this.backend = opts.backend;
    this.kind = opts.backend.kind;
    this.plugins = opts.plugins;
    this.migrationsDir = opts.migrationsDir;
    this.logger = opts.logger ?? SILENT_LOGGER;
    this.pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.audit = new PrismaAuditStore(this.backend.prisma);
  }

  readonly audit: AuditStore;

  async init(): Promise<void> {
    const migrations = readMigrations(this.migrationsDir);
    await this.backend.withSession((s) => applyMigrations(s, migrations, this.logger));
    this.lastEmitted = await this.stateVersion();
    // Switching row triggers off takes a superuser's session. (PostgreSQL 15 can also grant the setting to a
    // role; such a role is not detected here and keeps the triggers.)
    const su = await this.backend.prisma.$queryRaw<{ su: boolean }[]>`SELECT current_setting('is_superuser') = 'on' AS su`;
    this.writeOptions = { setBasedChecks: su[0]?.su === true };
    if (this.kind === 'postgres') {
      await this.backend.listen((v) => this.emit(v));
      this.pollTimer = setInterval(() => void this.poll(), this.pollIntervalMs);
      this.pollTimer.unref();
    }
  }

  async close(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.listeners.clear();
    await this.backend.close();
  }

  /** Safety net for missed notifications (listener reconnecting): compares the committed version. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      this.emit(await this.stateVersion());
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, 'config store: version poll failed');
    } finally {
      this.polling = false;
    }
  }

  private emit(version: number): void {
    if (version <= this.lastEmitted) return;
    this.lastEmitted = version;
    for (const listener of [...this.listeners]) {
      try {
        listener(version);
      } catch (e) {
        this.logger.error({ err: (e as Error).message }, 'config store: change listener threw');
      }
    }
  }

  onChange(listener: (version: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private readonly writingListeners = new Set<WritingListener>();

  onWriting(listener: WritingListener): () => void {
    this.writingListeners.add(listener);
    return () => this.writingListeners.delete(listener);
  }

  private announce(document: ConfigDocument, committed: Promise<boolean>): void {
    for (const listener of [...this.writingListeners]) {
      try {
        listener(document, committed);
      } catch (e) {
        this.logger.error({ err: (e as Error).message }, 'config store: writing listener threw');
      }
    }
  }

  private async stateVersion(): Promise<number> {
    const state = await this.backend.prisma.configState.findUnique({ where: { id: 1 } });
    if (!state) throw new Error('config_state row is missing: the database was not migrated');
    return state.version;
  }

  headVersion(): Promise<number> {
    return this.stateVersion().catch(rethrowStoreError);
  }

  async current(): Promise<{ document: ConfigDocument; version: number }> {
    const head = this.head;
    // The document of the head version, read once per version: a 10,000-route document is 3 MB of JSON.
    if (head && (await this.headVersion()) === head.version) return { version: head.version, document: head.document };
    // The version's own document is one consistent read; the tables are the source for writes.
    const rows = await this.backend.prisma.$queryRaw<{ version: number; document: ConfigDocument | null }[]>`
      SELECT s.version, v.document FROM config_state s LEFT JOIN config_versions v ON v.version = s.version WHERE s.id = 1`.catch(rethrowStoreError);
    const row = rows[0];
    if (!row) throw new Error('config_state row is missing: the database was not migrated');
    const document = deepFreeze(row.document ? orderDocumentKeys(row.document) : emptyDocument());
    this.remember({ version: row.version, document, written: false });
    return { version: row.version, document };
  }

  /**
   * The head version's document, frozen, as this node last wrote or read it. `written` documents are
   * exactly what that write put in the tables, so the next write on this node starts from it instead of
   * reading every table back; a version written by another node is read from the tables as before.
   */
  private head: { version: number; document: ConfigDocument; written: boolean } | undefined;

  private remember(head: { version: number; document: ConfigDocument; written: boolean }): void {
    if (!this.head || head.version >= this.head.version) this.head = head;
  }

  /**
   * The shared write path; see the file comment. `mutate` gets a copy of the stored document's lists to
   * change (copyLists: the entities in them are the stored, frozen ones, to be replaced rather than
   * changed), or with `{ copy: false }` the stored document itself, for a mutation that builds its own.
   */
  private async write(meta: WriteMeta, mutate: (doc: ConfigDocument) => Mutation, opts: { copy?: boolean } = {}): Promise<{ version: number; changed: boolean; document: ConfigDocument }> {
    const head = this.head;
    let settle: (committed: boolean) => void = () => {};
    const committed = new Promise<boolean>((resolve) => (settle = resolve));
    const result = await this.backend.prisma
      .$transaction(async (tx) => {
      const locked = await tx.$queryRaw<{ version: number }[]>`SELECT version FROM config_state WHERE id = 1 FOR UPDATE`;
      const version = locked[0]?.version;
      if (version === undefined) throw new Error('config_state row is missing: the database was not migrated');
      const before = head?.written && head.version === version ? head.document : deepFreeze(await loadDocument(tx));
      const m = mutate(opts.copy === false ? before : copyLists(before));
      const checked = checkDocument(m.document, this.plugins);
      if (!checked.ok) throw new StoreValidationError(this.focusIssues(checked.issues, m));
      // Key order and plugin ids change nothing the schema checks: the diff below need not validate it again.
      const after = markValidated(canonicalDocument(assignPluginIds(checked.document, before)), ConfigDocumentSchema);
      let base = before;
      if (m.rename) {
        await renameInPlace(tx, m.rename.kind, m.rename.from, m.rename.to);
        base = copyLists(before);
        repoint(entitiesOf(base, m.rename.kind), ENTITY_KINDS[m.rename.kind].key, m.rename.from, m.rename.to);
        renameReferences(base, m.rename.kind, m.rename.from, m.rename.to);
      }
      const diff = diffDocuments(base, after);
      const unchanged = isEmptyDiff(diff) && !m.rename;
      // Nothing to write: the kept document stays the head, the same object a proxy may have built from.
      if (unchanged && before === head?.document) return { version, changed: false, document: before };
      // What current() returns from now on and the version's text, which goes with it to the proxy worker
      // (document-json.ts): the entities the diff found unchanged stay the stored objects.
      const made = storedDocument(after, (kind, e) => (diff[kind] as KindDiff<object>).same.get(e));
      const text = made.text;
      const stored = deepFreeze(markValidated(withJson(made.document, text), ConfigDocumentSchema));
      // Its plugin configs passed their plugins' schemas in checkDocument: the next write need not check them again.
      for (const p of stored.plugins) {
        const def = this.plugins.get(p.name);
        if (def) markValidated(p.config, def.schema);
      }
      if (unchanged) return { version, changed: false, document: stored };
      this.announce(stored, committed);
      await writeDiff(tx, diff, this.writeOptions);
      const next = version + 1;
      // Raw, as the entity rows: Prisma's create walks the whole document (0.6–0.8 s at 10,000 routes).
      await tx.$executeRawUnsafe(INSERT_VERSION, next, meta.author, meta.message ?? '', jsonParam(text));
      await tx.configVersion.deleteMany({ where: { version: { lte: next - KEPT_VERSIONS } } });
      await tx.configState.update({ where: { id: 1 }, data: { version: next, updatedAt: new Date() } });
      // NOTIFY is transactional: other nodes hear of the version only once it is committed.
      if (this.kind === 'postgres') await tx.$executeRaw`SELECT pg_notify(${NOTIFY_CHANNEL}, ${String(next)})`;
      return { version: next, changed: true, document: stored };
    }, TX_OPTIONS)
      .catch((e: unknown) => {
        settle(false);
        return rethrowStoreError(e);
      });
    settle(result.changed);
    this.remember({ version: result.version, document: result.document, written: true });
    if (result.changed) this.emit(result.version);
    return result;
  }

  private focusIssues(issues: ValidationIssue[], m: Mutation): ValidationIssue[] {
    if (!m.focus) return issues;
    const { kind, key } = m.focus;
    const index = entitiesOf(m.document, kind).findIndex((e) => entityKey(kind, e) === key);
    return index < 0 ? issues : rewriteIssuePaths(issues, kind, index);
  }

  async replace(document: ConfigDocument, meta: WriteMeta): Promise<{ version: number; changed: boolean }> {
    const r = await this.write(
      meta,
      (before) => {
        // A shallow copy: carrying credentials and certificates over replaces those arrays, nothing inside.
        const next = carryCertificates(carryCredentials({ ...document }, before), before);
        // Checked by the caller (the admin API), it is not validated again, unless what was carried over
        // comes from the tables rather than from this store's own checked head document.
        const carried = next.credentials !== document.credentials || next.certificates !== document.certificates;
        if (hasPassed(document, ConfigDocumentSchema) && (!carried || hasPassed(before, ConfigDocumentSchema))) markValidated(next, ConfigDocumentSchema);
        return { document: next };
      },
      { copy: false },
    );
    return { version: r.version, changed: r.changed };
  }

  async list(kind: EntityKind, query: ListQuery): Promise<Page<Entity>> {
    const { document } = await this.current();
    return listEntities(kind, entitiesOf(document, kind), query);
  }

  async get(kind: EntityKind, key: string): Promise<Entity> {
    const { document } = await this.current();
    const found = entitiesOf(document, kind).find((e) => entityKey(kind, e) === key);
    if (!found) throw new StoreNotFoundError(kind, key);
    return found;
  }

  async create(kind: EntityKind, entity: Entity, meta: WriteMeta): Promise<{ entity: Entity; version: number }> {
    const body: Entity = { ...entity };
    if (kind === 'plugins' && body.id === undefined) body.id = randomUUID();
    const key = entityKey(kind, body);
    const r = await this.write(meta, (doc) => {
      if (key && entitiesOf(doc, kind).some((e) => entityKey(kind, e) === key)) {
        throw new StoreConflictError(`${kind} '${key}' already exists`);
      }
      entitiesOf(doc, kind).push(body);
      return { document: doc, focus: { kind, key } };
    });
    return { entity: findIn(r.document, kind, key), version: r.version };
  }

  async update(kind: EntityKind, key: string, entity: Entity, meta: WriteMeta): Promise<{ entity: Entity; version: number }> {
    const body: Entity = { ...entity };
    if (kind === 'plugins') {
      if (body.id !== undefined && body.id !== key) throw new StoreConflictError(`a plugin instance's id cannot change ('${key}' → '${String(body.id)}')`);
      body.id = key;
    }
    const newKey = entityKey(kind, body) || key;
    const r = await this.write(meta, (doc) => {
      const list = entitiesOf(doc, kind);
      const index = list.findIndex((e) => entityKey(kind, e) === key);
      if (index < 0) throw new StoreNotFoundError(kind, key);
      const m: Mutation = { document: doc, focus: { kind, key: newKey } };
      if (newKey !== key) {
        if (list.some((e) => entityKey(kind, e) === newKey)) throw new StoreConflictError(`${kind} '${newKey}' already exists`);
        if (kind !== 'plugins') {
          renameReferences(doc, kind, key, newKey);
          m.rename = { kind, from: key, to: newKey };
        }
      }
      list[index] = { ...body, [ENTITY_KINDS[kind].key]: newKey };
      return m;
    });
    return { entity: findIn(r.document, kind, newKey), version: r.version };
  }

  async remove(kind: EntityKind, key: string, meta: WriteMeta): Promise<{ version: number }> {
    const r = await this.write(meta, (doc) => {
      const list = entitiesOf(doc, kind);
      const index = list.findIndex((e) => entityKey(kind, e) === key);
      if (index < 0) throw new StoreNotFoundError(kind, key);
      const referrers = referrersOf(doc, kind, key);
      if (referrers.length) {
        throw new StoreConflictError(`${kind.slice(0, -1)} '${key}' is still referenced by ${referrers.join(', ')}`);
      }
      list.splice(index, 1);
      // A consumer's credentials go with it (the table cascades; the document must agree).
      if (kind === 'consumers' && doc.credentials) doc.credentials = doc.credentials.filter((c) => c.consumer !== key);
      return { document: doc };
    });
    return { version: r.version };
  }

  async versions(query: { offset?: number; limit?: number }): Promise<Page<VersionInfo>> {
    const { offset, limit } = clampPage(query);
    const prisma = this.backend.prisma;
    const [rows, total] = await Promise.all([
      prisma.configVersion.findMany({
        select: { version: true, createdAt: true, author: true, message: true },
        orderBy: { version: 'desc' },
        skip: offset,
        take: limit,
      }),
      prisma.configVersion.count(),
    ]);
    return { data: rows.map(versionInfo), total, offset, limit };
  }

  async version(n: number): Promise<{ info: VersionInfo; document: ConfigDocument }> {
    const row = Number.isInteger(n) ? await this.backend.prisma.configVersion.findUnique({ where: { version: n } }) : null;
    // StoreNotFoundError is typed by entity kind; versions are not entities but map to the same 404.
    if (!row) throw new StoreNotFoundError('versions' as EntityKind, String(n));
    return { info: versionInfo(row), document: orderDocumentKeys(row.document as unknown as ConfigDocument) };
  }

  /** A cluster-wide setting (e.g. the generated JWT secret): the first node to ask creates it, all others read the same value. */
  async setting(key: string, create: () => string): Promise<string> {
    const prisma = this.backend.prisma;
    const existing = await prisma.setting.findUnique({ where: { key } });
    if (existing) return existing.value;
    await prisma.$executeRaw`INSERT INTO settings (key, value) VALUES (${key}, ${create()}) ON CONFLICT (key) DO NOTHING`;
    const row = await prisma.setting.findUnique({ where: { key } });
    if (!row) throw new Error(`setting '${key}' could not be stored`);
    return row.value;
  }

  readonly credentials: CredentialStore = {
    list: async (consumer: string): Promise<CredentialConfig[]> => {
      const { document } = await this.current();
      if (!document.consumers.some((c) => c.username === consumer)) throw new StoreNotFoundError('consumers', consumer);
      return (document.credentials ?? []).filter((c) => c.consumer === consumer);
    },
    get: async (consumer: string, id: string): Promise<CredentialConfig> => {
      const found = (await this.credentials.list(consumer)).find((c) => c.id === id);
      if (!found) throw new StoreNotFoundError('credentials' as EntityKind, id);
      return found;
    },
    create: async (credential: CredentialConfig, meta: WriteMeta): Promise<{ credential: CredentialConfig; version: number }> => {
      const r = await this.write(meta, (doc) => {
        if (!doc.consumers.some((c) => c.username === credential.consumer)) throw new StoreNotFoundError('consumers', credential.consumer);
        (doc.credentials ??= []).push(credential);
        return { document: doc };
      });
      return { credential: findCredential(r.document, credential.id), version: r.version };
    },
    update: async (consumer, id, change, meta, add) => {
      const r = await this.write(meta, (doc) => {
        const list = (doc.credentials ??= []);
        const i = list.findIndex((c) => c.id === id && c.consumer === consumer);
        if (i < 0) throw new StoreNotFoundError('credentials' as EntityKind, id);
        list[i] = { ...change(list[i]!), id, consumer };
        if (add) list.push(add);
        return { document: doc };
      });
      return { credential: findCredential(r.document, id), ...(add ? { added: findCredential(r.document, add.id) } : {}), version: r.version };
    },
    remove: async (consumer: string, id: string, meta: WriteMeta): Promise<{ version: number }> => {
      const r = await this.write(meta, (doc) => {
        const list = doc.credentials ?? [];
        const i = list.findIndex((c) => c.id === id && c.consumer === consumer);
        if (i < 0) throw new StoreNotFoundError('credentials' as EntityKind, id);
        list.splice(i, 1);
        return { document: doc };
      });
      return { version: r.version };
    },
  };

  readonly certificates: CertificateStore = {
    list: async (): Promise<CertificateConfig[]> => (await this.current()).document.certificates ?? [],
    get: async (name: string): Promise<CertificateConfig> => {
      const found = (await this.certificates.list()).find((c) => c.name === name);
      if (!found) throw new StoreNotFoundError('certificates' as EntityKind, name);
      return found;
    },
    upsert: async (certificate: CertificateConfig, meta: WriteMeta) => {
      if (certificate.key_encrypted === undefined) throw new StoreValidationError([{ path: '/key_encrypted', message: 'a certificate needs its (encrypted) private key' }]);
      let created = false;
      const r = await this.write(meta, (doc) => {
        const list = (doc.certificates ??= []);
        const i = list.findIndex((c) => c.name === certificate.name);
        created = i < 0;
        if (created) list.push(certificate);
        else list[i] = certificate;
        return { document: doc };
      });
      const found = (r.document.certificates ?? []).find((c) => c.name === certificate.name);
      if (!found) throw new StoreNotFoundError('certificates' as EntityKind, certificate.name);
      return { certificate: found, created, version: r.version };
    },
    remove: async (name: string, meta: WriteMeta): Promise<{ version: number }> => {
      const r = await this.write(meta, (doc) => {
        const list = doc.certificates ?? [];
        const i = list.findIndex((c) => c.name === name);
        if (i < 0) throw new StoreNotFoundError('certificates' as EntityKind, name);
        list.splice(i, 1);
        return { document: doc };
      });
      return { version: r.version };
    },
  };

  readonly adminUsers = {
    count: async (): Promise<number> => this.backend.prisma.adminUser.count(),
    list: async (): Promise<AdminUserRecord[]> => (await this.backend.prisma.adminUser.findMany({ orderBy: [{ createdAt: 'asc' }, { username: 'asc' }] })).map(adminUserRecord),
    find: async (username: string): Promise<AdminUserRecord | undefined> => {
      const row = await this.backend.prisma.adminUser.findUnique({ where: { username } });
      return row ? adminUserRecord(row) : undefined;
    },
    create: async (user: { username: string; password_hash: string; role: AdminUserRecord['role'] }): Promise<AdminUserRecord> => {
      try {
        const row = await this.backend.prisma.adminUser.create({ data: { username: user.username, passwordHash: user.password_hash, role: user.role } });
        return adminUserRecord(row);
      } catch (e) {
        if ((e as { code?: string }).code === 'P2002') throw new StoreConflictError(`admin user '${user.username}' already exists`);
        throw e;
      }
    },
  };
}

function findIn(doc: ConfigDocument, kind: EntityKind, key: string): Entity {
  const e = entitiesOf(doc, kind).find((x) => entityKey(kind, x) === key);
  if (!e) throw new StoreNotFoundError(kind, key);
  return e;
}

/** Instances without an id keep the id of the stored instance at the same scope, else get a new one. */
function assignPluginIds(doc: ConfigDocument, before: ConfigDocument): ConfigDocument {
  const byScope = new Map(before.plugins.map((p) => [pluginInstanceKey(p), p.id]));
  const taken = new Set(doc.plugins.map((p) => p.id).filter(Boolean));
  doc.plugins = doc.plugins.map(function withId(p): PluginInstanceConfig {
    if (p.id) return p;
    const previous = byScope.get(pluginInstanceKey(p));
    const id = previous && !taken.has(previous) ? previous : randomUUID();
    taken.add(id);
    return { ...p, id };
  });
  return doc;
}

function versionInfo(r: { version: number; createdAt: Date; author: string; message: string }): VersionInfo {
  return { version: r.version, created_at: r.createdAt.toISOString(), author: r.author, message: r.message };
}

function adminUserRecord(r: { id: string; username: string; passwordHash: string; role: string; createdAt: Date }): AdminUserRecord {
  return { id: r.id, username: r.username, password_hash: r.passwordHash, role: r.role as AdminUserRecord['role'], created_at: r.createdAt.toISOString() };
}

function findCredential(doc: ConfigDocument, id: string): CredentialConfig {
  const c = (doc.credentials ?? []).find((x) => x.id === id);
  if (!c) throw new StoreNotFoundError('credentials' as EntityKind, id);
  return c;
}

/**
 * Declarative applies and rollbacks meet credentials they may not know about:
 * - a document without a `credentials` key keeps the stored ones (of consumers that still exist), so
 *   applying a hand-written file never wipes every API key;
 * - a revocation is sticky: a credential revoked now stays revoked even if the applied document (say, an
 *   old version being rolled back to) still has it active.
 */
export function carryCredentials(next: ConfigDocument, before: ConfigDocument): ConfigDocument {
  const current = before.credentials ?? [];
  if (next.credentials === undefined) {
    const consumers = new Set(next.consumers.map((c) => c.username));
    const kept = current.filter((c) => consumers.has(c.consumer));
    if (kept.length) next.credentials = kept;
    return next;
  }
  const revoked = new Map(current.filter((c) => c.revoked_at !== undefined).map((c) => [c.id, c.revoked_at!]));
  if (revoked.size) next.credentials = next.credentials.map((c) => (c.revoked_at === undefined && revoked.has(c.id) ? { ...c, revoked_at: revoked.get(c.id)! } : c));
  return next;
}

/**
 * Exports never carry private keys, so a declarative apply meets certificates without one:
 * - a document without a `certificates` key keeps the stored ones;
 * - a certificate without `key_encrypted` keeps the stored key of the same name;
 * - one without a key and without a stored certificate of its name is refused.
 */
export function carryCertificates(next: ConfigDocument, before: ConfigDocument): ConfigDocument {
  const current = before.certificates ?? [];
  if (next.certificates === undefined) {
    if (current.length) next.certificates = current;
    return next;
  }
  const keys = new Map(current.map((c) => [c.name, c.key_encrypted]));
  const missing: ValidationIssue[] = [];
  next.certificates = next.certificates.map((c, i) => {
    if (c.key_encrypted !== undefined) return c;
    const stored = keys.get(c.name);
    if (stored === undefined) missing.push({ path: `/certificates/${i}/key_encrypted`, message: `certificate '${c.name}' has no private key (and none is stored under its name)` });
    return { ...c, key_encrypted: stored };
  });
  if (missing.length) throw new StoreValidationError(missing);
  return next;
}
