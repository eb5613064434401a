/**
 * Pure helpers shared by the Prisma and file stores: canonical document order, entity keys, list
 * queries, issue-path rewriting for single-entity writes, reference rewrites for renames and
 * referrer lookups for deletes.
 */
import { createHash } from 'node:crypto';
import { CertificateSchema, CredentialSchema, ENTITY_KINDS, TargetSchema, pluginInstanceKey, type ConfigDocument, type EntityKind, type PluginInstanceConfig } from '../config/schema.js';
import type { ValidationIssue } from '../config/validate.js';
import type { Entity, ListQuery, Page } from './config-store.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** Logger shape the stores accept (pino-compatible; `console` works too). */
export interface StoreLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const SILENT_LOGGER: StoreLogger = {
  info() {},
  warn() {},
  error() {},
};

export function entityKey(kind: EntityKind, entity: Entity): string {
  const v = entity[ENTITY_KINDS[kind].key];
  return typeof v === 'string' ? v : '';
}

export function entitiesOf(doc: ConfigDocument, kind: EntityKind): Entity[] {
  return doc[kind] as unknown as Entity[];
}

/** JSON with object keys sorted at every depth, so equal entities compare equal whatever their key order. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, function sortKeys(_k, v: unknown) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(v as object).sort()) sorted[key] = (v as Record<string, unknown>)[key];
      return sorted;
    }
    return v;
  });
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sorts every list by key (plugins by name, then scope), the order the tables are read back in, so the
 * document kept with a version equals the one rebuilt from the tables.
 */
export function canonicalDocument(doc: ConfigDocument): ConfigDocument {
  const byName = <T extends { name: string }>(a: T, b: T) => compareStrings(a.name, b.name);
  return {
    _format_version: doc._format_version,
    services: [...doc.services].sort(byName),
    routes: [...doc.routes].sort(byName),
    upstreams: [...doc.upstreams].sort(byName),
    consumers: [...doc.consumers].sort((a, b) => compareStrings(a.username, b.username)),
    plugins: [...doc.plugins].sort((a, b) => compareStrings(pluginSortKey(a), pluginSortKey(b))),
    ...(doc.credentials?.length ? { credentials: [...doc.credentials].sort((a, b) => compareStrings(a.id, b.id)) } : {}),
    ...(doc.certificates?.length ? { certificates: [...doc.certificates].sort(byName) } : {}),
  };
}

export function pluginSortKey(p: PluginInstanceConfig): string {
  return `${pluginInstanceKey(p)}|${p.id ?? ''}`;
}

