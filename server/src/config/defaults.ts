/**
 * TypeBox's `Value.Default`, planned once per schema.
 *
 * `Value.Default` walks the whole value against the whole schema on every call, and its object case
 * visits each property twice (once to see whether the result is undefined, once to assign it), so the
 * work doubles with every level of nesting; a union is tried branch by branch, each on a clone, each
 * with an interpreted `Value.Check`. A 10,000-route document took 150–250 ms there, nearly all of it in
 * parts of the schema that have no default at all (an HTTP method is a union of literals, visited four
 * times per element).
 *
 * `defaultsFor(schema)` gives a function with the same result: it visits only the parts of the schema
 * under which some `default` is declared. Where no default can apply, TypeBox's visit returns the value
 * itself or a copy of it equal in content, so skipping it gives the same document. A property is visited
 * once where a second visit of what the first produced cannot change it (defaults fill only what is
 * missing), and twice, as TypeBox does, where it can: under a union with defaults, whose branch is chosen
 * by what the defaults already filled in (an array of such unions is filled in place by the first visit).
 * Kinds this does not plan (Intersect, Ref, Tuple and the like, none in the configuration schemas) and
 * defaults given as functions are handed to `Value.Default` itself. `defaults.spec.ts` compares the two on
 * generated documents and every plugin's schema.
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export type Fill = (value: unknown) => unknown;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
const isArray = (v: unknown): v is unknown[] => Array.isArray(v) && !ArrayBuffer.isView(v);
const hasDefault = (s: unknown): boolean => isObject(s) && typeof (s as Record<symbol, unknown>)[Kind] === 'string' && 'default' in s;

/** Kinds whose `Value.Default` case reshapes or dereferences even without a default in them: not planned. */
const ALWAYS_VISITED = new Set(['Intersect', 'Ref', 'This', 'Import', 'Tuple', 'Date']);

const plans = new WeakMap<TSchema, Fill | null>();
/** Fills whose second run over their own result may differ from the first: unions and what holds one. */
const unsettled = new WeakSet<Fill>();
const mark = (f: Fill, when: boolean): Fill => {
  if (when) unsettled.add(f);
  return f;
};
const isUnsettled = (f: Fill | null): boolean => f !== null && unsettled.has(f);

/** The function filling `schema`'s defaults into a value (mutating it, as `Value.Default` does). */
export function defaultsFor(schema: TSchema): Fill {
  return plan(schema) ?? identity;
}

const identity: Fill = (v) => v;

/** `null` when nothing under `schema` can change a value. */
function plan(schema: TSchema): Fill | null {
  const known = plans.get(schema);
  if (known !== undefined) return known;
  const made = build(schema);
  plans.set(schema, made);
  return made;
}

function build(schema: TSchema): Fill | null {
  const s = schema as TSchema & Record<string, unknown>;
  const kind = s[Kind] as string;
  if (ALWAYS_VISITED.has(kind) || typeof s.default === 'function') return mark((v) => Value.Default(schema, v), true);
  const own = 'default' in s ? orDefault(s.default) : null;
  switch (kind) {
    case 'Array': {
      const items = plan(s.items as TSchema);
      if (!items && !own) return null;
      const each = items ?? identity;
      return mark((value) => {
        if (isArray(value)) {
          if (items) for (let i = 0; i < value.length; i++) value[i] = items(value[i]);
          return value;
        }
        const arr = own ? own(value) : value;
        // Visited even without item defaults: an object merged into an array default leaves holes that
        // TypeBox's visit turns into undefined elements.
        if (isArray(arr)) for (let i = 0; i < arr.length; i++) arr[i] = each(arr[i]);
        return arr;
      }, isUnsettled(items));
    }
    case 'Object': {
      const props = s.properties as Record<string, TSchema>;
      const keys: string[] = [];
      const fills: Fill[] = [];
      const twice: boolean[] = [];
      for (const k of Object.getOwnPropertyNames(props)) {
        const f = plan(props[k]!);
        if (f) {
          keys.push(k);
          fills.push(f);
          twice.push(isUnsettled(f));
        }
      }
      const extra = hasDefault(s.additionalProperties) ? plan(s.additionalProperties as TSchema) : null;
      if (!keys.length && !extra && !own) return null;
      const known = new Set(Object.getOwnPropertyNames(props));
      return mark((value) => {
        const obj = own ? own(value) : value;
        if (!isObject(obj)) return obj;
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i]!;
          const f = fills[i]!;
          const v = f(obj[k]);
          // TypeBox assigns a second visit of the (possibly changed in place) property.
          if (v !== undefined) obj[k] = twice[i] ? f(obj[k]) : v;
        }
        if (extra) for (const k of Object.getOwnPropertyNames(obj)) if (!known.has(k)) obj[k] = extra(obj[k]);
        return obj;
      }, twice.includes(true) || isUnsettled(extra));
    }
    case 'Record': {
      const [pattern, valueSchema] = Object.entries(s.patternProperties as Record<string, TSchema>)[0]!;
      // As TypeBox: a key's value is visited only when its schema declares a default itself.
      const values = hasDefault(valueSchema) ? plan(valueSchema) : null;
      const extra = hasDefault(s.additionalProperties) ? plan(s.additionalProperties as TSchema) : null;
      if (!values && !extra && !own) return null;
      const re = new RegExp(pattern);
      return mark((value) => {
        const obj = own ? own(value) : value;
        if (!isObject(obj)) return obj;
        if (values) for (const k of Object.getOwnPropertyNames(obj)) if (re.test(k)) obj[k] = values(obj[k]);
        if (extra) for (const k of Object.getOwnPropertyNames(obj)) if (!re.test(k)) obj[k] = extra(obj[k]);
        return obj;
      }, isUnsettled(values) || isUnsettled(extra));
    }
    case 'Union': {
      const branches = s.anyOf as TSchema[];
      const fills = branches.map((b) => plan(b));
      if (!own && fills.every((f) => f === null)) return null;
      // A branch is chosen by checking what its defaults made of a copy: kept as TypeBox does it.
      return mark((value) => {
        const defaulted = own ? own(value) : value;
        for (let i = 0; i < branches.length; i++) {
          const f = fills[i];
          const result = f ? f(Value.Clone(defaulted)) : defaulted;
          if (Value.Check(branches[i]!, result)) return result;
        }
        return defaulted;
      }, true);
    }
    // Every other kind is a leaf to Value.Default: its own default or the value.
    default:
      return own;
  }
}

/** TypeBox's `ValueOrDefault` for a schema that declares `def`; the default is copied only when used. */
function orDefault(def: unknown): Fill {
  if (!isObject(def)) return (value) => (value === undefined ? def : value);
  return (value) => {
    if (value === undefined) return Value.Clone(def);
    return isObject(value) ? Object.assign(Value.Clone(def), value) : value;
  };
}
