/**
 * Structural validation of configuration input against the TypeBox schemas: fills defaults, then
 * reports every problem (not just the first) with a JSON Pointer into the input, so the CLI, the admin
 * API and the dashboard can all point at the failing field.
 */
import { FormatRegistry, Kind, type TSchema, type Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { defaultsFor } from './defaults.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (v) => UUID.test(v));
// RFC 3339 timestamps (credential expiry and the like); Date.parse alone accepts too much.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)));
if (!FormatRegistry.Has('uri'))
  FormatRegistry.Set('uri', (v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  });

export interface ValidationIssue {
  /** JSON Pointer (RFC 6901) into the validated input, e.g. `/routes/3/paths/0`. */
  path: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();
function checker<S extends TSchema>(schema: S): TypeCheck<S> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c as TypeCheck<S>;
}

const MAX_ISSUES = 200;

type Shape = 'array' | 'object' | undefined;
const shapeOf = (v: unknown): Shape => (Array.isArray(v) ? 'array' : v !== null && typeof v === 'object' ? 'object' : undefined);
const escapePointer = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Whether `schema`, or a schema below it that shapeIssues descends into, has an array or object default:
 * nothing else can be misshapen in a way that matters, so shapeIssues skips the rest of the document
 * (a 10,000-route document is 100,000 values; fewer than half are under such a schema).
 */
const shapedBelow = new WeakMap<TSchema, boolean>();
function hasShapedDefault(schema: TSchema): boolean {
  let r = shapedBelow.get(schema);
  if (r !== undefined) return r;
  const s = schema as TSchema & Record<string, unknown>;
  let subs: TSchema[] = [];
  switch (s[Kind]) {
    case 'Object': {
      subs = Object.values(s.properties as Record<string, TSchema>);
      if (typeof s.additionalProperties === 'object') subs.push(s.additionalProperties as TSchema);
      break;
    }
    case 'Record':
      subs = Object.values(s.patternProperties as Record<string, TSchema>);
      break;
    case 'Array':
      subs = [s.items as TSchema];
      break;
    case 'Tuple':
      subs = (s.items as TSchema[] | undefined) ?? [];
      break;
    case 'Union':
      subs = s.anyOf as TSchema[];
      break;
    case 'Intersect':
      subs = s.allOf as TSchema[];
      break;
  }
  // Shared sub-schemas are common (every route's `tags`); TypeBox's recursive types go through Ref/This, which are not descended into.
  r = shapeOf(s.default) !== undefined || subs.some(hasShapedDefault);
  shapedBelow.set(schema, r);
  return r;
}

const recordKeys = new WeakMap<TSchema, [RegExp, TSchema]>();
function recordKey(s: TSchema): [RegExp, TSchema] {
  let r = recordKeys.get(s);
  if (!r) {
    const [pattern, sub] = Object.entries((s as unknown as { patternProperties: Record<string, TSchema> }).patternProperties)[0]!;
    r = [new RegExp(pattern), sub];
    recordKeys.set(s, r);
  }
  return r;
}

/** The JSON Pointer of a path kept as a stack of keys; built only for an issue. */
const pointer = (at: readonly (string | number)[]) => (at.length ? at.map((k) => `/${typeof k === 'number' ? k : escapePointer(k)}`).join('') : '/');

/**
 * TypeBox's `Value.Default` (and `defaultsFor`, which gives its results) merges an object into an array default with `Object.assign`, so
 * `{"routes": {"length": 1e9}}` would allocate and walk a billion-slot array, and a non-integer
 * `length` throws. Before defaults are filled, this finds every place where an object stands where
 * a defaulted array belongs (or the other way round) and reports it as an ordinary issue.
 */
function shapeIssues(schema: TSchema, value: unknown, at: (string | number)[], out: ValidationIssue[]): void {
  const got = shapeOf(value);
  if (!got || out.length >= MAX_ISSUES || !hasShapedDefault(schema)) return;
  const want = shapeOf((schema as { default?: unknown }).default);
  if (want && want !== got) {
    out.push({ path: pointer(at), message: `Expected ${want}` });
    return;
  }
  const s = schema as TSchema & Record<string, unknown>;
  switch (s[Kind]) {
    case 'Object': {
      if (got !== 'object') return;
      const props = s.properties as Record<string, TSchema>;
      const extra = s.additionalProperties as TSchema | boolean | undefined;
      const obj = value as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        const sub = Object.hasOwn(props, k) ? props[k] : typeof extra === 'object' ? extra : undefined;
        if (!sub) continue;
        at.push(k);
        shapeIssues(sub, obj[k], at, out);
        at.pop();
      }
      return;
    }
    case 'Record': {
      if (got !== 'object') return;
      const [re, sub] = recordKey(s);
      const obj = value as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        if (!re.test(k)) continue;
        at.push(k);
        shapeIssues(sub, obj[k], at, out);
        at.pop();
      }
      return;
    }
    case 'Array': {
      if (got !== 'array') return;
      const items = value as unknown[];
      for (let i = 0; i < items.length; i++) {
        at.push(i);
        shapeIssues(s.items as TSchema, items[i], at, out);
        at.pop();
      }
      return;
    }
    case 'Tuple': {
      if (got !== 'array') return;
      const subs = (s.items as TSchema[] | undefined) ?? [];
      for (let i = 0; i < subs.length; i++) {
        at.push(i);
        shapeIssues(subs[i]!, (value as unknown[])[i], at, out);
        at.pop();
      }
      return;
    }
    // Default visits every branch of a union and every part of an intersection, whichever matches.
    case 'Union':
      for (const sub of s.anyOf as TSchema[]) shapeIssues(sub, value, at, out);
      return;
    case 'Intersect':
      for (const sub of s.allOf as TSchema[]) shapeIssues(sub, value, at, out);
      return;
  }
}

