/**
 * Maps document entities to table rows and back, and writes the entity-level difference between two
 * documents inside a transaction (parents before children on upsert, children before parents on delete,
 * so the foreign keys hold at every step).
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { pluginInstanceKey, type CertificateConfig, type ConfigDocument, type ConsumerConfig, type CredentialConfig, type PluginInstanceConfig, type RouteConfig, type ServiceConfig, type UpstreamConfig } from '../config/schema.js';
import { deepEqual } from '../config/diff.js';
import { jsonbParam } from './backends.js';
import { canonicalDocument } from './store-common.js';

export type Tx = Prisma.TransactionClient | PrismaClient;

type ServiceRow = Prisma.ServiceGetPayload<object>;
type RouteRow = Prisma.RouteGetPayload<object>;
type UpstreamRow = Prisma.UpstreamGetPayload<{ include: { targets: true } }>;
type ConsumerRow = Prisma.ConsumerGetPayload<object>;
type PluginRow = Prisma.PluginInstanceGetPayload<object>;
type CredentialRow = Prisma.CredentialGetPayload<object>;
type CertificateRow = Prisma.CertificateGetPayload<object>;

function certificateFromRow(r: CertificateRow): CertificateConfig {
  return { name: r.name, cert: r.cert, key_encrypted: r.keyEncrypted, snis: r.snis, default: r.isDefault, tags: r.tags };
}

/** Optional fields are omitted rather than null, as in a document. */
function opt<K extends string, V>(key: K, v: V | null): { [P in K]?: V } {
  return (v === null ? {} : { [key]: v }) as { [P in K]?: V };
}

function serviceFromRow(r: ServiceRow): ServiceConfig {
  return {
    name: r.name,
    ...opt('url', r.url),
    ...opt('protocol', r.protocol as ServiceConfig['protocol'] | null),
    ...opt('host', r.host),
    ...opt('port', r.port),
    ...opt('path', r.path),
    connect_timeout: r.connectTimeout,
    write_timeout: r.writeTimeout,
    read_timeout: r.readTimeout,
    retries: r.retries,
    retry_on_statuses: r.retryOnStatuses,
    retry_budget: (r.retryBudget as ServiceConfig['retry_budget'] | null) ?? { ratio: 0.2, min_per_second: 10 },
    enabled: r.enabled,
    ...opt('openapi', r.openapi as ServiceConfig['openapi'] | null),
    tls_verify: r.tlsVerify,
    ...(r.caCertificates.length ? { ca_certificates: r.caCertificates } : {}),
    ...opt('tls_server_name', r.tlsServerName),
    ...opt('client_certificate', r.clientCertificate),
    tags: r.tags,
  };
}

function routeFromRow(r: RouteRow): RouteConfig {
  return {
    name: r.name,
    ...opt('service', r.serviceName),
    hosts: r.hosts,
    paths: r.paths,
    methods: r.methods as RouteConfig['methods'],
    ...opt('headers', r.headers as RouteConfig['headers'] | null),
    ...opt('query', r.query as RouteConfig['query'] | null),
    priority: r.priority,
    strip_path: r.stripPath,
    preserve_host: r.preserveHost,
    ...opt('rewrite', r.rewrite),
    protocols: r.protocols as RouteConfig['protocols'],
    enabled: r.enabled,
    tags: r.tags,
  };
}

function upstreamFromRow(r: UpstreamRow): UpstreamConfig {
  return {
    name: r.name,
    algorithm: r.algorithm as UpstreamConfig['algorithm'],
    hash_on: r.hashOn as UpstreamConfig['hash_on'],
    ...opt('hash_on_header', r.hashOnHeader),
    ...opt('hash_on_cookie', r.hashOnCookie),
    keepalive_connections: r.keepaliveConnections,
    keepalive_timeout: r.keepaliveTimeout,
    targets: [...r.targets].sort((a, b) => a.position - b.position).map((t) => ({ target: t.target, weight: t.weight, tags: t.tags })),
    ...opt('healthchecks', r.healthchecks as UpstreamConfig['healthchecks'] | null),
    ...opt('discovery', r.discovery as UpstreamConfig['discovery'] | null),
    tags: r.tags,
  };
}