/** A stable uuid-shaped id for a file-defined plugin instance, so reloads keep `get('plugins', id)` working. */
export function deterministicPluginId(p: Pick<PluginInstanceConfig, 'name' | 'service' | 'route' | 'consumer'>): string {
  const h = createHash('sha1').update(`gatehouse-plugin|${pluginInstanceKey(p)}`).digest('hex');
  // Shaped as a version-5 uuid so it passes the schema's uuid format.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

export function clampPage(query: { offset?: number; limit?: number }): { offset: number; limit: number } {
  const offset = Math.max(0, Math.floor(query.offset ?? 0) || 0);
  const rawLimit = Math.floor(query.limit ?? DEFAULT_LIMIT) || DEFAULT_LIMIT;
  return { offset, limit: Math.min(MAX_LIMIT, Math.max(1, rawLimit)) };
}

/** Applies tags (all of), search (key substring, case-insensitive) and exact scalar filters, then pages. */
export function listEntities(kind: EntityKind, all: readonly Entity[], query: ListQuery): Page<Entity> {
  const { offset, limit } = clampPage(query);
  const needle = query.search?.toLowerCase();
  const filters = Object.entries(query.filter ?? {});
  const matching = all.filter(function matches(e) {
    if (query.tags?.length) {
      const tags = Array.isArray(e.tags) ? (e.tags as unknown[]) : [];
      if (!query.tags.every((t) => tags.includes(t))) return false;
    }
    if (needle) {
      const haystacks = [entityKey(kind, e)];
      // A plugin's key is a uuid; its name is what people search for.
      if (kind === 'plugins' && typeof e.name === 'string') haystacks.push(e.name);
      if (!haystacks.some((h) => h.toLowerCase().includes(needle))) return false;
    }
    for (const [field, expected] of filters) {
      const v = e[field];
      if (v === undefined || v === null || typeof v === 'object') return false;
      if (String(v) !== expected) return false;
    }
    return true;
  });
  return { data: matching.slice(offset, offset + limit), total: matching.length, offset, limit };
}

/** Issues about the entity at `/<kind>/<index>` are re-rooted at the entity body (`/routes/3/paths/0` → `/paths/0`). */
export function rewriteIssuePaths(issues: ValidationIssue[], kind: EntityKind, index: number): ValidationIssue[] {
  const prefix = `/${kind}/${index}`;
  return issues.map(function rewrite(issue) {
    if (issue.path === prefix) return { ...issue, path: '/' };
    if (issue.path.startsWith(`${prefix}/`)) return { ...issue, path: issue.path.slice(prefix.length) };
    return issue;
  });
}

/** Rewrites references to a renamed entity so the document stays consistent. */
/**
 * Points references from `from` to `to`. Entities are replaced, never changed: a document's lists may be
 * copies (copyLists) whose entities are the head document's, frozen and shared.
 */
export function renameReferences(doc: ConfigDocument, kind: EntityKind, from: string, to: string): void {
  if (kind === 'services') {
    repoint(doc.routes, 'service', from, to);
    repoint(doc.plugins, 'service', from, to);
  } else if (kind === 'routes') {
    repoint(doc.plugins, 'route', from, to);
  } else if (kind === 'consumers') {
    repoint(doc.plugins, 'consumer', from, to);
    repoint(doc.credentials, 'consumer', from, to);
  } else if (kind === 'upstreams') {
    repoint(doc.services, 'host', from, to);
  }
}

/** Replaces each entity of `list` whose `field` is `from` with a copy holding `to`. */
export function repoint<T extends object>(list: T[] | undefined, field: keyof T & string, from: string, to: string): void {
  if (list === undefined) return;
  for (let i = 0; i < list.length; i++) if (list[i]![field] === from) list[i] = { ...list[i]!, [field]: to };
}

/** Human descriptions of the entities that reference `key`, e.g. `route 'orders-api'`. */
export function referrersOf(doc: ConfigDocument, kind: EntityKind, key: string): string[] {
  const out: string[] = [];
  if (kind === 'services') {
    for (const r of doc.routes) if (r.service === key) out.push(`route '${r.name}'`);
    for (const p of doc.plugins) if (p.service === key) out.push(`plugin '${p.name}' (${p.id ?? 'no id'})`);
  } else if (kind === 'routes') {
    for (const p of doc.plugins) if (p.route === key) out.push(`plugin '${p.name}' (${p.id ?? 'no id'})`);
  } else if (kind === 'consumers') {
    for (const p of doc.plugins) if (p.consumer === key) out.push(`plugin '${p.name}' (${p.id ?? 'no id'})`);
  }
  return out;
}

/**
 * A document whose lists are copies holding the same entities: what a single-entity write changes is a
 * list (an entity pushed, removed or replaced), and the entities it leaves alone stay the head document's
 * own objects, frozen. That is what lets validation and the diffs skip them (validateChanged, deepEqual's
 * identity check); a deep copy of a 10,000-route document cost 50–80 ms and made every entity new.
 */
export function copyLists(doc: ConfigDocument): ConfigDocument {
  const out: Record<string, unknown> = { ...doc };
  for (const k of Object.keys(out)) if (Array.isArray(out[k])) out[k] = [...(out[k] as unknown[])];
  return out as unknown as ConfigDocument;
}

function orderedLike(keys: readonly string[], e: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (e[k] !== undefined) out[k] = e[k];
  for (const k of Object.keys(e)) if (!(k in out)) out[k] = e[k];
  return out;
}

const TARGET_KEYS = Object.keys(TargetSchema.properties);
const CREDENTIAL_KEYS = Object.keys(CredentialSchema.properties);
const CERTIFICATE_KEYS = Object.keys(CertificateSchema.properties);

/** The lists of a stored document in the order its JSON has them: the entity kinds, then credentials and certificates when present. */
type ListKind = EntityKind | 'credentials' | 'certificates';
const LIST_KINDS: readonly ListKind[] = [...(Object.keys(ENTITY_KINDS) as EntityKind[]), 'credentials', 'certificates'];
const KEYS_OF: Record<ListKind, readonly string[]> = {
  ...(Object.fromEntries(Object.entries(ENTITY_KINDS).map(([k, v]) => [k, Object.keys(v.schema.properties)])) as Record<EntityKind, string[]>),
  credentials: CREDENTIAL_KEYS,
  certificates: CERTIFICATE_KEYS,
};

/** One entity with its fields in schema order (an upstream's targets too). */
function orderEntity(kind: ListKind, e: Record<string, unknown>): Record<string, unknown> {
  const o = orderedLike(KEYS_OF[kind], e);
  if (kind === 'upstreams' && Array.isArray(o.targets)) {
    o.targets = (o.targets as Record<string, unknown>[]).map((t) => orderedLike(TARGET_KEYS, t));
  }
  return o;
}

/** A list of the document, or undefined for credentials and certificates a document leaves out. */
function listOf(doc: ConfigDocument, kind: ListKind): Record<string, unknown>[] | undefined {
  const list = (doc as unknown as Record<string, Record<string, unknown>[] | undefined>)[kind];
  return kind === 'credentials' || kind === 'certificates' ? list : (list ?? []);
}

/** Puts entity fields back in schema order (versions stored as jsonb before 2026-11-29 come back in jsonb's order). */
export function orderDocumentKeys(doc: ConfigDocument): ConfigDocument {
  const out: Record<string, unknown> = { _format_version: doc._format_version };
  for (const kind of LIST_KINDS) {
    const list = listOf(doc, kind);
    if (list !== undefined) out[kind] = list.map((e) => orderEntity(kind, e));
  }
  return out as unknown as ConfigDocument;
}

/**
 * What a write stores, and its JSON text (the version's): `after` in the key order of
 * orderDocumentKeys, holding only JSON values and none of the caller's objects. An entity `kept` names
 * (the stored entity it equals) is that stored object, frozen and known to have passed validation;
 * only the others go through JSON text and back. The whole text used to be parsed back, so a write that
 * changed one route of 10,000 made, froze and marked every entity anew (40–70 ms of a 130–200 ms write).
 * `JSON.parse(text)` equals the document, key order included: each piece is the JSON of the object put
 * in its place.
 */
export function storedDocument(after: ConfigDocument, kept: (kind: ListKind, e: object) => object | undefined): { document: ConfigDocument; text: string } {
  const out: Record<string, unknown> = { _format_version: after._format_version };
  let text = `{"_format_version":${JSON.stringify(after._format_version)}`;
  for (const kind of LIST_KINDS) {
    const list = listOf(after, kind);
    if (list === undefined) continue;
    const objects = new Array<unknown>(list.length);
    const pieces = new Array<string>(list.length);
    for (let i = 0; i < list.length; i++) {
      const same = kept(kind, list[i]!);
      if (same !== undefined) {
        objects[i] = same;
        pieces[i] = JSON.stringify(same);
      } else {
        const piece = JSON.stringify(orderEntity(kind, list[i]!));
        objects[i] = JSON.parse(piece);
        pieces[i] = piece;
      }
    }
    out[kind] = objects;
    text += `,"${kind}":[${pieces.join(',')}]`;
  }
  return { document: out as unknown as ConfigDocument, text: text + '}' };
}

/** Freezes a document and everything in it: a document shared between callers must not change under them. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
