import { describe, expect, it } from 'vitest';
import { Kind, Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { PLUGINS } from '../plugins/index.js';
import { ConfigDocumentSchema } from './schema.js';
import fc from 'fast-check';
import { SAMPLE_DOCUMENT, created, editsOf, jsonValues } from './test-support.js';
import { hasPassed, markValidated, misshapen, validate, validateChanged, type ValidationIssue } from './validate.js';

const FUZZ_SCALE = Number(process.env.GATEHOUSE_FUZZ_SCALE ?? 1) || 1;

describe('validate formats', () => {
  const At = Type.Object({ at: Type.String({ format: 'date-time' }), id: Type.String({ format: 'uuid' }), url: Type.String({ format: 'uri' }) });
  const ok = { at: '2026-11-26T18:00:00Z', id: '0b7c2a1e-2f7d-4a5b-9c1e-3d2f1a0b9c8d', url: 'http://example.com/x' };

  it('accepts RFC 3339 timestamps, uuids and http(s) URLs', () => {
    expect(validate(At, ok).ok).toBe(true);
    expect(validate(At, { ...ok, at: '2026-11-26T18:00:00.123+01:00' }).ok).toBe(true);
  });

  it.each([
    ['at', '2026-11-26'],
    ['at', 'tomorrow'],
    ['at', '2026-13-40T99:00:00Z'],
    ['id', 'not-a-uuid'],
    ['url', 'ftp://example.com'],
    ['url', 'not a url'],
  ])('rejects %s=%s with a pointer to the field', (field, value) => {
    const r = validate(At, { ...ok, [field]: value });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.path).toBe(`/${field}`);
  });

  it('reports every problem, not just the first', () => {
    const r = validate(At, { at: 'x', id: 'y', url: 'z' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path).sort()).toEqual(['/at', '/id', '/url']);
  });
});

describe('values that passed', () => {
  it('remembers what validate returned, for the schema it passed, and nothing it was given', () => {
    const A = Type.Object({ n: Type.Integer({ default: 1 }) });
    const B = Type.Object({ n: Type.Integer() });
    const input = {};
    const r = validate(A, input);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual({ n: 1 });
    expect(hasPassed(r.value, A)).toBe(true);
    expect(hasPassed(r.value, B)).toBe(false);
    expect(hasPassed(input, A)).toBe(false);
    expect(hasPassed({ n: 1 }, A)).toBe(false);
    const bad = validate(A, { n: 'x' });
    expect(bad.ok).toBe(false);
    const derived = markValidated({ n: 2 }, A);
    expect(hasPassed(derived, A)).toBe(true);
    expect(hasPassed(undefined, A)).toBe(false);
  });

  it('keeps the mark on the object alone: no copy, key, text or clone carries it', () => {
    const A = Type.Object({ n: Type.Integer(), tags: Type.Array(Type.String()) });
    const r = validate(A, { n: 1, tags: ['a'] });
    if (!r.ok) throw new Error('valid');
    const v = r.value;
    expect(Object.keys(v)).toEqual(['n', 'tags']);
    expect(Object.getOwnPropertySymbols(v)).toEqual([]);
    expect(JSON.stringify(v)).toBe('{"n":1,"tags":["a"]}');
    for (const copy of [{ ...v }, Object.assign({}, v), structuredClone(v), Value.Clone(v), JSON.parse(JSON.stringify(v)) as object]) {
      expect(copy).toEqual(v);
      expect(hasPassed(copy, A)).toBe(false);
    }
    // Frozen after marking: still marked, and marked again for another schema.
    const B = Type.Object({ n: Type.Integer() });
    Object.freeze(v);
    expect(hasPassed(v, A)).toBe(true);
    markValidated(v, B);
    expect([hasPassed(v, A), hasPassed(v, B)]).toEqual([false, true]);
    // Frozen before it was ever marked: marked all the same.
    const early = Object.freeze({ n: 3, tags: [] });
    markValidated(early, A);
    expect(hasPassed(early, A)).toBe(true);
    expect(hasPassed({ n: 3, tags: [] }, A)).toBe(false);
  });
});

/**
 * The first, plain form of `misshapen` (it walked every value and built every path): the planned one
 * must find exactly what this finds, in the same order.
 */