function consumerFromRow(r: ConsumerRow): ConsumerConfig {
  return { username: r.username, ...opt('custom_id', r.customId), groups: r.groups, tags: r.tags };
}

function pluginFromRow(r: PluginRow): PluginInstanceConfig {
  return {
    id: r.id,
    name: r.name,
    ...opt('service', r.serviceName),
    ...opt('route', r.routeName),
    ...opt('consumer', r.consumerUsername),
    enabled: r.enabled,
    config: r.config as Record<string, unknown>,
    tags: r.tags,
  };
}

function credentialFromRow(r: CredentialRow): CredentialConfig {
  return {
    id: r.id,
    consumer: r.consumerUsername,
    kind: r.kind as CredentialConfig['kind'],
    ...opt('key', r.key),
    ...opt('key_hash', r.keyHash),
    ...opt('secret_hash', r.secretHash),
    ...opt('secret_encrypted', r.secretEncrypted),
    ...opt('algorithm', r.algorithm),
    ...opt('rsa_public_key', r.rsaPublicKey),
    ...opt('expires_at', r.expiresAt?.toISOString() ?? null),
    ...opt('revoked_at', r.revokedAt?.toISOString() ?? null),
    created_at: r.createdAt.toISOString(),
    tags: r.tags,
  };
}

/** Reads the whole configuration from the entity tables, in canonical order. */
export async function loadDocument(tx: Tx): Promise<ConfigDocument> {
  const services = await tx.service.findMany();
  const routes = await tx.route.findMany();
  const upstreams = await tx.upstream.findMany({ include: { targets: true } });
  const consumers = await tx.consumer.findMany();
  const plugins = await tx.pluginInstance.findMany();
  const credentials = await tx.credential.findMany();
  const certificates = await tx.certificate.findMany();
  return canonicalDocument({
    _format_version: '1',
    services: services.map(serviceFromRow),
    routes: routes.map(routeFromRow),
    upstreams: upstreams.map(upstreamFromRow),
    consumers: consumers.map(consumerFromRow),
    plugins: plugins.map(pluginFromRow),
    // Omitted when empty, so documents of gateways without credentials read as before.
    ...(credentials.length ? { credentials: credentials.map(credentialFromRow) } : {}),
    ...(certificates.length ? { certificates: certificates.map(certificateFromRow) } : {}),
  });
}

export interface KindDiff<T> {
  /** `creates` and `updates` together. */
  upserts: T[];
  /** Each entity of the new list that equals a stored one (deepEqual), with that stored entity. */
  same: Map<T, T>;
  /** Keys the tables do not hold yet: inserted in bulk. */
  creates: T[];
  /** Keys the tables hold, with another content. */
  updates: T[];
  deletes: string[];
}

function diffKind<T>(before: readonly T[], after: readonly T[], key: (e: T) => string): KindDiff<T> {
  const old = new Map(before.map((e) => [key(e), e]));
  const next = new Set<string>();
  const creates: T[] = [];
  const updates: T[] = [];
  const same = new Map<T, T>();
  for (const e of after) {
    const k = key(e);
    next.add(k);
    const stored = old.get(k);
    if (stored === undefined) creates.push(e);
    else if (!deepEqual(stored, e)) updates.push(e);
    else same.set(e, stored);
  }
  return { upserts: [...creates, ...updates], creates, updates, same, deletes: [...old.keys()].filter((k) => !next.has(k)) };
}

