/**
 * The JSON Schema subset the gateway's TypeBox schemas produce (server/src/config/schema.ts and
 * server/src/plugins/* /schema.ts), and the pure logic the form is built on: which widget a schema gets,
 * the initial value with defaults filled, client-side checks with JSON Pointer paths (the same paths the
 * admin API puts in `errors[]`), and which field an error belongs to.
 */
import type { FieldError } from '../../lib/api-client';

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  $id?: string;
}

export type Widget =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'enum'
  | 'object'
  | 'map'
  | 'array-enum'
  | 'array-scalar'
  | 'array-object'
  | 'variant'
  | 'json';

type Json = Record<string, unknown>;

/** `anyOf`/`oneOf` alternatives, whichever keyword the schema uses. */
export function alternatives(schema: JsonSchema): JsonSchema[] | undefined {
  return schema.anyOf ?? schema.oneOf;
}

/** The allowed values of an enumeration: `enum`, or a union of `const`s (TypeBox's `Union([Literal…])`). */
export function enumValues(schema: JsonSchema): unknown[] | undefined {
  if (schema.enum) return schema.enum;
  if (schema.const !== undefined) return [schema.const];
  const alts = alternatives(schema);
  if (alts && alts.length > 0 && alts.every((a) => a.const !== undefined)) return alts.map((a) => a.const);
  return undefined;
}

/** A union with `null` is an optional value of the other branch; the form shows that branch. */
function withoutNull(schema: JsonSchema): JsonSchema {
  const alts = alternatives(schema);
  if (!alts) return schema;
  const rest = alts.filter((a) => a.type !== 'null');
  if (rest.length === 1 && rest.length !== alts.length) return { ...rest[0], description: schema.description ?? rest[0]!.description, default: schema.default };
  return schema;
}

export function normalize(schema: JsonSchema): JsonSchema {
  return withoutNull(schema);
}

function isScalarSchema(s: JsonSchema): boolean {
  const n = normalize(s);
  return enumValues(n) !== undefined || n.type === 'string' || n.type === 'number' || n.type === 'integer' || n.type === 'boolean';
}

export function widgetOf(input: JsonSchema): Widget {
  const schema = normalize(input);
  if (enumValues(schema)) return 'enum';
  if (alternatives(schema)) return 'variant';
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'integer':
      return 'integer';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array': {
      const items = schema.items ? normalize(schema.items) : undefined;
      if (!items) return 'json';
      if (enumValues(items)) return 'array-enum';
      if (isScalarSchema(items)) return 'array-scalar';
      if (items.type === 'object' && items.properties && !items.patternProperties) return 'array-object';
      return 'json';
    }
    case 'object':
      if (schema.properties) return 'object';
      if (schema.patternProperties) {
        const values = Object.values(schema.patternProperties);
        const value = values[0];
        if (values.length === 1 && value && (isScalarSchema(value) || widgetOf(value) === 'array-scalar' || isUnknown(value))) return 'map';
      }
      return 'json';
    default:
      return 'json';
  }
}

/** `{}` (TypeBox `Unknown`): any JSON value. */
export function isUnknown(schema: JsonSchema): boolean {
  return Object.keys(schema).filter((k) => k !== 'description' && k !== 'title' && k !== 'default').length === 0;
}

/** The one value schema of a `Record` (patternProperties with one pattern). */
export function mapValueSchema(schema: JsonSchema): { pattern: string; value: JsonSchema } {
  const [pattern, value] = Object.entries(schema.patternProperties ?? {})[0] ?? ['^(.*)$', {}];
  return { pattern, value };
}