/** Where `value` has an object for a defaulted array or the other way round (shapeIssues), one issue per path. */
export function misshapen(schema: TSchema, value: unknown): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  shapeIssues(schema, value, [], out);
  return out.length ? dedupe(out) : out;
}

/**
 * Values validate() returned carry the schema they passed. A 10,000-route document takes 0.2–0.8 s to
 * validate, and one apply used to validate the same objects up to six times (the admin check, both sides
 * of the admin diff, the store's check, both sides of the store's diff): a value known to have passed is
 * not checked again. Only objects made by validate (or marked by code that derived one from such an object
 * without changing its shape) are marked; anything read from a store or a request is validated anew.
 *
 * The mark is a private field on the object itself: PassMark's base constructor returns the object it is
 * given, so the field lands on that object. No key, JSON text, spread, structuredClone or TypeBox Clone
 * sees it, and setting or reading it is a property access. It used to be a WeakMap entry: a 10,000-route
 * apply made 20,000 entries and set 30,000 again: ~53 ms of the admin thread in a --cpu-prof of a renaming
 * PUT /config, 11–21 ms with the field (a microbenchmark of the same 30,000 operations: 7–20 against 1–1.5 ms).
 * An object that cannot take a new field (frozen before it was marked) is kept in a WeakMap instead.
 */
class ReturnsGiven {
  constructor(o: object) {
    return o;
  }
}

const frozenPassed = new WeakMap<object, TSchema>();

class PassMark extends ReturnsGiven {
  #schema: TSchema;

  private constructor(o: object, schema: TSchema) {
    super(o);
    this.#schema = schema;
  }

  static get(o: object): TSchema | undefined {
    return #schema in o ? (o as PassMark).#schema : frozenPassed.get(o);
  }