export interface DocumentDiff {
  services: KindDiff<ServiceConfig>;
  routes: KindDiff<RouteConfig>;
  upstreams: KindDiff<UpstreamConfig>;
  consumers: KindDiff<ConsumerConfig>;
  plugins: KindDiff<PluginInstanceConfig>;
  credentials: KindDiff<CredentialConfig>;
  certificates: KindDiff<CertificateConfig>;
}

export function diffDocuments(before: ConfigDocument, after: ConfigDocument): DocumentDiff {
  return {
    services: diffKind(before.services, after.services, (e) => e.name),
    routes: diffKind(before.routes, after.routes, (e) => e.name),
    upstreams: diffKind(before.upstreams, after.upstreams, (e) => e.name),
    consumers: diffKind(before.consumers, after.consumers, (e) => e.username),
    plugins: diffKind(before.plugins, after.plugins, (e) => e.id ?? ''),
    credentials: diffKind(before.credentials ?? [], after.credentials ?? [], (e) => e.id),
    certificates: diffKind(before.certificates ?? [], after.certificates ?? [], (e) => e.name),
  };
}

export function isEmptyDiff(d: DocumentDiff): boolean {
  return Object.values(d).every((k: KindDiff<unknown>) => k.upserts.length === 0 && k.deletes.length === 0);
}

/**
 * One column of a bulk statement: its name and PostgreSQL type in the table, and how an entity gives its
 * value (`null` for SQL NULL). A `keepOnUpdate` timestamp is inserted as now when the entity has none,
 * and keeps its stored value on an update that gives none (a credential's `created_at`).
 */
interface Column<T> {
  name: string;
  type: string;
  value(e: T): unknown;
  keepOnUpdate?: boolean;
}

interface Table<T> {
  table: string;
  key: string;
  /** Whether the table has an `updated_at` column that an update sets. */
  touched: boolean;
  columns: readonly Column<T>[];
}

const q = (id: string): string => `"${id}"`;
const nul = (v: unknown): unknown => v ?? null;

const SERVICES: Table<ServiceConfig> = {
  table: 'services',
  key: 'name',
  touched: true,
  columns: [
    { name: 'name', type: 'text', value: (s) => s.name },
    { name: 'url', type: 'text', value: (s) => nul(s.url) },
    { name: 'protocol', type: 'text', value: (s) => nul(s.protocol) },
    { name: 'host', type: 'text', value: (s) => nul(s.host) },
    { name: 'port', type: 'integer', value: (s) => nul(s.port) },
    { name: 'path', type: 'text', value: (s) => nul(s.path) },
    { name: 'connect_timeout', type: 'integer', value: (s) => s.connect_timeout },
    { name: 'write_timeout', type: 'integer', value: (s) => s.write_timeout },
    { name: 'read_timeout', type: 'integer', value: (s) => s.read_timeout },
    { name: 'retries', type: 'integer', value: (s) => s.retries },
    { name: 'retry_on_statuses', type: 'integer[]', value: (s) => s.retry_on_statuses },
    { name: 'retry_budget', type: 'jsonb', value: (s) => nul(s.retry_budget) },
    { name: 'enabled', type: 'boolean', value: (s) => s.enabled },
    { name: 'openapi', type: 'jsonb', value: (s) => nul(s.openapi) },
    { name: 'tls_verify', type: 'boolean', value: (s) => s.tls_verify ?? true },
    { name: 'ca_certificates', type: 'text[]', value: (s) => s.ca_certificates ?? [] },
    { name: 'tls_server_name', type: 'text', value: (s) => nul(s.tls_server_name) },
    { name: 'client_certificate', type: 'text', value: (s) => nul(s.client_certificate) },
    { name: 'tags', type: 'text[]', value: (s) => s.tags },
  ],
};

