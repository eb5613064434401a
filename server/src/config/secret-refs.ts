/**
 * Secret references in declarative config files: a string value that is exactly `{env://NAME}` or
 * `{file://path}` is replaced by the environment variable or the file's content (one trailing newline
 * trimmed, so `echo secret > file` works) before the document is validated. The CLI resolves them against
 * its own environment before sending; the server resolves them when it loads GATEWAY_CONFIG at start or
 * reload. The admin API never resolves them: a body that could name server-side variables or files would
 * let any operator read them back through an export.
 *
 * The reverse direction is `redactSecrets`: what `gatehouse export` writes unless --include-secrets, each
 * secret-looking plugin value replaced by an `{env://…}` reference, so the file can be committed and
 * re-applied with the variables set, and applying it without them fails loudly instead of storing a
 * placeholder as the password.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { escapePointer, type ConfigDiff } from './diff.js';
import type { ValidationIssue } from './validate.js';

const REF = /^\{(env|file):\/\/(.*)\}$/s;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A secret is small; a larger file is a mistake (a wrong path), not a key. */
const MAX_SECRET_FILE_BYTES = 1024 * 1024;

export type SecretRef = { kind: 'env'; name: string } | { kind: 'file'; path: string };

/** The reference a whole string value names, or undefined for an ordinary value. */
export function parseSecretRef(value: string): SecretRef | undefined {
  const m = REF.exec(value);
  if (!m) return undefined;
  return m[1] === 'env' ? { kind: 'env', name: m[2]! } : { kind: 'file', path: m[2]! };
}

export interface SecretSources {
  env: Readonly<Record<string, string | undefined>>;
  /** `{file://relative}` is read relative to this directory: the config file's own. */
  baseDir: string;
}

export type ResolvedSecrets = { ok: true; value: unknown; resolved: string[] } | { ok: false; issues: ValidationIssue[] };

/**
 * Returns a copy of `input` with every reference replaced, and the JSON Pointers it replaced; or every
 * reference that failed, each at its pointer. Object keys are never references.
 */
export async function resolveSecretRefs(input: unknown, sources: SecretSources): Promise<ResolvedSecrets> {
  const issues: ValidationIssue[] = [];
  const resolved: string[] = [];
  const files = new Map<string, Promise<string>>();

  async function one(ref: SecretRef, path: string): Promise<string | undefined> {
    if (ref.kind === 'env') {
      if (!ENV_NAME.test(ref.name)) {
        issues.push({ path, message: `'${ref.name}' is not an environment variable name` });
        return undefined;
      }
      const v = sources.env[ref.name];
      if (v === undefined) issues.push({ path, message: `environment variable ${ref.name} is not set` });
      return v;
    }
    if (ref.path === '') {
      issues.push({ path, message: '{file://} needs a path' });
      return undefined;
    }
    const full = isAbsolute(ref.path) ? ref.path : resolve(sources.baseDir, ref.path);
    let p = files.get(full);
    if (!p) files.set(full, (p = readSecretFile(full)));
    try {
      return (await p).replace(/\r?\n$/, '');
    } catch (e) {
      issues.push({ path, message: `cannot read secret file ${full}: ${(e as Error).message}` });
      return undefined;
    }
  }

  async function walk(v: unknown, path: string): Promise<unknown> {
    if (typeof v === 'string') {
      const ref = parseSecretRef(v);
      if (!ref) return v;
      const got = await one(ref, path || '/');
      if (got !== undefined) resolved.push(path || '/');
      return got ?? v;
    }
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (let i = 0; i < v.length; i++) out.push(await walk(v[i], `${path}/${i}`));
      return out;
    }
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = await walk(x, `${path}/${escapePointer(k)}`);
      return out;
    }
    return v;
  }

  const value = await walk(input, '');
  return issues.length ? { ok: false, issues } : { ok: true, value, resolved };
}

