/**
 * Entity-by-entity comparison of two configuration documents, for `gatehouse diff/apply`, the admin
 * API's `PUT /config` answer and the dashboard: what a declarative apply would create, change and delete.
 *
 * Entities are matched by their key (name, username, or plugin name + scope), never by position or
 * `id`, so a file that omits plugin ids or lists entities in another order diffs as "no changes".
 */
import { ConfigDocumentSchema, ENTITY_KINDS, pluginInstanceKey, type ConfigDocument, type EntityKind } from './schema.js';
import { hasPassed, validate } from './validate.js';
import type { Entity } from '../store/config-store.js';

export interface FieldChange {
  /** JSON Pointer into the entity, e.g. `/url`, `/headers/x-env`, `/targets/10.0.0.1:80/weight`. */
  path: string;
  /** `undefined` when the field was absent before. */
  before: unknown;
  /** `undefined` when the field is absent after. */
  after: unknown;
}

export interface EntityChange {
  kind: EntityKind;
  /** The entity's key; for plugins `pluginInstanceKey()` (`name|service|route|consumer`). */
  key: string;
  before?: Entity;
  after?: Entity;
  /** Only on updates. */
  fields?: FieldChange[];
}

export interface ConfigDiff {
  created: EntityChange[];
  updated: EntityChange[];
  deleted: EntityChange[];
  /** Number of entities present on both sides with no field change. */
  unchanged: number;
}

/** Kinds in the order a reader expects them: what things point at comes before what points at them. */
const KIND_ORDER: readonly EntityKind[] = ['services', 'upstreams', 'consumers', 'routes', 'plugins'];

const SINGULAR: Record<EntityKind, string> = {
  services: 'service',
  routes: 'route',
  upstreams: 'upstream',
  consumers: 'consumer',
  plugins: 'plugin',
};

/** Fields that are identity or store bookkeeping, not configuration. */
const IGNORED_FIELDS: Partial<Record<EntityKind, ReadonlySet<string>>> = { plugins: new Set(['id']) };

