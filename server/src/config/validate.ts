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
 * TypeBox's `Value.Default` (and `defaultsFor`, which gives its results) merges an object into an array default with `Object.assign`, so
 * `{"routes": {"length": 1e9}}` would allocate and walk a billion-slot array, and a non-integer
 * `length` throws. Before defaults are filled, this finds every place where an object stands where
 * a defaulted array belongs (or the other way round) and reports it as an ordinary issue.
 */
function shapeIssues(schema: TSchema, value: unknown, path: string, out: ValidationIssue[]): void {
  const got = shapeOf(value);
  if (!got || out.length >= MAX_ISSUES) return;
  const want = shapeOf((schema as { default?: unknown }).default);
  if (want && want !== got) {
    out.push({ path: path || '/', message: `Expected ${want}` });
    return;
  }
  const s = schema as TSchema & Record<string, unknown>;
  switch (s[Kind]) {
    case 'Object': {
      if (got !== 'object') return;
      const props = s.properties as Record<string, TSchema>;
      const extra = s.additionalProperties as TSchema | boolean | undefined;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const sub = Object.hasOwn(props, k) ? props[k] : typeof extra === 'object' ? extra : undefined;
        if (sub) shapeIssues(sub, v, `${path}/${escapePointer(k)}`, out);
      }
      return;
    }
    case 'Record': {
      if (got !== 'object') return;
      const [pattern, sub] = Object.entries(s.patternProperties as Record<string, TSchema>)[0]!;
      const re = new RegExp(pattern);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (re.test(k)) shapeIssues(sub, v, `${path}/${escapePointer(k)}`, out);
      return;
    }
    case 'Array':
      if (got === 'array') (value as unknown[]).forEach((v, i) => shapeIssues(s.items as TSchema, v, `${path}/${i}`, out));
      return;
    case 'Tuple':
      if (got === 'array') ((s.items as TSchema[] | undefined) ?? []).forEach((sub, i) => shapeIssues(sub, (value as unknown[])[i], `${path}/${i}`, out));
      return;
    // Default visits every branch of a union and every part of an intersection, whichever matches.
    case 'Union':
      for (const sub of s.anyOf as TSchema[]) shapeIssues(sub, value, path, out);
      return;
    case 'Intersect':
      for (const sub of s.allOf as TSchema[]) shapeIssues(sub, value, path, out);
      return;
  }
}

/**
 * Values validate() returned, with the schema they passed. A 10,000-route document takes 0.2–0.8 s to
 * validate, and one apply used to validate the same objects up to six times (the admin check, both sides
 * of the admin diff, the store's check, both sides of the store's diff): a value known to have passed is
 * not checked again. Only objects made by validate (or marked by code that derived one from such an object
 * without changing its shape) are in here; anything read from a store or a request is validated anew.
 */
const passed = new WeakMap<object, TSchema>();

export function markValidated<T extends object>(value: T, schema: TSchema): T {
  passed.set(value, schema);
  return value;
}

export function hasPassed(value: unknown, schema: TSchema): boolean {
  return typeof value === 'object' && value !== null && passed.get(value) === schema;
}

/** Validates a copy of `input` with defaults applied; the input itself is never mutated. */
export function validate<S extends TSchema>(schema: S, input: unknown): Validated<Static<S>> {
  const shape: ValidationIssue[] = [];
  shapeIssues(schema, input, '', shape);
  if (shape.length) return { ok: false, issues: dedupe(shape) };
  const value = defaultsFor(schema)(Value.Clone(input));
  const check = checker(schema);
  if (check.Check(value)) {
    if (typeof value === 'object' && value !== null) passed.set(value, schema);
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