async function readSecretFile(full: string): Promise<string> {
  const info = await stat(full);
  if (!info.isFile()) throw new Error('not a regular file');
  if (info.size > MAX_SECRET_FILE_BYTES) throw new Error(`${info.size} bytes; a secret file is at most ${MAX_SECRET_FILE_BYTES}`);
  return readFile(full, 'utf8');
}

/** Field names that hold secrets; the same rule as the audit log's redaction (admin/audit/redact.ts). */
const SECRET_FIELD = /(?:^|_)(?:password|passwd|secret|token|key|hash|encrypted|authorization|cookie|credential)s?$/i;

export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}

export interface RedactedSecret {
  /** JSON Pointer of the value in the document. */
  path: string;
  /** The environment variable the exported file now refers to. */
  env: string;
}

/**
 * Replaces the secret values an exported document holds in clear: string values under a secret-looking
 * name inside plugin `config` objects and upstream health-check probe `headers`. Credentials are left as
 * they are: the store keeps them hashed or encrypted (schema.ts CredentialSchema), never in clear, and a
 * file without them could not restore them. Returns a copy.
 */
export function redactSecrets<T>(doc: T): { document: T; redacted: RedactedSecret[] } {
  const copy = structuredClone(doc) as Record<string, unknown>;
  const redacted: RedactedSecret[] = [];
  const used = new Set<string>();
  const envName = (parts: string[]) => {
    const base = `GATEHOUSE_SECRET_${parts.join('_')}`.toUpperCase().replace(/[^A-Z0-9_]+/g, '_').replace(/_+/g, '_');
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
    used.add(name);
    return name;
  };
  const walk = (v: unknown, path: string, parts: string[], key: string | undefined): unknown => {
    if (typeof v === 'string') {
      if (key === undefined || !isSecretField(key) || v === '' || parseSecretRef(v)) return v;
      const env = envName(parts);
      redacted.push({ path, env });
      return `{env://${env}}`;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}/${i}`, [...parts, String(i)], key));
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) o[k] = walk(o[k], `${path}/${escapePointer(k)}`, [...parts, k], k);
    }
    return v;
  };
  const plugins = Array.isArray(copy.plugins) ? (copy.plugins as Record<string, unknown>[]) : [];
  plugins.forEach((p, i) => {
    const scope = (['service', 'route', 'consumer'] as const).flatMap((s) => (typeof p[s] === 'string' ? [s, p[s] as string] : []));
    if (p.config && typeof p.config === 'object') walk(p.config, `/plugins/${i}/config`, [String(p.name), ...scope], undefined);
  });
  const upstreams = Array.isArray(copy.upstreams) ? (copy.upstreams as Record<string, unknown>[]) : [];
  upstreams.forEach((u, i) => {
    const active = (u.healthchecks as { active?: { headers?: unknown } } | undefined)?.active;
    if (active?.headers && typeof active.headers === 'object') walk(active.headers, `/upstreams/${i}/healthchecks/active/headers`, ['upstream', String(u.name), 'probe'], undefined);
  });
  return { document: copy as T, redacted };
}

const HIDDEN = '(secret)';

/** Strings under a secret name (or anywhere below `secret`) become `(secret)`, at any depth. */
function hide(v: unknown, secret: boolean): unknown {
  if (typeof v === 'string') return secret ? HIDDEN : v;
  if (Array.isArray(v)) return v.map((x) => hide(x, secret));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = hide(x, secret || isSecretField(k));
    return out;
  }
  return v;
}

/** A copy of the diff in which secret values of plugins and upstreams (named as redactSecrets) print as `(secret)`. */
export function maskDiffSecrets(diff: ConfigDiff): ConfigDiff {
  return {
    ...diff,
    updated: diff.updated.map((c) => {
      if (!c.fields || (c.kind !== 'plugins' && c.kind !== 'upstreams')) return c;
      const fields = c.fields.map((f) => {
        const secret = f.path.split('/').some((t) => isSecretField(t.replace(/~1/g, '/').replace(/~0/g, '~')));
        return { ...f, before: hide(f.before, secret), after: hide(f.after, secret) };
      });
      return { ...c, fields };
    }),
  };
}