const ROUTES: Table<RouteConfig> = {
  table: 'routes',
  key: 'name',
  touched: true,
  columns: [
    { name: 'name', type: 'text', value: (r) => r.name },
    { name: 'service', type: 'text', value: (r) => nul(r.service) },
    { name: 'hosts', type: 'text[]', value: (r) => r.hosts },
    { name: 'paths', type: 'text[]', value: (r) => r.paths },
    { name: 'methods', type: 'text[]', value: (r) => r.methods },
    { name: 'headers', type: 'jsonb', value: (r) => nul(r.headers) },
    { name: 'query', type: 'jsonb', value: (r) => nul(r.query) },
    { name: 'priority', type: 'integer', value: (r) => r.priority },
    { name: 'strip_path', type: 'boolean', value: (r) => r.strip_path },
    { name: 'preserve_host', type: 'boolean', value: (r) => r.preserve_host },
    { name: 'rewrite', type: 'text', value: (r) => nul(r.rewrite) },
    { name: 'protocols', type: 'text[]', value: (r) => r.protocols },
    { name: 'enabled', type: 'boolean', value: (r) => r.enabled },
    { name: 'tags', type: 'text[]', value: (r) => r.tags },
  ],
};

const UPSTREAMS: Table<UpstreamConfig> = {
  table: 'upstreams',
  key: 'name',
  touched: true,
  columns: [
    { name: 'name', type: 'text', value: (u) => u.name },
    { name: 'algorithm', type: 'text', value: (u) => u.algorithm },
    { name: 'hash_on', type: 'text', value: (u) => u.hash_on },
    { name: 'hash_on_header', type: 'text', value: (u) => nul(u.hash_on_header) },
    { name: 'hash_on_cookie', type: 'text', value: (u) => nul(u.hash_on_cookie) },
    { name: 'keepalive_connections', type: 'integer', value: (u) => u.keepalive_connections },
    { name: 'keepalive_timeout', type: 'integer', value: (u) => u.keepalive_timeout },
    { name: 'healthchecks', type: 'jsonb', value: (u) => nul(u.healthchecks) },
    { name: 'discovery', type: 'jsonb', value: (u) => nul(u.discovery) },
    { name: 'tags', type: 'text[]', value: (u) => u.tags },
  ],
};

interface TargetRow {
  upstream: string;
  position: number;
  target: UpstreamConfig['targets'][number];
}

const TARGETS: Table<TargetRow> = {
  table: 'targets',
  key: 'id',
  touched: false,
  columns: [
    { name: 'upstream', type: 'text', value: (t) => t.upstream },
    { name: 'position', type: 'integer', value: (t) => t.position },
    { name: 'target', type: 'text', value: (t) => t.target.target },
    { name: 'weight', type: 'integer', value: (t) => t.target.weight },
    { name: 'tags', type: 'text[]', value: (t) => t.target.tags },
  ],
};

const CONSUMERS: Table<ConsumerConfig> = {
  table: 'consumers',
  key: 'username',
  touched: true,
  columns: [
    { name: 'username', type: 'text', value: (c) => c.username },
    { name: 'custom_id', type: 'text', value: (c) => nul(c.custom_id) },
    { name: 'groups', type: 'text[]', value: (c) => c.groups },
    { name: 'tags', type: 'text[]', value: (c) => c.tags },
  ],
};

const PLUGIN_INSTANCES: Table<PluginInstanceConfig> = {
  table: 'plugin_instances',
  key: 'id',
  touched: true,
  columns: [
    {
      name: 'id',
      type: 'uuid',
      value: (p) => {
        if (!p.id) throw new Error(`plugin instance '${p.name}' has no id`);
        return p.id;
      },
    },
    { name: 'name', type: 'text', value: (p) => p.name },
    { name: 'service', type: 'text', value: (p) => nul(p.service) },
    { name: 'route', type: 'text', value: (p) => nul(p.route) },
    { name: 'consumer', type: 'text', value: (p) => nul(p.consumer) },
    { name: 'scope_key', type: 'text', value: (p) => pluginInstanceKey(p) },
    { name: 'enabled', type: 'boolean', value: (p) => p.enabled },
    { name: 'config', type: 'jsonb', value: (p) => p.config },
    { name: 'tags', type: 'text[]', value: (p) => p.tags },
  ],
};