function misshapenReference(schema: TSchema, value: unknown): ValidationIssue[] {
  const shapeOf = (v: unknown) => (Array.isArray(v) ? 'array' : v !== null && typeof v === 'object' ? 'object' : undefined);
  const escape = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
  const out: ValidationIssue[] = [];
  const visit = (schema: TSchema, value: unknown, path: string): void => {
    const got = shapeOf(value);
    if (!got || out.length >= 200) return;
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
          if (sub) visit(sub, v, `${path}/${escape(k)}`);
        }
        return;
      }
      case 'Record': {
        if (got !== 'object') return;
        const [pattern, sub] = Object.entries(s.patternProperties as Record<string, TSchema>)[0]!;
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (new RegExp(pattern).test(k)) visit(sub, v, `${path}/${escape(k)}`);
        return;
      }
      case 'Array':
        if (got === 'array') (value as unknown[]).forEach((v, i) => visit(s.items as TSchema, v, `${path}/${i}`));
        return;
      case 'Tuple':
        if (got === 'array') ((s.items as TSchema[] | undefined) ?? []).forEach((sub, i) => visit(sub, (value as unknown[])[i], `${path}/${i}`));
        return;
      case 'Union':
        for (const sub of s.anyOf as TSchema[]) visit(sub, value, path);
        return;
      case 'Intersect':
        for (const sub of s.allOf as TSchema[]) visit(sub, value, path);
        return;
    }
  };
  visit(schema, value, '');
  const seen = new Set<string>();
  return out.filter((i) => !seen.has(i.path) && seen.add(i.path));
}

describe('misshapen', () => {
  it('reports an object where a defaulted array belongs, and the other way round, with escaped pointers', () => {
    const S = Type.Object({
      list: Type.Array(Type.String(), { default: [] }),
      nested: Type.Record(Type.String(), Type.Object({ opts: Type.Object({ a: Type.Number() }, { default: {} }) })),
      plain: Type.Array(Type.Object({ x: Type.String() })),
    });
    expect(misshapen(S, { list: { length: 1e9 }, nested: { 'a/b~c': { opts: [] } }, plain: [{ x: {} }] })).toEqual([
      { path: '/list', message: 'Expected array' },
      { path: '/nested/a~1b~0c/opts', message: 'Expected object' },
    ]);
    expect(misshapen(S, [])).toEqual([]);
    expect(misshapen(Type.Array(Type.String(), { default: [] }), {})).toEqual([{ path: '/', message: 'Expected array' }]);
  });

  it('finds what the plain walk finds: on a schema of every kind it descends into, the document and every plugin schema (property-based)', () => {
    const same = (schema: TSchema) => (input: unknown) => {
      expect(misshapen(schema, input)).toEqual(misshapenReference(schema, input));
    };
    const EveryKind = Type.Object({
      u: Type.Union([
        Type.Object({ kind: Type.Literal('a'), xs: Type.Array(Type.String(), { default: [] }) }),
        Type.Object({ kind: Type.Literal('b'), o: Type.Object({}, { default: {} }) }),
      ]),
      i: Type.Intersect([Type.Object({ p: Type.Array(Type.Number(), { default: [] }) }), Type.Object({ q: Type.String() })]),
      t: Type.Tuple([Type.Object({ d: Type.Array(Type.String(), { default: [] }) }), Type.String()]),
      extra: Type.Object({}, { additionalProperties: Type.Object({ z: Type.Array(Type.String(), { default: [] }) }) }),
      rec: Type.Record(Type.String({ pattern: '^x' }), Type.Object({ w: Type.Array(Type.String(), { default: [] }) })),
      plain: Type.Array(Type.Object({ n: Type.Number() })),
    });
    const base = { u: { kind: 'b', o: { k: 1 } }, i: { p: [1], q: 's' }, t: [{ d: ['x'] }, 's'], extra: { k1: { z: ['1'] } }, rec: { xa: { w: ['1'] }, yb: { w: 2 } }, plain: [{ n: 1 }] };
    editsOf(EveryKind, base, 1500 * FUZZ_SCALE, same(EveryKind));
    editsOf(ConfigDocumentSchema, SAMPLE_DOCUMENT, 1500 * FUZZ_SCALE, same(ConfigDocumentSchema));
    for (const def of PLUGINS.values()) editsOf(def.schema, created(def.schema), 150 * FUZZ_SCALE, same(def.schema));
  });
});