/** Which alternative of a union a value belongs to (by JSON type), for the variant picker. */
export function variantIndex(schema: JsonSchema, value: unknown): number {
  const alts = alternatives(schema) ?? [];
  if (value === undefined) return 0;
  const t = jsonType(value);
  const i = alts.findIndex((a) => {
    const types = Array.isArray(a.type) ? a.type : a.type ? [a.type] : [];
    return types.includes(t) || (t === 'integer' && types.includes('number')) || (t === 'number' && types.includes('integer') && Number.isInteger(value));
  });
  return i === -1 ? 0 : i;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function variantLabel(alt: JsonSchema, i: number): string {
  if (alt.title) return alt.title;
  const t = Array.isArray(alt.type) ? alt.type.join(' or ') : alt.type;
  if (t === 'string') return 'Text';
  if (t === 'object') return 'Object';
  if (t === 'array') return 'List';
  return t ? t[0]!.toUpperCase() + t.slice(1) : `Option ${i + 1}`;
}

/**
 * The initial value of a new entity: every `default` (deep-cloned), and nested objects that are required
 * or have a default built from their own properties' defaults, as the server's Value.Default does.
 * Optional fields without a default stay absent, so "not set" is never sent as an empty string.
 */
export function defaultsOf(input: JsonSchema): unknown {
  const schema = normalize(input);
  if (schema.type === 'object' && schema.properties) {
    const base = isPlainObject(schema.default) ? (structuredClone(schema.default) as Json) : {};
    for (const [name, prop] of Object.entries(schema.properties)) {
      if (base[name] !== undefined) continue;
      const p = normalize(prop);
      const required = schema.required?.includes(name) ?? false;
      if (p.default !== undefined || (p.type === 'object' && p.properties && required)) {
        const v = defaultsOf(p);
        if (v !== undefined) base[name] = v;
      } else if (required && p.type === 'array') base[name] = [];
    }
    return base;
  }
  return schema.default === undefined ? undefined : structuredClone(schema.default);
}

export function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Whether the user must give a property. TypeBox lists every non-Optional property as required, also those
 * with a default; the server fills defaults before checking, so those are not the user's to give.
 */
export function isRequired(parent: JsonSchema, name: string): boolean {
  const prop = parent.properties?.[name];
  return (parent.required?.includes(name) ?? false) && (prop === undefined || normalize(prop).default === undefined);
}

/** RFC 6901: `~` and `/` in a key are escaped. */
export function childPointer(base: string, key: string | number): string {
  return `${base}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** The admin API writes the root as `/`; the form uses the empty pointer for it. */
export function normalizePointer(p: string): string {
  return p === '/' ? '' : p;
}

export function humanize(name: string): string {
  const words = name.replace(/_/g, ' ');
  return words[0]!.toUpperCase() + words.slice(1);
}

/** Client-side checks: the basic keywords, reported at the same JSON Pointers the server uses. */
export function validateValue(input: JsonSchema, value: unknown, pointer = ''): FieldError[] {
  const schema = normalize(input);
  const errors: FieldError[] = [];
  const add = (message: string, at = pointer) => errors.push({ path: at, message });
  if (value === undefined) return errors;
  const values = enumValues(schema);
  if (values) {
    if (!values.some((v) => v === value)) add(`Must be one of: ${values.map(String).join(', ')}`);
    return errors;
  }
  const alts = alternatives(schema);
  if (alts) {
    const alt = alts[variantIndex(schema, value)];
    return alt ? validateValue(alt, value, pointer) : errors;
  }
  switch (widgetOf(schema)) {
    case 'string':
      if (typeof value !== 'string') return [{ path: pointer, message: 'Must be text' }];
      if (schema.minLength !== undefined && value.length < schema.minLength)
        add(schema.minLength === 1 ? 'Must not be empty' : `Must be at least ${schema.minLength} characters`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength) add(`Must be at most ${schema.maxLength} characters`);
      if (schema.pattern && value !== '' && !safeRegex(schema.pattern)?.test(value)) add(`Must match the pattern ${schema.pattern}`);
      if (schema.format === 'uri' && value !== '' && !/^https?:\/\/[^\s]+$/i.test(value)) add('Must be an http(s) URL');
      break;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || Number.isNaN(value)) return [{ path: pointer, message: 'Must be a number' }];
      if (schema.type === 'integer' && !Number.isInteger(value)) add('Must be a whole number');
      if (schema.minimum !== undefined && value < schema.minimum) add(`Must be at least ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum) add(`Must be at most ${schema.maximum}`);
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) add(`Must be more than ${schema.exclusiveMinimum}`);
      if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) add(`Must be less than ${schema.exclusiveMaximum}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') add('Must be true or false');
      break;
    case 'array-enum':
    case 'array-scalar':
    case 'array-object':
      if (!Array.isArray(value)) return [{ path: pointer, message: 'Must be a list' }];
      if (schema.minItems !== undefined && value.length < schema.minItems) add(`Needs at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) add(`At most ${schema.maxItems} items`);
      if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) add('Items must be unique');
      value.forEach((item, i) => errors.push(...validateValue(schema.items!, item, childPointer(pointer, i))));
      break;
    case 'object': {
      if (!isPlainObject(value)) return [{ path: pointer, message: 'Must be an object' }];
      for (const name of (schema.required ?? []).filter((n) => isRequired(schema, n))) {
        const v = value[name];
        if (v === undefined || v === '') add('Required', childPointer(pointer, name));
      }
      for (const [name, prop] of Object.entries(schema.properties ?? {})) {
        if (value[name] !== undefined && value[name] !== '') errors.push(...validateValue(prop, value[name], childPointer(pointer, name)));
      }
      break;
    }
    case 'map': {
      if (!isPlainObject(value)) return [{ path: pointer, message: 'Must be an object' }];
      const { pattern, value: valueSchema } = mapValueSchema(schema);
      const re = safeRegex(pattern);
      for (const [k, v] of Object.entries(value)) {
        const at = childPointer(pointer, k);
        if (k === '') add('Every entry needs a name', pointer);
        else if (re && !re.test(k)) add(`The name '${k}' must match ${pattern}`, pointer);
        errors.push(...validateValue(valueSchema, v, at));
      }
      break;
    }
    default:
      break;
  }
  return errors;
}

