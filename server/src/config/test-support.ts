/** What the property-based specs of the configuration share: JSON-ish values and the paths into one. */
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import fc from 'fast-check';

export type ValuePath = (string | number)[];

/** Every path into a JSON value, the root's included; array indexes as numbers. */
export function valuePaths(v: unknown, at: ValuePath = [], out: ValuePath[] = []): ValuePath[] {
  out.push(at);
  if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) valuePaths(c, [...at, Array.isArray(v) ? Number(k) : k], out);
  return out;
}

/** Nested values made of `leaf`, arrays and objects keyed by `key`, at most `max` children each. */
export function jsonValues(leaf: fc.Arbitrary<unknown>, key: fc.Arbitrary<string>, max: number): fc.Arbitrary<unknown> {
  return fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: max }), fc.dictionary(key, tie('value'), { maxKeys: max })),
  })).value;
}

const leaf = fc.oneof(fc.constantFrom(null, true, 0, -1, '', 'x', 'http://up', 'dns', 'etcd', 'docker', 'SRV', [], {}), fc.string({ maxLength: 6 }), fc.integer());
const json = jsonValues(leaf, fc.string({ maxLength: 6 }), 3);

/** A copy of `base` with each path in `edits` removed (undefined) or replaced. */
function edited(base: unknown, edits: [ValuePath, unknown][]): unknown {
  let doc = structuredClone(base) as Record<string | number, unknown>;
  for (const [path, value] of edits) {
    if (path.length === 0) {
      if (value !== undefined) doc = structuredClone(value) as Record<string | number, unknown>;
      continue;
    }
    let node: unknown = doc;
    for (const k of path.slice(0, -1)) node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[k] : undefined;
    if (node === null || typeof node !== 'object') continue;
    const last = path[path.length - 1]!;
    // An array loses the element, and gets none past its end: JSON has no holes (TypeBox's visit fills them).
    if (Array.isArray(node) && Number(last) >= node.length) continue;
    if (value === undefined && Array.isArray(node)) node.splice(Number(last), 1);
    else if (value === undefined) delete (node as Record<string | number, unknown>)[last];
    // A copy: a later edit may reach into it, and fast-check reuses what it generated while shrinking.
    else (node as Record<string | number, unknown>)[last] = structuredClone(value);
  }
  return doc;
}

/** A document with one of each entity and the shapes that have defaults (the one union with defaulted branches included). */
export const SAMPLE_DOCUMENT = {
  _format_version: '1',
  upstreams: [
    { name: 'up', targets: [{ target: '10.0.0.1:8080' }], healthchecks: { active: { http_path: '/h' } } },
    // The document's one union whose branches have defaults.
    { name: 'dns', discovery: { provider: 'dns', name: 'svc.example' } },
    { name: 'etcd', discovery: { provider: 'etcd', endpoints: ['http://127.0.0.1:2379'], prefix: '/up/' } },
  ],
  services: [{ name: 'svc', url: 'http://up', retries: 2 }],
  routes: [{ name: 'r1', service: 'svc', paths: ['/a'], methods: ['GET'], headers: { 'x-v': ['1'] } }],
  consumers: [{ username: 'alice', groups: ['gold'] }],
  credentials: [{ consumer: 'alice', kind: 'key-auth', key: 'k-0123456789abcdef' }],
  plugins: [{ name: 'rate-limiting', route: 'r1', config: { minute: 10 } }],
};

/** A complete value of the schema where TypeBox can make one (it cannot invent a string for a pattern). */
export function created(schema: TSchema): unknown {
  try {
    return Value.Create(schema);
  } catch {
    return {};
  }
}

/**
 * Runs `check` on `runs` copies of `base`, completed with the schema's defaults (so that removing a field
 * exercises the default that fills it back), each with one to four values removed or replaced by
 * generated JSON.
 */
export function editsOf(schema: TSchema, base: unknown, runs: number, check: (input: unknown) => void): void {
  const full = Value.Default(schema, structuredClone(base));
  const all = valuePaths(full);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...all), fc.oneof(fc.constant(undefined), fc.constant(undefined), json)), { minLength: 1, maxLength: 4 }), (edits) => check(edited(full, edits))),
    { numRuns: runs },
  );
}
