/**
 * Maps document entities to table rows and back, and writes the entity-level difference between two
 * documents inside a transaction (parents before children on upsert, children before parents on delete,
 * so the foreign keys hold at every step).
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { pluginInstanceKey, type CertificateConfig, type ConfigDocument, type ConsumerConfig, type CredentialConfig, type PluginInstanceConfig, type RouteConfig, type ServiceConfig, type UpstreamConfig } from '../config/schema.js';
import { canonicalDocument, stableStringify } from './store-common.js';

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

function certificateToRow(c: CertificateConfig): Prisma.CertificateUncheckedCreateInput {
  // The store's write path refuses a certificate without a key before this point (prisma-config-store.ts).
  return { name: c.name, cert: c.cert, keyEncrypted: c.key_encrypted ?? '', snis: c.snis, isDefault: c.default, tags: c.tags };
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

function serviceToRow(s: ServiceConfig): Prisma.ServiceUncheckedCreateInput {
  return {
    name: s.name,
    url: s.url ?? null,
    protocol: s.protocol ?? null,
    host: s.host ?? null,
    port: s.port ?? null,
    path: s.path ?? null,
    connectTimeout: s.connect_timeout,
    writeTimeout: s.write_timeout,
    readTimeout: s.read_timeout,
    retries: s.retries,
    retryOnStatuses: s.retry_on_statuses,
    retryBudget: s.retry_budget,
    enabled: s.enabled,
    openapi: (s.openapi as Prisma.InputJsonValue | undefined) ?? Prisma.DbNull,
    tlsVerify: s.tls_verify ?? true,
    caCertificates: s.ca_certificates ?? [],
    tlsServerName: s.tls_server_name ?? null,
    clientCertificate: s.client_certificate ?? null,
    tags: s.tags,
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

function routeToRow(r: RouteConfig): Prisma.RouteUncheckedCreateInput {
  return {
    name: r.name,
    serviceName: r.service ?? null,
    hosts: r.hosts,
    paths: r.paths,
    methods: r.methods,
    headers: r.headers ?? Prisma.DbNull,
    query: r.query ?? Prisma.DbNull,
    priority: r.priority,
    stripPath: r.strip_path,
    preserveHost: r.preserve_host,
    rewrite: r.rewrite ?? null,
    protocols: r.protocols,
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

function upstreamToRow(u: UpstreamConfig): Prisma.UpstreamUncheckedCreateInput {
  return {
    name: u.name,
    algorithm: u.algorithm,
    hashOn: u.hash_on,
    hashOnHeader: u.hash_on_header ?? null,
    hashOnCookie: u.hash_on_cookie ?? null,
    keepaliveConnections: u.keepalive_connections,
    keepaliveTimeout: u.keepalive_timeout,
    healthchecks: u.healthchecks ?? Prisma.DbNull,
    discovery: u.discovery ?? Prisma.DbNull,
    tags: u.tags,
  };
}

function consumerFromRow(r: ConsumerRow): ConsumerConfig {
  return { username: r.username, ...opt('custom_id', r.customId), groups: r.groups, tags: r.tags };
}

function consumerToRow(c: ConsumerConfig): Prisma.ConsumerUncheckedCreateInput {
  return { username: c.username, customId: c.custom_id ?? null, groups: c.groups, tags: c.tags };
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

function pluginToRow(p: PluginInstanceConfig): Prisma.PluginInstanceUncheckedCreateInput {
  if (!p.id) throw new Error(`plugin instance '${p.name}' has no id`);
  return {
    id: p.id,
    name: p.name,
    serviceName: p.service ?? null,
    routeName: p.route ?? null,
    consumerUsername: p.consumer ?? null,
    scopeKey: pluginInstanceKey(p),
    enabled: p.enabled,
    config: p.config as Prisma.InputJsonValue,
    tags: p.tags,
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

function credentialToRow(c: CredentialConfig): Prisma.CredentialUncheckedCreateInput {
  return {
    id: c.id,
    consumerUsername: c.consumer,
    kind: c.kind,
    key: c.key ?? null,
    keyHash: c.key_hash ?? null,
    secretHash: c.secret_hash ?? null,
    secretEncrypted: c.secret_encrypted ?? null,
    algorithm: c.algorithm ?? null,
    rsaPublicKey: c.rsa_public_key ?? null,
    tags: c.tags,
    expiresAt: c.expires_at !== undefined ? new Date(c.expires_at) : null,
    revokedAt: c.revoked_at !== undefined ? new Date(c.revoked_at) : null,
    ...(c.created_at !== undefined ? { createdAt: new Date(c.created_at) } : {}),
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

interface KindDiff<T> {
  /** `creates` and `updates` together. */
  upserts: T[];
  /** Keys the tables do not hold yet: inserted in bulk. */
  creates: T[];
  /** Keys the tables hold, with another content. */
  updates: T[];
  deletes: string[];
}