const CREDENTIALS: Table<CredentialConfig> = {
  table: 'credentials',
  key: 'id',
  touched: false,
  columns: [
    { name: 'id', type: 'uuid', value: (c) => c.id },
    { name: 'consumer', type: 'text', value: (c) => c.consumer },
    { name: 'kind', type: 'text', value: (c) => c.kind },
    { name: 'key', type: 'text', value: (c) => nul(c.key) },
    { name: 'key_hash', type: 'text', value: (c) => nul(c.key_hash) },
    { name: 'secret_hash', type: 'text', value: (c) => nul(c.secret_hash) },
    { name: 'secret_encrypted', type: 'text', value: (c) => nul(c.secret_encrypted) },
    { name: 'algorithm', type: 'text', value: (c) => nul(c.algorithm) },
    { name: 'rsa_public_key', type: 'text', value: (c) => nul(c.rsa_public_key) },
    { name: 'tags', type: 'text[]', value: (c) => c.tags },
    { name: 'expires_at', type: 'timestamptz', value: (c) => nul(c.expires_at) },
    { name: 'revoked_at', type: 'timestamptz', value: (c) => nul(c.revoked_at) },
    { name: 'created_at', type: 'timestamptz', value: (c) => nul(c.created_at), keepOnUpdate: true },
  ],
};

const CERTIFICATES: Table<CertificateConfig> = {
  table: 'certificates',
  key: 'name',
  touched: true,
  columns: [
    { name: 'name', type: 'text', value: (c) => c.name },
    { name: 'cert', type: 'text', value: (c) => c.cert },
    // The store's write path refuses a certificate without a key before this point (prisma-config-store.ts).
    { name: 'key_encrypted', type: 'text', value: (c) => c.key_encrypted ?? '' },
    { name: 'snis', type: 'text[]', value: (c) => c.snis },
    { name: 'is_default', type: 'boolean', value: (c) => c.default },
    { name: 'tags', type: 'text[]', value: (c) => c.tags },
  ],
};

/**
 * The schema's foreign keys (migrations.spec.ts compares this list with the migrated database's). A
 * `cascade` key has the database delete the referencing rows with the referenced one.
 */
export interface ForeignKey {
  table: string;
  column: string;
  references: string;
  key: string;
  onDelete: 'restrict' | 'cascade';
}
export const FOREIGN_KEYS: readonly ForeignKey[] = [
  { table: 'routes', column: 'service', references: 'services', key: 'name', onDelete: 'restrict' },
  { table: 'targets', column: 'upstream', references: 'upstreams', key: 'name', onDelete: 'cascade' },
  { table: 'credentials', column: 'consumer', references: 'consumers', key: 'username', onDelete: 'cascade' },
  { table: 'plugin_instances', column: 'service', references: 'services', key: 'name', onDelete: 'restrict' },
  { table: 'plugin_instances', column: 'route', references: 'routes', key: 'name', onDelete: 'restrict' },
  { table: 'plugin_instances', column: 'consumer', references: 'consumers', key: 'username', onDelete: 'restrict' },
];

/**
 * Statements of at least this many rows check their foreign keys once, set-based, instead of with
 * PostgreSQL's trigger per row (see WriteOptions); smaller ones are left to the triggers.
 */
export const SET_BASED_CHECK_ROWS = 256;