export class DiffInputError extends Error {
  constructor(
    readonly side: 'current' | 'next',
    readonly issues: { path: string; message: string }[],
  ) {
    super(`${side} document is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'DiffInputError';
  }
}

/**
 * Compares two documents after filling schema defaults on both sides (so `enabled: true` written out
 * equals it being omitted). Plugin `config` objects are compared as given: pass documents that went
 * through `checkDocument` when plugin-level defaults must not show up as changes.
 * Throws DiffInputError when either side fails the document schema.
 */
export function diffDocuments(current: ConfigDocument, next: ConfigDocument): ConfigDiff {
  const before = normalise(current, 'current');
  const after = normalise(next, 'next');
  const diff: ConfigDiff = { created: [], updated: [], deleted: [], unchanged: 0 };

  for (const kind of KIND_ORDER) {
    const oldByKey = indexByKey(kind, before[kind] as unknown as Entity[]);
    const newByKey = indexByKey(kind, after[kind] as unknown as Entity[]);
    for (const [key, b] of oldByKey) {
      const a = newByKey.get(key);
      if (!a) {
        diff.deleted.push({ kind, key, before: b });
        continue;
      }
      // Most entities of a large apply are unchanged: one structural comparison settles those.
      if (deepEqual(b, a)) {
        diff.unchanged++;
        continue;
      }
      const fields = diffEntity(kind, b, a);
      if (fields.length) diff.updated.push({ kind, key, before: b, after: a, fields });
      else diff.unchanged++;
    }
    for (const [key, a] of newByKey) if (!oldByKey.has(key)) diff.created.push({ kind, key, after: a });
  }
  return diff;
}

/**
 * The diff as `PUT /config` answers it: every change names its entity by kind and key, updates list their
 * changed fields, and only plugin instances keep their body (their key alone does not say where they
 * apply). The rest is the document just sent, or the version the apply started from (`base_version`):
 * echoing both back made the answer of an apply that renames 10,000 routes 5 MB (docs/performance-log.md,
 * "Config apply at 10,000 routes").
 */
export function withoutBodies(diff: ConfigDiff): ConfigDiff {
  const slim = (c: EntityChange): EntityChange => {
    if (c.kind === 'plugins') return c;
    return c.fields ? { kind: c.kind, key: c.key, fields: c.fields } : { kind: c.kind, key: c.key };
  };
  return { created: diff.created.map(slim), updated: diff.updated.map(slim), deleted: diff.deleted.map(slim), unchanged: diff.unchanged };
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  return diff.created.length === 0 && diff.updated.length === 0 && diff.deleted.length === 0;
}

function normalise(doc: ConfigDocument, side: 'current' | 'next'): ConfigDocument {
  if (hasPassed(doc, ConfigDocumentSchema)) return doc;
  const v = validate(ConfigDocumentSchema, doc);
  if (!v.ok) throw new DiffInputError(side, v.issues);
  return v.value;
}

/** The key an entity is matched by across the two documents. */
export function entityKey(kind: EntityKind, entity: Entity): string {
  if (kind === 'plugins') return pluginInstanceKey(entity as Parameters<typeof pluginInstanceKey>[0]);
  return String(entity[ENTITY_KINDS[kind].key]);
}

function indexByKey(kind: EntityKind, entities: Entity[]): Map<string, Entity> {
  // A duplicate key is a checkDocument error; the last one wins here, as in a map-shaped file.
  return new Map(entities.map((e) => [entityKey(kind, e), e]));
}

function diffEntity(kind: EntityKind, before: Entity, after: Entity): FieldChange[] {
  const ignored = IGNORED_FIELDS[kind];
  const out: FieldChange[] = [];
  for (const field of unionKeys(before, after)) {
    if (ignored?.has(field)) continue;
    const path = `/${escapePointer(field)}`;
    if (kind === 'upstreams' && field === 'targets') diffTargets(path, before[field], after[field], out);
    else diffValue(path, before[field], after[field], out);
  }
  return out;
}

/** Targets are a set keyed by `target`: reordering them changes nothing the balancer does. */
function diffTargets(path: string, before: unknown, after: unknown, out: FieldChange[]): void {
  const index = (v: unknown) =>
    new Map((Array.isArray(v) ? (v as Entity[]) : []).map((t) => [String(t.target), t]));
  const b = index(before);
  const a = index(after);
  for (const [target, t] of b) {
    const at = `${path}/${escapePointer(target)}`;
    const n = a.get(target);
    if (!n) out.push({ path: at, before: t, after: undefined });
    else for (const field of unionKeys(t, n)) diffValue(`${at}/${escapePointer(field)}`, t[field], n[field], out);
  }
  for (const [target, t] of a) if (!b.has(target)) out.push({ path: `${path}/${escapePointer(target)}`, before: undefined, after: t });
}

/** Objects are walked key by key; arrays and scalars are compared as whole values. */
function diffValue(path: string, before: unknown, after: unknown, out: FieldChange[]): void {
  if (isPlainObject(before) && isPlainObject(after)) {
    for (const k of unionKeys(before, after)) diffValue(`${path}/${escapePointer(k)}`, before[k], after[k], out);
    return;
  }
  if (!deepEqual(before, after)) out.push({ path, before, after });
}

function unionKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = Object.keys(a);
  for (const k of Object.keys(b)) if (!(k in a)) keys.push(k);
  return keys;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values; a key holding `undefined` equals a missing key. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of unionKeys(a, b)) if (!deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** RFC 6901 reference token escaping. */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** `response-headers (route orders)`, `cors (global)`. */
function label(change: EntityChange): string {
  if (change.kind !== 'plugins') return `${SINGULAR[change.kind]} ${change.key}`;
  const p = (change.after ?? change.before ?? {}) as Record<string, unknown>;
  const scope = (['service', 'route', 'consumer'] as const)
    .filter((s) => typeof p[s] === 'string')
    .map((s) => `${s} ${String(p[s])}`);
  return `plugin ${String(p.name)} (${scope.length ? scope.join(', ') : 'global'})`;
}

const MAX_VALUE_CHARS = 120;
function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  const s = JSON.stringify(v);
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 1)}…` : s;
}

/**
 * Renders a diff for terminals and logs: `+` created, `~` one line per changed field, `-` deleted,
 * then a one-line summary. Each line names its entity so `grep` on the output works.
 */
export function formatDiff(diff: ConfigDiff): string {
  const lines: string[] = [];
  const byKind = (changes: EntityChange[]) =>
    [...changes].sort((x, y) => KIND_ORDER.indexOf(x.kind) - KIND_ORDER.indexOf(y.kind));
  for (const c of byKind(diff.created)) lines.push(`+ ${label(c)}`);
  for (const c of byKind(diff.updated)) {
    for (const f of c.fields ?? []) lines.push(`~ ${label(c)}: ${f.path} ${show(f.before)} → ${show(f.after)}`);
  }
  for (const c of byKind(diff.deleted)) lines.push(`- ${label(c)}`);
  const summary = isEmptyDiff(diff)
    ? `No changes (${diff.unchanged} unchanged).`
    : `${diff.created.length} created, ${diff.updated.length} updated, ${diff.deleted.length} deleted, ${diff.unchanged} unchanged.`;
  lines.push(summary);
  return lines.join('\n') + '\n';
}