describe('validateChanged', () => {
  const LISTS = ['services', 'routes', 'upstreams', 'consumers', 'plugins', 'credentials'] as const;
  type Doc = Record<string, unknown[]>;
  const base = (): Doc => {
    const doc = structuredClone(SAMPLE_DOCUMENT) as Record<string, unknown> & { credentials: Record<string, unknown>[] };
    doc.credentials[0]!.id = '00000000-0000-4000-8000-000000000001';
    const v = validate(ConfigDocumentSchema, doc);
    if (!v.ok) throw new Error(JSON.stringify(v.issues));
    return v.value as unknown as Doc;
  };

  it('validates only the entities not known to have passed, and points issues into the input', () => {
    const known = base();
    const input: Doc = { ...known, routes: [...known.routes!, { name: 'r2', paths: ['/b'], methods: ['BREW'] }] };
    const r = validateChanged(ConfigDocumentSchema, input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).toContain('/routes/1/methods/0');
    input.routes![1] = { name: 'r2', paths: ['/b'] };
    const ok = validateChanged(ConfigDocumentSchema, input);
    if (!ok.ok) throw new Error(JSON.stringify(ok.issues));
    const routes = (ok.value as unknown as Doc).routes as Record<string, unknown>[];
    expect(routes[0]).toBe(known.routes![0]);
    expect(routes[1]).toMatchObject({ name: 'r2', strip_path: true, methods: [] });
    // What it gave is known to have passed now, entities included.
    expect(hasPassed(ok.value, ConfigDocumentSchema)).toBe(true);
    expect(validateChanged(ConfigDocumentSchema, { ...ok.value, routes: [...routes] }).ok).toBe(true);
  });

  it('gives what validate gives on lists mixing known entities with new, changed and odd ones (property-based)', () => {
    const leaf = fc.oneof(fc.constantFrom(null, true, 0, -1, '', 'x', '/p', 'GET', 'http://up', [], {}), fc.string({ maxLength: 4 }), fc.integer());
    const odd = jsonValues(leaf, fc.constantFrom('name', 'paths', 'url', 'x', 'service', 'targets', 'config'), 3);
    const edit = fc.record({
      list: fc.constantFrom(...LISTS),
      at: fc.nat({ max: 4 }),
      op: fc.constantFrom('replace', 'insert', 'remove', 'field'),
      field: fc.constantFrom('name', 'paths', 'url', 'tags', 'enabled', 'service', 'route', 'targets', 'config', 'zz'),
      value: odd,
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 5 }), (edits) => {
        const known = base();
        const input: Doc = { ...known };
        for (const k of LISTS) if (input[k]) input[k] = [...input[k]!];
        for (const e of edits) {
          const list = (input[e.list] ??= []);
          const i = list.length ? e.at % list.length : 0;
          if (e.op === 'remove') list.splice(i, 1);
          else if (e.op === 'insert') list.splice(i, 0, structuredClone(e.value));
          else if (e.op === 'replace' || list.length === 0) list[i] = structuredClone(e.value);
          else if (typeof list[i] === 'object' && list[i] !== null) list[i] = { ...(list[i] as object), [e.field]: structuredClone(e.value) };
        }
        const snapshot = structuredClone(input);
        const got = validateChanged(ConfigDocumentSchema, input);
        const want = validate(ConfigDocumentSchema, input);
        expect(input).toEqual(snapshot);
        expect(got.ok).toBe(want.ok);
        if (got.ok && want.ok) {
          expect(got.value).toEqual(want.value);
          for (const k of LISTS) {
            (input[k] ?? []).forEach((x, i) => {
              if (hasPassed(x, ConfigDocumentSchema.properties[k].items)) expect((got.value as unknown as Doc)[k]![i]).toBe(x);
            });
          }
        } else if (!got.ok && !want.ok) expect(got.issues).toEqual(want.issues);
      }),
      { numRuns: 1500 * FUZZ_SCALE },
    );
  });
});