/**
 * How writeDiff may write. `setBasedChecks`: the session may switch row triggers off for its transaction
 * (`session_replication_role`, a superuser's setting: PGlite's session always is one).
 *
 * PostgreSQL checks a foreign key with a trigger per row: a query on the referenced table for each
 * inserted row, on the referencing table for each deleted one. In PGlite each costs 10–20 µs, and a
 * renaming apply of 10,000 routes spent 150–250 ms of its 450–750 ms of SQL in them (the routes' insert
 * checking their service, their delete checking for plugin instances). A large statement instead runs
 * with the row triggers off (`SET LOCAL session_replication_role = replica`, reset right after it) and
 * is followed by the same rule checked set-based (withoutRowTriggers); a violation fails the write as the
 * trigger would have. Only statements that need no cascade go this way: inserts, and deletes from tables
 * whose referencing keys all restrict. The triggers would also lock the referenced rows until the commit;
 * that is not needed here, because every writer first locks config_state's row.
 */
export interface WriteOptions {
  setBasedChecks: boolean;
}

/** A foreign key a set-based check found broken; the message names it as PostgreSQL's would. */
export class ForeignKeyViolation extends Error {
  constructor(readonly fk: ForeignKey, readonly value: string) {
    super(`${fk.table}.${fk.column} = '${value}' has no row in ${fk.references} (foreign key ${fk.table}_${fk.column}_fkey)`);
    this.name = 'ForeignKeyViolation';
  }
}

const TRIGGERS_OFF = `SET LOCAL session_replication_role = replica`;
/** Back to the session's own setting (`origin` unless configured otherwise), for the rest of the transaction. */
const TRIGGERS_BACK = `SET LOCAL session_replication_role = DEFAULT`;

/**
 * The statements of one table, built once: every row of an insert or an update travels as ONE jsonb
 * parameter that `jsonb_to_recordset` turns back into typed rows. A 10,000-route apply is then a few
 * statements whatever the number of rows, and Prisma's query compiler (about 1.3 ms per row for
 * `createMany`, measured) is not on the path at all.
 *
 * In that parameter a column is a one-character key (its index in base 36, named in the record's column
 * list) and a null is left out (a missing key reads as NULL): the column names repeated in every row were
 * half of the 2.5 MB a 10,000-route insert sent, and every byte of it is measured, copied and parsed
 * again on the way into PostgreSQL (PGlite does all of it on the admin thread).
 */
class BulkStatements<T> {
  readonly insert: string;
  readonly update: string;
  readonly remove: string;
  /**
   * What a set-based insert must check (the keys from this table) and a set-based delete (the keys to it);
   * undefined where there is nothing to check, or for a delete, where a key to this table cascades.
   */
  private readonly insertCheck: OrphanCheck | undefined;
  private readonly deleteCheck: OrphanCheck | undefined;
  /** Each column's key in the rows parameter. */
  private readonly keys: string[];

  constructor(readonly spec: Table<T>) {
    const cols = spec.columns;
    if (cols.length > 36) throw new Error(`${spec.table}: more columns than one-character row keys`);
    this.keys = cols.map((_, i) => i.toString(36));
    const r = (i: number) => `r.${q(this.keys[i]!)}`;
    const record = `jsonb_to_recordset($1::jsonb) AS r(${cols.map((c, i) => `${q(this.keys[i]!)} ${c.type}`).join(', ')})`;
    const names = cols.map((c) => q(c.name)).join(', ');
    const values = cols.map((c, i) => (c.keepOnUpdate ? `COALESCE(${r(i)}, CURRENT_TIMESTAMP)` : r(i))).join(', ');
    this.insert = `INSERT INTO ${q(spec.table)} (${names}) SELECT ${values} FROM ${record}`;
    const keyAt = cols.findIndex((c) => c.name === spec.key);
    const sets = cols.flatMap((c, i) => (i === keyAt ? [] : [`${q(c.name)} = ${c.keepOnUpdate ? `COALESCE(${r(i)}, t.${q(c.name)})` : r(i)}`]));
    if (spec.touched) sets.push(`"updated_at" = CURRENT_TIMESTAMP`);
    // Targets are keyed by a generated id outside their columns: they are only ever inserted and deleted.
    this.update = keyAt < 0 ? '' : `UPDATE ${q(spec.table)} AS t SET ${sets.join(', ')} FROM ${record} WHERE t.${q(spec.key)} = ${r(keyAt)}`;
    const keyType = cols[keyAt]?.type ?? 'text';
    this.remove = `DELETE FROM ${q(spec.table)} WHERE ${q(spec.key)} IN (SELECT jsonb_array_elements_text($1::jsonb)::${keyType})`;
    this.insertCheck = orphanCheck(FOREIGN_KEYS.filter((fk) => fk.table === spec.table));
    const incoming = FOREIGN_KEYS.filter((fk) => fk.references === spec.table);
    this.deleteCheck = incoming.every((fk) => fk.onDelete === 'restrict') ? orphanCheck(incoming) : undefined;
  }

