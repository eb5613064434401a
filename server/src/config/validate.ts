/**
 * Structural validation of configuration input against the TypeBox schemas: fills defaults, then
 * reports every problem (not just the first) with a JSON Pointer into the input, so the CLI, the admin
 * API and the dashboard can all point at the failing field.
 */
import { FormatRegistry, type TSchema, type Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';

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

/** Validates a copy of `input` with defaults applied; the input itself is never mutated. */
export function validate<S extends TSchema>(schema: S, input: unknown): Validated<Static<S>> {
  const value = Value.Default(schema, Value.Clone(input));
  const check = checker(schema);
  if (check.Check(value)) return { ok: true, value: value as Static<S> };
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
