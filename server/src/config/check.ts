/**
 * Whole-document checks beyond the schema: unique keys, references between entities, path syntax,
 * and each plugin instance's config against its plugin's own schema. Every problem is reported with
 * a JSON Pointer, so `validate`, the admin API and the dashboard can point at the field.
 */
import { deepEqual } from './diff.js';
import { ConfigDocumentSchema, ENTITY_KINDS, pluginInstanceKey, type ConfigDocument, type EntityKind } from './schema.js';
import { arrayParts, hasPassed, markValidated, validate, validateChanged, type ValidationIssue } from './validate.js';
import type { PluginDefinition } from '../plugins/types.js';

export type CheckResult = { ok: true; document: ConfigDocument } | { ok: false; issues: ValidationIssue[] };

/** Parses a route path matcher: `=/exact`, `~regex` or a `/prefix`. */
export function parsePathMatcher(p: string): { kind: 'exact' | 'prefix'; path: string } | { kind: 'regex'; regex: RegExp } {
  if (p.startsWith('~')) return { kind: 'regex', regex: new RegExp(`^(?:${p.slice(1)})`) };
  if (p.startsWith('=')) return { kind: 'exact', path: p.slice(1) };
  return { kind: 'prefix', path: p };
}

/** Each entity kind's list in the document schema, with its key and the item schema validate() marks items with. */
const ITEM_SCHEMAS = new Map(arrayParts(ConfigDocumentSchema));
const KIND_LISTS = (Object.keys(ENTITY_KINDS) as EntityKind[]).map((kind) => ({ kind, key: ENTITY_KINDS[kind].key, items: ITEM_SCHEMAS.get(kind)! }));

/**
 * `input` with each entity that equals an entity of `known` of the same key, known to have passed, replaced
 * by that object (a shallow copy of the lists that change; the input is not touched). A whole document sent
 * back with one route changed (`PUT /config` after a `GET`) is then validated, diffed and stored as that one
 * route: the rest are the stored objects, which validateChanged keeps and the diffs pass by identity.
 */
function withKnownEntities(input: unknown, known: ConfigDocument): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  let out: Record<string, unknown> | undefined;
  for (const { kind, key, items } of KIND_LISTS) {
    const list = (input as Record<string, unknown>)[kind];
    const have = known[kind] as unknown as readonly Record<string, unknown>[] | undefined;
    if (!Array.isArray(list) || have === undefined || have.length === 0) continue;
    const byKey = new Map<unknown, Record<string, unknown>>();
    for (const e of have) byKey.set(e[key], e);
    let copy: unknown[] | undefined;
    for (let i = 0; i < list.length; i++) {
      const e: unknown = list[i];
      if (typeof e !== 'object' || e === null) continue;
      const k = (e as Record<string, unknown>)[key];
      const old = typeof k === 'string' ? byKey.get(k) : undefined;
      if (old === undefined || old === e || !hasPassed(old, items) || !deepEqual(old, e)) continue;
      (copy ??= list.slice())[i] = old;
    }
    if (copy !== undefined) (out ??= { ...(input as Record<string, unknown>) })[kind] = copy;
  }
  return out ?? input;
}

/**
 * `known`: a document whose entities passed (the store's head); the input's entities equal to them are
 * taken as they are (withKnownEntities).
 */