const regexCache = new Map<string, RegExp | null>();
function safeRegex(pattern: string): RegExp | null {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      // A pattern JavaScript cannot compile is left to the server to check.
      re = null;
    }
    regexCache.set(pattern, re);
  }
  return re;
}

/**
 * The pointers the form renders a field for, in the same walk as the renderer. `deep` fields (scalars'
 * containers such as lists of strings, maps and raw JSON) also own errors below them, e.g. `/paths/2`.
 */
export function fieldPointers(input: JsonSchema, value: unknown, pointer = '', hidden: readonly string[] = []): { pointer: string; deep: boolean }[] {
  const schema = normalize(input);
  const out: { pointer: string; deep: boolean }[] = [];
  const widget = widgetOf(schema);
  if (widget === 'object') {
    if (pointer !== '') out.push({ pointer, deep: false });
    const obj = isPlainObject(value) ? value : {};
    for (const [name, prop] of Object.entries(schema.properties ?? {})) {
      if (pointer === '' && hidden.includes(name)) continue;
      out.push(...fieldPointers(prop, obj[name], childPointer(pointer, name)));
    }
  } else if (widget === 'array-object') {
    out.push({ pointer, deep: false });
    (Array.isArray(value) ? value : []).forEach((item, i) => out.push(...fieldPointers(schema.items!, item, childPointer(pointer, i))));
  } else if (widget === 'variant') {
    const alt = alternatives(schema)![variantIndex(schema, value)]!;
    const inner = fieldPointers(alt, value, pointer);
    out.push(...(inner.some((f) => f.pointer === pointer) ? inner : [{ pointer, deep: false }, ...inner]));
  } else {
    out.push({ pointer, deep: true });
  }
  return out;
}

/** Splits errors into those a rendered field shows (by its pointer) and those only the summary can show. */
export function placeErrors(fields: { pointer: string; deep: boolean }[], errors: readonly FieldError[]): { byField: Map<string, string[]>; unplaced: FieldError[] } {
  const byField = new Map<string, string[]>();
  const unplaced: FieldError[] = [];
  for (const e of errors) {
    const path = normalizePointer(e.path);
    let owner = fields.find((f) => f.pointer === path);
    if (!owner) {
      // The nearest deep ancestor owns it (an error in one line of a list, one entry of a map).
      owner = fields.filter((f) => f.deep && path.startsWith(`${f.pointer}/`)).sort((a, b) => b.pointer.length - a.pointer.length)[0];
    }
    if (!owner || owner.pointer === '') {
      unplaced.push(e);
      continue;
    }
    const list = byField.get(owner.pointer) ?? [];
    const text = owner.pointer === path ? e.message : `${path.slice(owner.pointer.length + 1)}: ${e.message}`;
    if (!list.includes(text)) list.push(text);
    byField.set(owner.pointer, list);
  }
  return { byField, unplaced };
}

/** Drops empty strings and empty optional maps the inputs leave behind, so "cleared" means "not set". */
export function prune(input: JsonSchema, value: unknown, required = true): unknown {
  const schema = normalize(input);
  if (value === '' && !required) return undefined;
  const widget = widgetOf(schema);
  if (widget === 'object' && isPlainObject(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      const prop = schema.properties?.[k];
      const pv = prop ? prune(prop, v, isRequired(schema, k)) : v;
      if (pv !== undefined) out[k] = pv;
    }
    return out;
  }
  if (widget === 'map' && isPlainObject(value) && Object.keys(value).length === 0 && !required) return undefined;
  if (widget === 'array-object' && Array.isArray(value)) return value.map((item) => prune(schema.items!, item, true));
  return value;
}
