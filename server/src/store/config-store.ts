/**
 * The config store contract. Implementations: Prisma on PGlite (embedded default, `./data`), Prisma on
 * PostgreSQL (`DATABASE_URL`), and a read-only declarative file (`GATEWAY_CONFIG=file`, DB-less mode).
 *
 * Every successful write is one transaction that changes the entity tables, records a new config version
 * (author, message, the whole resulting document) and notifies other nodes. Writes validate the whole
 * resulting document (schema and references) before committing, so the store never holds a config
 * the snapshot builder would reject.
 */
import type { CertificateConfig, ConfigDocument, CredentialConfig, EntityKind } from '../config/schema.js';
import type { ValidationIssue } from '../config/validate.js';
import type { AuditStore } from './audit-store.js';

export interface ListQuery {
  offset?: number;
  limit?: number;
  /** Entities having all these tags. */
  tags?: string[];
  /** Case-insensitive substring of the entity's key. */
  search?: string;
  /** Exact matches on top-level scalar fields, e.g. `{ service: 'orders' }` for routes. */
  filter?: Record<string, string>;
}

export interface Page<T> {
  data: T[];
  total: number;
  offset: number;
  limit: number;
}

export interface VersionInfo {
  version: number;
  created_at: string;
  author: string;
  message: string;
}

export interface WriteMeta {
  author: string;
  message?: string;
}

/** Plain JSON entity as in the document (plugins carry their `id`). */
export type Entity = Record<string, unknown>;

export class StoreValidationError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
    this.name = 'StoreValidationError';
  }
}
export class StoreNotFoundError extends Error {
  constructor(readonly kind: EntityKind, readonly key: string) {
    super(`${kind} '${key}' not found`);
    this.name = 'StoreNotFoundError';
  }
}
export class StoreConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflictError';
  }
}
/** The store could not be reached (connection refused or dropped, database shutting down). */
export class StoreUnavailableError extends Error {
  constructor(override readonly cause: unknown) {
    super(`the config store is unavailable: ${(cause as Error)?.message ?? String(cause)}`.split('\n')[0]!);
    this.name = 'StoreUnavailableError';
  }
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'P1001', 'P1002', 'P1008', 'P1017']);
// PostgreSQL SQLSTATEs of a server that is gone or not accepting connections: class 08 (connection
// exception), 57P01-57P03 (shutdown, crash, cannot connect now) and 55000 for a database refusing connections.
const UNREACHABLE_MESSAGE = /ECONNREFUSED|ECONNRESET|Connection terminated|Can't reach database|not currently accepting connections|the database system is (?:starting up|shutting down|in recovery mode)|Code: `(?:08[0-9A-Z]{3}|57P0[123])`/;

/** True when `err` (or its cause chain) means the database is unreachable, not that the request was wrong. */
export function isStoreUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof StoreUnavailableError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && UNREACHABLE_MESSAGE.test(message)) return true;
  }
  return false;
}

/** Rethrows connection failures as StoreUnavailableError, anything else as it is. */
export function rethrowStoreError(err: unknown): never {
  throw isStoreUnreachable(err) && !(err instanceof StoreUnavailableError) ? new StoreUnavailableError(err) : err;
}

export class StoreReadOnlyError extends Error {
  constructor() {
    super('the config store is read-only (DB-less mode)');
    this.name = 'StoreReadOnlyError';
  }
}

export interface AdminUserRecord {
  id: string;
  username: string;
  password_hash: string;
  /**
   * `developer`: a developer-portal account (only `/me/**`, `/auth/me`, `/health/*`);
   * `developer-pending`: signed up, not approved yet (cannot log in). See admin/developers/.
   */
  role: 'admin' | 'operator' | 'viewer' | 'developer' | 'developer-pending';
  created_at: string;
}

/**
 * Consumers' credentials (issue 3). They live in the config document (`credentials`, hashed/encrypted
 * only) so every node's snapshot sees them; these methods are the locked, validated write path for the
 * admin API's `/consumers/:username/credentials`. Unknown consumer or id: StoreNotFoundError.
 */