export function checkDocument(input: unknown, plugins: ReadonlyMap<string, PluginDefinition>, known?: ConfigDocument): CheckResult {
  // A document that already passed the schema (the admin API checked it, the store checks it again) is
  // not validated twice: at 10,000 routes that is 0.2–0.8 s. Its own objects are never changed here;
  // what this function normalises (plugin configs) goes into copies.
  let doc: ConfigDocument;
  if (hasPassed(input, ConfigDocumentSchema)) {
    doc = markValidated({ ...(input as ConfigDocument) }, ConfigDocumentSchema);
  } else {
    // Entities known to have passed (a store's head document with one entity changed) are not validated again.
    const v = validateChanged(ConfigDocumentSchema, known === undefined ? input : withKnownEntities(input, known));
    if (!v.ok) return v;
    doc = v.value;
  }
  const issues: ValidationIssue[] = [];

  const uniq = (items: readonly Record<string, unknown>[], key: string, at: string) => {
    const seen = new Set<unknown>();
    items.forEach((e, i) => {
      if (seen.has(e[key])) issues.push({ path: `/${at}/${i}/${key}`, message: `duplicate ${key} '${String(e[key])}'` });
      seen.add(e[key]);
    });
    return seen;
  };
  const services = uniq(doc.services, 'name', 'services');
  const routes = uniq(doc.routes, 'name', 'routes');
  uniq(doc.upstreams, 'name', 'upstreams');
  const consumers = uniq(doc.consumers, 'username', 'consumers');

  doc.services.forEach((s, i) => {
    if (!s.url && !s.host) issues.push({ path: `/services/${i}`, message: 'needs `url` or `host`' });
    if (s.url && (s.host || s.port || s.protocol || s.path)) {
      issues.push({ path: `/services/${i}/url`, message: '`url` cannot be combined with protocol/host/port/path' });
    }
  });

  doc.upstreams.forEach((u, i) => {
    if (u.hash_on === 'header' && !u.hash_on_header) issues.push({ path: `/upstreams/${i}/hash_on_header`, message: 'required when hash_on is `header`' });
    if (u.hash_on === 'cookie' && !u.hash_on_cookie) issues.push({ path: `/upstreams/${i}/hash_on_cookie`, message: 'required when hash_on is `cookie`' });
    if (u.algorithm === 'consistent-hashing' && u.hash_on === 'none') {
      issues.push({ path: `/upstreams/${i}/hash_on`, message: 'consistent-hashing needs hash_on' });
    }
    const seen = new Set<string>();
    u.targets.forEach((t, j) => {
      if (seen.has(t.target)) issues.push({ path: `/upstreams/${i}/targets/${j}/target`, message: `duplicate target '${t.target}'` });
      seen.add(t.target);
    });
  });

  doc.routes.forEach((r, i) => {
    if (r.service !== undefined && !services.has(r.service)) {
      issues.push({ path: `/routes/${i}/service`, message: `service '${r.service}' does not exist` });
    }
    r.paths.forEach((p, j) => {
      try {
        const m = parsePathMatcher(p);
        if (m.kind !== 'regex' && !m.path.startsWith('/')) issues.push({ path: `/routes/${i}/paths/${j}`, message: 'a path must start with `/`, `=/` or `~`' });
      } catch (e) {
        issues.push({ path: `/routes/${i}/paths/${j}`, message: `invalid regex: ${(e as Error).message}` });
      }
    });
    for (const [name, values] of Object.entries(r.headers ?? {})) {
      values.forEach((val, j) => {
        if (!val.startsWith('~')) return;
        try {
          new RegExp(val.startsWith('~*') ? val.slice(2) : val.slice(1));
        } catch (e) {
          issues.push({ path: `/routes/${i}/headers/${name}/${j}`, message: `invalid regex: ${(e as Error).message}` });
        }
      });
    }
  });

  const instances = new Set<string>();
  if (doc.plugins.length) doc.plugins = doc.plugins.slice();
  doc.plugins.forEach((p, i) => {
    const at = `/plugins/${i}`;
    const def = plugins.get(p.name);
    if (!def) {
      issues.push({ path: `${at}/name`, message: `unknown plugin '${p.name}'` });
      return;
    }
    if (p.service !== undefined && !services.has(p.service)) issues.push({ path: `${at}/service`, message: `service '${p.service}' does not exist` });
    if (p.route !== undefined && !routes.has(p.route)) issues.push({ path: `${at}/route`, message: `route '${p.route}' does not exist` });
    if (p.consumer !== undefined && !consumers.has(p.consumer)) issues.push({ path: `${at}/consumer`, message: `consumer '${p.consumer}' does not exist` });
    const scope = p.consumer !== undefined ? 'consumer' : p.route !== undefined ? 'route' : p.service !== undefined ? 'service' : 'global';
    if (!def.scopes.includes(scope)) issues.push({ path: at, message: `plugin '${p.name}' cannot be applied at ${scope} scope` });
    const key = pluginInstanceKey(p);
    if (instances.has(key)) issues.push({ path: at, message: `plugin '${p.name}' is already applied at this scope` });
    instances.add(key);
    if (hasPassed(p.config, def.schema)) return;
    const c = validate(def.schema, p.config);
    if (c.ok) doc.plugins[i] = { ...p, config: c.value as Record<string, unknown> };
    else for (const issue of c.issues) issues.push({ path: `${at}/config${issue.path === '/' ? '' : issue.path}`, message: issue.message });
  });

  checkCredentials(doc, consumers, issues);
  checkCertificates(doc, issues);

  return issues.length ? { ok: false, issues } : { ok: true, document: doc };
}