  rows(entities: readonly T[]): Uint8Array {
    const cols = this.spec.columns;
    const keys = this.keys;
    const out: Record<string, unknown>[] = new Array(entities.length);
    for (let i = 0; i < entities.length; i++) {
      const row: Record<string, unknown> = {};
      for (let c = 0; c < cols.length; c++) {
        const v = cols[c]!.value(entities[i]!);
        if (v !== null && v !== undefined) row[keys[c]!] = v;
      }
      out[i] = row;
    }
    return jsonbParam(out);
  }

  async create(tx: Prisma.TransactionClient, entities: readonly T[], opts?: WriteOptions): Promise<void> {
    if (!entities.length) return;
    if (opts?.setBasedChecks && this.insertCheck !== undefined && entities.length >= SET_BASED_CHECK_ROWS) {
      await withoutRowTriggers(tx, this.insert, this.rows(entities), this.insertCheck);
    } else {
      await tx.$executeRawUnsafe(this.insert, this.rows(entities));
    }
  }

  async change(tx: Prisma.TransactionClient, entities: readonly T[]): Promise<void> {
    if (!entities.length) return;
    if (!this.update) throw new Error(`${this.spec.table}: rows without their key among the columns are not updated in place`);
    await tx.$executeRawUnsafe(this.update, this.rows(entities));
  }

  /** A kind's new entities, then its changed ones. */
  async upsert(tx: Prisma.TransactionClient, d: KindDiff<T>, opts?: WriteOptions): Promise<void> {
    await this.create(tx, d.creates, opts);
    await this.change(tx, d.updates);
  }

  async delete(tx: Prisma.TransactionClient, keys: readonly string[], opts?: WriteOptions): Promise<void> {
    if (!keys.length) return;
    if (opts?.setBasedChecks && this.deleteCheck !== undefined && keys.length >= SET_BASED_CHECK_ROWS) {
      await withoutRowTriggers(tx, this.remove, jsonbParam(keys), this.deleteCheck);
    } else {
      await tx.$executeRawUnsafe(this.remove, jsonbParam(keys));
    }
  }
}

/** Foreign keys and the query finding a row that breaks one: at most one row, with the key's index in `fks`. */
interface OrphanCheck {
  fks: readonly ForeignKey[];
  sql: string;
}

function orphanCheck(fks: readonly ForeignKey[]): OrphanCheck | undefined {
  if (fks.length === 0) return undefined;
  const parts = fks.map(
    (fk, i) =>
      `(SELECT ${i} AS fk, c.${q(fk.column)}::text AS value FROM ${q(fk.table)} c WHERE c.${q(fk.column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${q(fk.references)} p WHERE p.${q(fk.key)} = c.${q(fk.column)}) LIMIT 1)`,
  );
  return { fks, sql: `SELECT * FROM (${parts.join(' UNION ALL ')}) o LIMIT 1` };
}

/**
 * Runs one statement with this transaction's row triggers off, then checks the foreign keys it could
 * break, each over its whole referencing table (one anti-join: 2–20 ms at 10,000 rows where the triggers
 * took 100–200 ms). They held before the statement, so any orphan is the statement's.
 */
