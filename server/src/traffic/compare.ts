/**
 * Compares a primary response with its shadow: status, selected headers, body (a structural diff when
 * both bodies are JSON, with ignored JSON Pointers; byte equality otherwise) and latency. Runs after both
 * responses are complete, off the response path of the client.
 */
import type { OutgoingHttpHeaders } from 'node:http';

export type DifferenceKind = 'status' | 'header' | 'body' | 'latency' | 'error';

export interface Difference {
  kind: DifferenceKind;
  /** JSON Pointer of a body difference ('' for the whole body). */
  pointer?: string;
  /** Header name of a header difference. */
  name?: string;
  /** The primary's value (JSON text excerpt for bodies); absent when the primary has none. */
  primary?: unknown;
  /** The shadow's value; absent when the shadow has none. */
  shadow?: unknown;
}

/** One side of a comparison as recorded in a sample. */
export interface ResponseSide {
  status: number;
  latency_ms: number;
  headers?: Record<string, string>;
  body_bytes?: number;
  body_excerpt?: string;
  /** Why the side has no complete response (shadow failure, primary cut short). */
  error?: string;
}

/** Headers whose values never appear in samples (compared, but recorded as `[redacted]`). */
export const SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);
export const REDACTED = '[redacted]';
/** Bound of a value excerpt in a difference, and of a body excerpt in a sample. */
export const VALUE_EXCERPT = 256;
export const BODY_EXCERPT = 1024;
/** Differences recorded per sample (the comparison stops collecting after that many). */
export const MAX_DIFFERENCES = 20;

/**
 * Ignored body locations: JSON Pointers (RFC 6901) where a `*` segment matches any one key or index.
 * A pointer also ignores everything below it (`/meta` ignores `/meta/generated_at`).
 */
export class IgnorePaths {
  private readonly patterns: string[][];
  constructor(pointers: readonly string[]) {
    this.patterns = pointers.map(parsePointer);
  }
  get size(): number {
    return this.patterns.length;
  }
  matches(path: readonly string[]): boolean {
    outer: for (const p of this.patterns) {
      if (p.length > path.length) continue;
      for (let i = 0; i < p.length; i++) if (p[i] !== '*' && p[i] !== path[i]) continue outer;
      return true;
    }
    return false;
  }
}

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`'${pointer}' is not a JSON Pointer (it must start with '/')`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function formatPointer(path: readonly string[]): string {
  let out = '';
  for (const s of path) out += '/' + s.replace(/~/g, '~0').replace(/\//g, '~1');
  return out;
}

function excerpt(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > VALUE_EXCERPT ? `${s.slice(0, VALUE_EXCERPT)}…` : s;
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Structural differences between two parsed JSON values, outside the ignored paths; at most `max`. */
export function diffJson(a: unknown, b: unknown, ignore: IgnorePaths, max = MAX_DIFFERENCES): Difference[] {
  const out: Difference[] = [];
  walk(a, b, [], ignore, out, max);
  return out;
}

function walk(a: unknown, b: unknown, path: string[], ignore: IgnorePaths, out: Difference[], max: number): void {
  if (out.length >= max) return;
  if (ignore.size > 0 && ignore.matches(path)) return;
  if (a === b) return;
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb || (ka !== 'object' && ka !== 'array')) {
    out.push({ kind: 'body', pointer: formatPointer(path), primary: excerpt(a), shadow: excerpt(b) });
    return;
  }
  if (ka === 'array') {
    const x = a as unknown[];
    const y = b as unknown[];
    const n = Math.max(x.length, y.length);
    for (let i = 0; i < n && out.length < max; i++) {
      path.push(String(i));
      if (i >= x.length || i >= y.length) {
        if (!(ignore.size > 0 && ignore.matches(path))) out.push(missing(path, i < x.length ? x[i] : undefined, i < y.length ? y[i] : undefined));
      } else walk(x[i], y[i], path, ignore, out, max);
      path.pop();
    }
    return;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k of Object.keys(x)) {
    if (out.length >= max) return;
    path.push(k);
    if (!Object.hasOwn(y, k)) {
      if (!(ignore.size > 0 && ignore.matches(path))) out.push(missing(path, x[k], undefined));
    } else walk(x[k], y[k], path, ignore, out, max);
    path.pop();
  }
  for (const k of Object.keys(y)) {
    if (out.length >= max) return;
    if (Object.hasOwn(x, k)) continue;
    path.push(k);
    if (!(ignore.size > 0 && ignore.matches(path))) out.push(missing(path, undefined, y[k]));
    path.pop();
  }
}

function missing(path: readonly string[], a: unknown, b: unknown): Difference {
  const d: Difference = { kind: 'body', pointer: formatPointer(path) };
  if (a !== undefined) d.primary = excerpt(a);
  if (b !== undefined) d.shadow = excerpt(b);
  return d;
}

function tryJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  if (body.length === 0) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

export function bodyExcerpt(body: Buffer): string {
  return body.length > BODY_EXCERPT ? `${body.subarray(0, BODY_EXCERPT).toString('utf8')}…` : body.toString('utf8');
}

/**
 * Body differences: a structural diff when `json` and both bodies parse as JSON, else one difference
 * (pointer '') when the bytes differ.
 */
export function diffBodies(a: Buffer, b: Buffer, json: boolean, ignore: IgnorePaths): Difference[] {
  if (json) {
    const pa = tryJson(a);
    if (pa.ok) {
      const pb = tryJson(b);
      if (pb.ok) return diffJson(pa.value, pb.value, ignore);
    }
  }
  if (a.equals(b)) return [];
  return [{ kind: 'body', pointer: '', primary: bodyExcerpt(a).slice(0, VALUE_EXCERPT), shadow: bodyExcerpt(b).slice(0, VALUE_EXCERPT) }];
}

export function headerValue(h: Readonly<OutgoingHttpHeaders> | undefined, name: string): string | undefined {
  const v = h?.[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : String(v);
}

/** The selected headers of a response (lower-case names), as compared; `redact` before recording them. */
export function selectHeaders(h: Readonly<OutgoingHttpHeaders> | undefined, names: readonly string[]): Record<string, string> | undefined {
  if (names.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = headerValue(h, n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}

/** Differences of the selected headers (lower-case names); secret values are compared but not recorded. */
export function diffHeaders(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined, names: readonly string[]): Difference[] {
  const out: Difference[] = [];
  for (const n of names) {
    const x = a?.[n];
    const y = b?.[n];
    if (x === y) continue;
    const d: Difference = { kind: 'header', name: n };
    const secret = SECRET_HEADERS.has(n);
    if (x !== undefined) d.primary = secret ? REDACTED : x;
    if (y !== undefined) d.shadow = secret ? REDACTED : y;
    out.push(d);
  }
  return out;
}

/** Redacts the secret headers of a header map as recorded in a sample. */
export function redact(h: Record<string, string> | undefined): Record<string, string> | undefined {
  if (h === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const k in h) out[k] = SECRET_HEADERS.has(k) ? REDACTED : h[k]!;
  return out;
}