function diffKind<T>(before: readonly T[], after: readonly T[], key: (e: T) => string): KindDiff<T> {
  const old = new Map(before.map((e) => [key(e), stableStringify(e)]));
  const next = new Set<string>();
  const creates: T[] = [];
  const updates: T[] = [];
  for (const e of after) {
    const k = key(e);
    next.add(k);
    const stored = old.get(k);
    if (stored === undefined) creates.push(e);
    else if (stored !== stableStringify(e)) updates.push(e);
  }
  return { upserts: [...creates, ...updates], creates, updates, deletes: [...old.keys()].filter((k) => !next.has(k)) };
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
 * Rows per multi-row INSERT: 1,000 routes of 14 columns stay well under PostgreSQL's 65,535 bind
 * parameters, and a 10,000-route apply is ten statements instead of ten thousand round trips.
 */
const INSERT_CHUNK = 1_000;

async function inChunks<T>(rows: readonly T[], write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) await write(rows.slice(i, i + INSERT_CHUNK));
}

function targetRows(u: UpstreamConfig): Prisma.TargetCreateManyInput[] {
  return u.targets.map((t, position) => ({ upstreamName: u.name, position, target: t.target, weight: t.weight, tags: t.tags }));
}

/**
 * Writes a diff; plugin deletes go first so a replacement instance can take over the same scope. New keys
 * are inserted in bulk; changed ones are updated row by row (a declarative apply changes few entities in
 * place, while a large rename or first import is all inserts).
 */
export async function writeDiff(tx: Prisma.TransactionClient, d: DocumentDiff): Promise<void> {
  if (d.plugins.deletes.length) await tx.pluginInstance.deleteMany({ where: { id: { in: d.plugins.deletes } } });
  await inChunks(d.services.creates, (c) => tx.service.createMany({ data: c.map(serviceToRow) }));
  for (const s of d.services.updates) await tx.service.update({ where: { name: s.name }, data: serviceToRow(s) });
  await inChunks(d.upstreams.creates, (c) => tx.upstream.createMany({ data: c.map(upstreamToRow) }));
  await inChunks(d.upstreams.creates.flatMap(targetRows), (c) => tx.target.createMany({ data: c }));
  for (const u of d.upstreams.updates) {
    await tx.upstream.update({ where: { name: u.name }, data: upstreamToRow(u) });
    await tx.target.deleteMany({ where: { upstreamName: u.name } });
    if (u.targets.length) await tx.target.createMany({ data: targetRows(u) });
  }
  await inChunks(d.consumers.creates, (c) => tx.consumer.createMany({ data: c.map(consumerToRow) }));
  for (const c of d.consumers.updates) await tx.consumer.update({ where: { username: c.username }, data: consumerToRow(c) });
  await inChunks(d.routes.creates, (c) => tx.route.createMany({ data: c.map(routeToRow) }));
  for (const r of d.routes.updates) await tx.route.update({ where: { name: r.name }, data: routeToRow(r) });
  await inChunks(d.plugins.creates, (c) => tx.pluginInstance.createMany({ data: c.map(pluginToRow) }));
  for (const p of d.plugins.updates) {
    const data = pluginToRow(p);
    await tx.pluginInstance.update({ where: { id: data.id }, data });
  }
  // Credentials after consumers (their parent); deletes first so a new credential can reuse a lookup key.
  if (d.credentials.deletes.length) await tx.credential.deleteMany({ where: { id: { in: d.credentials.deletes } } });
  await inChunks(d.credentials.creates, (c) => tx.credential.createMany({ data: c.map(credentialToRow) }));
  for (const c of d.credentials.updates) await tx.credential.update({ where: { id: c.id }, data: credentialToRow(c) });
  if (d.certificates.deletes.length) await tx.certificate.deleteMany({ where: { name: { in: d.certificates.deletes } } });
  for (const c of d.certificates.upserts) {
    const data = certificateToRow(c);
    await tx.certificate.upsert({ where: { name: c.name }, create: data, update: data });
  }
  if (d.routes.deletes.length) await tx.route.deleteMany({ where: { name: { in: d.routes.deletes } } });
  if (d.services.deletes.length) await tx.service.deleteMany({ where: { name: { in: d.services.deletes } } });
  if (d.upstreams.deletes.length) await tx.upstream.deleteMany({ where: { name: { in: d.upstreams.deletes } } });
  if (d.consumers.deletes.length) await tx.consumer.deleteMany({ where: { username: { in: d.consumers.deletes } } });
}

/** Renames an entity's key in place; ON UPDATE CASCADE carries references and credentials along. */
export async function renameInPlace(tx: Prisma.TransactionClient, kind: 'services' | 'routes' | 'upstreams' | 'consumers', from: string, to: string): Promise<void> {
  if (kind === 'services') await tx.service.update({ where: { name: from }, data: { name: to } });
  else if (kind === 'routes') await tx.route.update({ where: { name: from }, data: { name: to } });
  else if (kind === 'upstreams') await tx.upstream.update({ where: { name: from }, data: { name: to } });
  else await tx.consumer.update({ where: { username: from }, data: { username: to } });
}
