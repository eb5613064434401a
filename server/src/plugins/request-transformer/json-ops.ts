/**
 * JSON body edits shared by request-transformer (`body`) and response-transformer (`json`), compiled
 * once in create(): field paths split into segments, string values parsed as templates, object values
 * pre-serialised (each insertion gets its own copy, so a later edit never mutates the config).
 *
 * A path is `a.b.c`: each segment names an object member, or indexes an array when it is a number.
 * Order, as in Kong: remove → rename → replace → add → append.
 */
import type { RequestContext } from '../types.js';
import { Template } from './template.js';

/** Segments that would reach Object.prototype through a plain assignment. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

type Container = Record<string, unknown> | unknown[];

class Value {
  private constructor(
    /** Primitive values are inserted as they are. */
    private readonly primitive: unknown,
    /** Objects and arrays: parsed again per insertion. */
    private readonly json: string | undefined,
    private readonly template: Template | undefined,
  ) {}

  static of(v: unknown, where: string): Value {
    if (typeof v === 'string') return new Value(v, undefined, Template.hasReference(v) ? parseTemplate(v, where) : undefined);
    if (v !== null && typeof v === 'object') return new Value(undefined, JSON.stringify(v), undefined);
    if (v === undefined) throw new Error(`${where}: a value is required`);
    return new Value(v, undefined, undefined);
  }

  /** The value to insert; undefined when a template's lookup found nothing (the edit is skipped). */
  get(ctx: RequestContext, query: string): unknown {
    if (this.template !== undefined) return this.template.render(ctx, query);
    if (this.json !== undefined) return JSON.parse(this.json);
    return this.primitive;
  }
}

function parseTemplate(v: string, where: string): Template {
  try {
    return Template.parse(v);
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
  }
}

export interface JsonOpsConfig {
  remove: readonly string[];
  rename: Readonly<Record<string, string>>;
  replace: Readonly<Record<string, unknown>>;
  add: Readonly<Record<string, unknown>>;
  append: Readonly<Record<string, unknown>>;
}

export class JsonOps {
  private constructor(
    private readonly remove: readonly (readonly string[])[],
    /** Pairs [from, to]. */
    private readonly rename: readonly (readonly [readonly string[], readonly string[]])[],
    private readonly replace: readonly (readonly [readonly string[], Value])[],
    private readonly add: readonly (readonly [readonly string[], Value])[],
    private readonly append: readonly (readonly [readonly string[], Value])[],
  ) {}

  /** Undefined when the config edits nothing (the body is then never buffered). */
  static compile(c: JsonOpsConfig, field: string): JsonOps | undefined {
    const remove = c.remove.map((p) => splitPath(p, `remove.${field}`));
    const rename = Object.entries(c.rename).map(([from, to]) => [splitPath(from, `rename.${field}`), splitPath(to, `rename.${field}`)] as const);
    const values = (op: 'replace' | 'add' | 'append') =>
      Object.entries(c[op]).map(([p, v]) => [splitPath(p, `${op}.${field}`), Value.of(v, `${op}.${field}.${p}`)] as const);
    const ops = new JsonOps(remove, rename, values('replace'), values('add'), values('append'));
    return remove.length + rename.length + ops.replace.length + ops.add.length + ops.append.length === 0 ? undefined : ops;
  }

  /** Edits `doc` (an object or array root) in place; returns whether anything changed. */
  apply(doc: unknown, ctx: RequestContext, query: string): boolean {
    let changed = false;
    for (const path of this.remove) changed = removeAt(doc, path) || changed;
    for (const [from, to] of this.rename) {
      const v = getAt(doc, from);
      if (v === undefined) continue;
      removeAt(doc, from);
      changed = setAt(doc, to, v) || changed;
    }
    for (const [path, value] of this.replace) {
      if (getAt(doc, path) === undefined) continue;
      const v = value.get(ctx, query);
      if (v !== undefined) changed = setAt(doc, path, v) || changed;
    }
    for (const [path, value] of this.add) {
      if (getAt(doc, path) !== undefined) continue;
      const v = value.get(ctx, query);
      if (v !== undefined) changed = setAt(doc, path, v) || changed;
    }
    for (const [path, value] of this.append) {
      const v = value.get(ctx, query);
      if (v === undefined) continue;
      const cur = getAt(doc, path);
      if (cur === undefined) changed = setAt(doc, path, v) || changed;
      else if (Array.isArray(cur)) {
        cur.push(v);
        changed = true;
      } else changed = setAt(doc, path, [cur, v]) || changed;
    }
    return changed;
  }
}

function splitPath(p: string, where: string): string[] {
  const segs = p.split('.');
  for (const s of segs) {
    if (s === '') throw new Error(`${where}: '${p}' has an empty segment`);
    if (FORBIDDEN.has(s)) throw new Error(`${where}: '${p}' uses the reserved name '${s}'`);
  }
  return segs;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The array index a segment names, or -1. */
function index(seg: string, arr: unknown[]): number {
  const c = seg.charCodeAt(0);
  if (c < 48 || c > 57) return -1;
  const n = Number(seg);
  return Number.isInteger(n) && n < arr.length ? n : -1;
}

function child(v: unknown, seg: string): unknown {
  if (isObject(v)) return Object.prototype.hasOwnProperty.call(v, seg) ? v[seg] : undefined;
  if (Array.isArray(v)) {
    const i = index(seg, v);
    return i === -1 ? undefined : v[i];
  }
  return undefined;
}

function getAt(doc: unknown, path: readonly string[]): unknown {
  let v = doc;
  for (let i = 0; i < path.length && v !== undefined; i++) v = child(v, path[i]!);
  return v;
}

function removeAt(doc: unknown, path: readonly string[]): boolean {
  const parent = getAt(doc, path.slice(0, -1)) as Container | undefined;
  const last = path[path.length - 1]!;
  if (isObject(parent)) {
    if (!Object.prototype.hasOwnProperty.call(parent, last)) return false;
    delete parent[last];
    return true;
  }
  if (Array.isArray(parent)) {
    const i = index(last, parent);
    if (i === -1) return false;
    parent.splice(i, 1);
    return true;
  }
  return false;
}

/** Sets the value at `path`, creating missing intermediate objects; false when a non-container is in the way. */
function setAt(doc: unknown, path: readonly string[], value: unknown): boolean {
  let v = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i]!;
    let next = child(v, seg);
    if (next === undefined) {
      if (!isObject(v)) return false;
      next = v[seg] = {};
    }
    v = next;
  }
  const last = path[path.length - 1]!;
  if (isObject(v)) {
    v[last] = value;
    return true;
  }
  if (Array.isArray(v)) {
    const i = index(last, v);
    if (i === -1) return false;
    v[i] = value;
    return true;
  }
  return false;
}

/** `application/json` or any `+json` type (parameters ignored). */
export function isJsonContentType(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const semi = v.indexOf(';');
  const t = (semi === -1 ? v : v.slice(0, semi)).trim().toLowerCase();
  return t === 'application/json' || (t.startsWith('application/') && t.endsWith('+json'));
}

/** No content coding, or `identity`: the bytes are the JSON text itself. */
export function isIdentityEncoding(v: unknown): boolean {
  return v === undefined || (typeof v === 'string' && (v === '' || v.trim().toLowerCase() === 'identity'));
}