  static set(o: object, schema: TSchema): void {
    if (#schema in o) (o as PassMark).#schema = schema;
    else if (Object.isExtensible(o)) new PassMark(o, schema);
    else frozenPassed.set(o, schema);
  }
}

export function markValidated<T extends object>(value: T, schema: TSchema): T {
  markPassed(value, schema);
  return value;
}

/** An object schema's properties that are arrays of objects (a document's entity lists), with their item schema. */
const partsBySchema = new WeakMap<TSchema, [string, TSchema][]>();
export function arrayParts(schema: TSchema): [string, TSchema][] {
  let parts = partsBySchema.get(schema);
  if (!parts) {
    parts = [];
    const s = schema as TSchema & Record<string, unknown>;
    if (s[Kind] === 'Object') {
      for (const [k, sub] of Object.entries(s.properties as Record<string, TSchema & { items?: TSchema }>)) {
        if (sub[Kind] === 'Array' && sub.items?.[Kind] === 'Object') parts.push([k, sub.items]);
      }
    }
    partsBySchema.set(schema, parts);
  }
  return parts;
}

/** A value that passed `schema`: so did each item of its entity lists, against the list's item schema. */
function markPassed(value: object, schema: TSchema): void {
  PassMark.set(value, schema);
  for (const [k, items] of arrayParts(schema)) {
    const list = (value as Record<string, unknown>)[k];
    if (Array.isArray(list)) for (const x of list) if (typeof x === 'object' && x !== null) PassMark.set(x, items);
  }
}

/**
 * validate(), for input whose entity lists may hold items known to have passed their item schema: a
 * store's head document with one entity added, changed or removed (copyLists in store-common.ts). Only the
 * other items are validated, in a copy of the input whose lists hold just those; the result's lists put
 * them back among the known ones, which are kept as they are (the same objects, as validate would have
 * made them: defaults filled). Issues point into the input, as validate's do. On a 10,000-route document
 * a single-entity write validated everything again: 60–100 ms.
 */
export function validateChanged<S extends TSchema>(schema: S, input: unknown): Validated<Static<S>> {
  const parts = arrayParts(schema);
  if (parts.length === 0 || typeof input !== 'object' || input === null || Array.isArray(input)) return validate(schema, input);
  const whole = input as Record<string, unknown>;
  let shell: Record<string, unknown> | undefined;
  /** Per list: the input index of each item the shell holds. */
  const positions = new Map<string, number[]>();
  for (const [k, items] of parts) {
    const list = whole[k];
    if (!Array.isArray(list)) continue;
    const at: number[] = [];
    const rest: unknown[] = [];
    for (let i = 0; i < list.length; i++) {
      if (hasPassed(list[i], items)) continue;
      at.push(i);
      rest.push(list[i]);
    }
    if (rest.length === list.length) continue;
    shell ??= { ...whole };
    shell[k] = rest;
    positions.set(k, at);
  }
  if (shell === undefined) return validate(schema, input);
  const r = validate(schema, shell);
  if (!r.ok) return { ok: false, issues: r.issues.map((i) => ({ ...i, path: inputPath(i.path, positions) })) };
  const value = r.value as Record<string, unknown>;
  for (const [k, at] of positions) {
    const merged = (whole[k] as unknown[]).slice();
    const checked = value[k] as unknown[];
    for (let j = 0; j < at.length; j++) merged[at[j]!] = checked[j];
    value[k] = merged;
  }
  markPassed(value, schema);
  return { ok: true, value: value as Static<S> };
}

const LIST_ITEM = /^\/([^/]+)\/(\d+)(?=\/|$)/;
function inputPath(path: string, positions: ReadonlyMap<string, number[]>): string {
  const m = LIST_ITEM.exec(path);
  const at = m ? positions.get(m[1]!) : undefined;
  return at && m ? `/${m[1]}/${at[Number(m[2])]}${path.slice(m[0].length)}` : path;
}

export function hasPassed(value: unknown, schema: TSchema): boolean {
  return typeof value === 'object' && value !== null && PassMark.get(value) === schema;
}

/** Validates a copy of `input` with defaults applied; the input itself is never mutated. */
export function validate<S extends TSchema>(schema: S, input: unknown): Validated<Static<S>> {
  const shape = misshapen(schema, input);
  if (shape.length) return { ok: false, issues: shape };
  const value = defaultsFor(schema)(Value.Clone(input));
  const check = checker(schema);
  if (check.Check(value)) {
    if (typeof value === 'object' && value !== null) markPassed(value, schema);
    return { ok: true, value: value as Static<S> };
  }
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const e of check.Errors(value)) {
    // Union failures repeat one problem per branch; one line per path is enough to act on.
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    issues.push({ path: e.path || '/', message: e.message });
    if (issues.length >= MAX_ISSUES) break;
  }
  return { ok: false, issues };
}

function dedupe(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(i.path) && seen.add(i.path));
}