async function withoutRowTriggers(tx: Prisma.TransactionClient, sql: string, param: unknown, check: OrphanCheck): Promise<void> {
  await tx.$executeRawUnsafe(TRIGGERS_OFF);
  await tx.$executeRawUnsafe(sql, param);
  await tx.$executeRawUnsafe(TRIGGERS_BACK);
  const broken = (await tx.$queryRawUnsafe<{ fk: number; value: string }[]>(check.sql))[0];
  if (broken !== undefined) throw new ForeignKeyViolation(check.fks[broken.fk]!, broken.value);
}

const BULK = {
  services: new BulkStatements(SERVICES),
  routes: new BulkStatements(ROUTES),
  upstreams: new BulkStatements(UPSTREAMS),
  targets: new BulkStatements(TARGETS),
  consumers: new BulkStatements(CONSUMERS),
  plugins: new BulkStatements(PLUGIN_INSTANCES),
  credentials: new BulkStatements(CREDENTIALS),
  certificates: new BulkStatements(CERTIFICATES),
};

const DELETE_TARGETS_OF = `DELETE FROM "targets" WHERE "upstream" IN (SELECT jsonb_array_elements_text($1::jsonb))`;

function targetRows(upstreams: readonly UpstreamConfig[]): TargetRow[] {
  const out: TargetRow[] = [];
  for (const u of upstreams) u.targets.forEach((target, position) => out.push({ upstream: u.name, position, target }));
  return out;
}

/**
 * Writes a diff in a number of statements that does not grow with the number of entities. Parents are
 * written before children and deleted after them, so the foreign keys hold at every step; plugin
 * deletes go first so a replacement instance can take over the same scope, credential deletes before
 * inserts so a new credential can reuse a lookup key.
 */
export async function writeDiff(tx: Prisma.TransactionClient, d: DocumentDiff, opts?: WriteOptions): Promise<void> {
  await BULK.plugins.delete(tx, d.plugins.deletes, opts);
  await BULK.services.upsert(tx, d.services, opts);
  await BULK.upstreams.upsert(tx, d.upstreams, opts);
  // A changed upstream's targets are replaced as a whole (their order is their position).
  if (d.upstreams.updates.length) await tx.$executeRawUnsafe(DELETE_TARGETS_OF, jsonbParam(d.upstreams.updates.map((u) => u.name)));
  await BULK.targets.create(tx, targetRows(d.upstreams.upserts), opts);
  await BULK.consumers.upsert(tx, d.consumers, opts);
  await BULK.routes.upsert(tx, d.routes, opts);
  await BULK.plugins.upsert(tx, d.plugins, opts);
  await BULK.credentials.delete(tx, d.credentials.deletes, opts);
  await BULK.credentials.upsert(tx, d.credentials, opts);
  await BULK.certificates.delete(tx, d.certificates.deletes, opts);
  await BULK.certificates.upsert(tx, d.certificates, opts);
  await BULK.routes.delete(tx, d.routes.deletes, opts);
  await BULK.services.delete(tx, d.services.deletes, opts);
  await BULK.upstreams.delete(tx, d.upstreams.deletes, opts);
  await BULK.consumers.delete(tx, d.consumers.deletes, opts);
}

/** Renames an entity's key in place; ON UPDATE CASCADE carries references and credentials along. */
export async function renameInPlace(tx: Prisma.TransactionClient, kind: 'services' | 'routes' | 'upstreams' | 'consumers', from: string, to: string): Promise<void> {
  if (kind === 'services') await tx.service.update({ where: { name: from }, data: { name: to } });
  else if (kind === 'routes') await tx.route.update({ where: { name: from }, data: { name: to } });
  else if (kind === 'upstreams') await tx.upstream.update({ where: { name: from }, data: { name: to } });
  else await tx.consumer.update({ where: { username: from }, data: { username: to } });
}