export interface CredentialStore {
  list(consumer: string): Promise<CredentialConfig[]>;
  get(consumer: string, id: string): Promise<CredentialConfig>;
  create(credential: CredentialConfig, meta: WriteMeta): Promise<{ credential: CredentialConfig; version: number }>;
  /** Replaces one credential with `change(current)`; `add` is created in the same transaction (rotation). */
  update(
    consumer: string,
    id: string,
    change: (current: CredentialConfig) => CredentialConfig,
    meta: WriteMeta,
    add?: CredentialConfig,
  ): Promise<{ credential: CredentialConfig; added?: CredentialConfig; version: number }>;
  remove(consumer: string, id: string, meta: WriteMeta): Promise<{ version: number }>;
}

/**
 * TLS certificates (issue 9), kept in the document (`certificates`) like credentials. `upsert` is the one
 * write an ACME manager needs: it creates or replaces the certificate of that name in one locked
 * transaction. The key arrives already encrypted (tls/certificates.ts `sealCertificate`).
 */
export interface CertificateStore {
  list(): Promise<CertificateConfig[]>;
  /** Unknown name: StoreNotFoundError. */
  get(name: string): Promise<CertificateConfig>;
  upsert(certificate: CertificateConfig, meta: WriteMeta): Promise<{ certificate: CertificateConfig; created: boolean; version: number }>;
  remove(name: string, meta: WriteMeta): Promise<{ version: number }>;
}

/** See ConfigStore.onWriting: `committed` resolves true once the write committed, false if it did not. */
export type WritingListener = (document: ConfigDocument, committed: Promise<boolean>) => void;

export interface ConfigStore {
  readonly kind: 'pglite' | 'postgres' | 'file';
  readonly readOnly: boolean;
  /** Connects and applies pending SQL migrations. */
  init(): Promise<void>;
  close(): Promise<void>;

  /** The current document and its version. */
  current(): Promise<{ document: ConfigDocument; version: number }>;
  /**
   * The current version alone, without reading its document (at 10,000 routes a document read is
   * hundreds of milliseconds); optional, `current()` answers the same.
   */
  headVersion?(): Promise<number>;
  /** Replaces the whole configuration (declarative apply). Returns the new version, or the current one when nothing changed. */
  replace(document: ConfigDocument, meta: WriteMeta): Promise<{ version: number; changed: boolean }>;

  list(kind: EntityKind, query: ListQuery): Promise<Page<Entity>>;
  get(kind: EntityKind, key: string): Promise<Entity>;
  create(kind: EntityKind, entity: Entity, meta: WriteMeta): Promise<{ entity: Entity; version: number }>;
  /** Full replacement of one entity (PUT); `key` may differ from the body's key to rename. */
  update(kind: EntityKind, key: string, entity: Entity, meta: WriteMeta): Promise<{ entity: Entity; version: number }>;
  remove(kind: EntityKind, key: string, meta: WriteMeta): Promise<{ version: number }>;

  versions(query: { offset?: number; limit?: number }): Promise<Page<VersionInfo>>;
  version(n: number): Promise<{ info: VersionInfo; document: ConfigDocument }>;

  /** Called with the new version after any node (this one included) commits a change. Returns an unsubscribe function. */
  onChange(listener: (version: number) => void): () => void;

  /**
   * Called by a write on this node with the document it is about to commit, before the commit, and a
   * promise of whether it did; the version follows through onChange. The proxy builds its snapshot
   * meanwhile, on its own thread, instead of after the commit (see ProxyPlane.prepare).
   */
  onWriting?(listener: WritingListener): () => void;

  /**
   * A value shared by every node of the cluster (e.g. the admin JWT secret), created once with `create`
   * by whichever node asks first. The file store keeps it in memory only.
   */
  setting(key: string, create: () => string): Promise<string>;

  /** The audit log of admin changes (store/audit-store.ts); optional so test doubles need not keep one. */
  readonly audit?: AuditStore;

  /** Credential writes; optional so test doubles of the store need not implement them. */
  readonly credentials?: CredentialStore;

  /** Certificate writes; optional like credentials (the file store has none: it is read-only). */
  readonly certificates?: CertificateStore;

  adminUsers: {
    count(): Promise<number>;
    /** All admin users, oldest first (the admin API's `GET /admin-users`). */
    list?(): Promise<AdminUserRecord[]>;
    find(username: string): Promise<AdminUserRecord | undefined>;
    create(user: { username: string; password_hash: string; role: AdminUserRecord['role'] }): Promise<AdminUserRecord>;
  };
}