/** Certificates (issue 9): unique names, one default at most, each server name on one certificate. */
function checkCertificates(doc: ConfigDocument, issues: ValidationIssue[]): void {
  const names = new Set<string>();
  const snis = new Map<string, string>();
  let defaultAt: string | undefined;
  (doc.certificates ?? []).forEach((c, i) => {
    const at = `/certificates/${i}`;
    if (names.has(c.name)) issues.push({ path: `${at}/name`, message: `duplicate name '${c.name}'` });
    names.add(c.name);
    if (c.default) {
      if (defaultAt !== undefined) issues.push({ path: `${at}/default`, message: `certificate '${defaultAt}' is already the default` });
      defaultAt ??= c.name;
    }
    c.snis.forEach((sni, j) => {
      const lc = sni.toLowerCase();
      const owner = snis.get(lc);
      if (owner !== undefined) issues.push({ path: `${at}/snis/${j}`, message: `'${sni}' is already served by certificate '${owner}'` });
      else snis.set(lc, c.name);
    });
  });
}

/** Credentials (issue 3): consumer references, unique ids and lookup keys, the fields each kind needs. */
function checkCredentials(doc: ConfigDocument, consumers: ReadonlySet<unknown>, issues: ValidationIssue[]): void {
  const ids = new Set<string>();
  const lookup = new Set<string>();
  const owners = new Map<string, string>();
  (doc.credentials ?? []).forEach((c, i) => {
    const at = `/credentials/${i}`;
    if (!consumers.has(c.consumer)) issues.push({ path: `${at}/consumer`, message: `consumer '${c.consumer}' does not exist` });
    if (ids.has(c.id)) issues.push({ path: `${at}/id`, message: `duplicate id '${c.id}'` });
    ids.add(c.id);
    const need = (field: keyof typeof c, why: string) => {
      if (c[field] === undefined) issues.push({ path: `${at}/${field}`, message: `required for ${c.kind} credentials: ${why}` });
    };
    if (c.kind === 'key-auth') need('key_hash', 'the keyed hash of the API key');
    else need('key', 'the public identifier');
    if (c.kind === 'basic-auth') need('secret_hash', 'the scrypt hash of the password');
    if (c.kind === 'hmac-auth') need('secret_encrypted', 'the encrypted secret');
    if (c.kind === 'jwt') {
      need('algorithm', 'the algorithm pinned to this key');
      if (c.secret_encrypted === undefined && c.rsa_public_key === undefined) issues.push({ path: at, message: 'a jwt credential needs secret_encrypted or rsa_public_key' });
    }
    // A user name / iss may be shared by two credentials of the SAME consumer (rotation overlap), never across consumers.
    const k = c.kind === 'key-auth' ? `hash\0${c.key_hash ?? ''}` : `${c.kind}\0${c.key ?? ''}\0${c.consumer}`;
    const other = c.kind === 'key-auth' ? undefined : owners.get(`${c.kind}\0${c.key ?? ''}`);
    if (other !== undefined && other !== c.consumer) issues.push({ path: `${at}/key`, message: `${c.kind} key '${c.key ?? ''}' belongs to consumer '${other}'` });
    else if (c.kind !== 'key-auth') owners.set(`${c.kind}\0${c.key ?? ''}`, c.consumer);
    if (c.kind === 'key-auth' && lookup.has(k)) issues.push({ path: `${at}/${c.kind === 'key-auth' ? 'key_hash' : 'key'}`, message: `another ${c.kind} credential has the same ${c.kind === 'key-auth' ? 'key' : 'key value'}` });
    lookup.add(k);
  });
}
