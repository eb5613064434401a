/**
 * `defaultsFor` must give exactly what TypeBox's `Value.Default` gives: the kinds it plans, and, on
 * generated values, the configuration document and every plugin's schema compared with TypeBox itself.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { PLUGINS } from '../plugins/index.js';
import { defaultsFor } from './defaults.js';
import { ConfigDocumentSchema } from './schema.js';
import { SAMPLE_DOCUMENT, created, editsOf } from './test-support.js';

const FUZZ_SCALE = Number(process.env.GATEHOUSE_FUZZ_SCALE ?? 1) || 1;

/** Both on their own copy; a value TypeBox throws on is left out (validate() screens those first). */
function same(schema: TSchema, input: unknown): void {
  let want: unknown;
  try {
    want = Value.Default(schema, structuredClone(input));
  } catch {
    return;
  }
  expect(defaultsFor(schema)(structuredClone(input))).toStrictEqual(want);
}

describe('defaultsFor', () => {
  it('fills missing properties, nested ones included, and leaves given ones alone', () => {
    const S = Type.Object({
      a: Type.Integer({ default: 5 }),
      b: Type.Object({ c: Type.String({ default: 'x' }), d: Type.Optional(Type.Boolean()) }, { default: {} }),
      e: Type.Array(Type.Object({ f: Type.Number({ default: 1 }) })),
      g: Type.Optional(Type.String()),
    });
    expect(defaultsFor(S)({ e: [{}, { f: 2 }] })).toStrictEqual({ a: 5, b: { c: 'x' }, e: [{ f: 1 }, { f: 2 }] });
    expect(defaultsFor(S)({ a: 0, b: { c: 'y', d: true }, e: [] })).toStrictEqual({ a: 0, b: { c: 'y', d: true }, e: [] });
    for (const v of [{}, { b: null }, { b: [] }, { e: 'no' }, { a: undefined }, null, 7, []]) same(S, v);
  });

  it('copies an object default each time it is used', () => {
    const S = Type.Object({ tags: Type.Array(Type.String(), { default: ['a'] }) });
    const fill = defaultsFor(S);
    const one = fill({}) as { tags: string[] };
    one.tags.push('b');
    expect(fill({})).toStrictEqual({ tags: ['a'] });
  });

  it('visits a record key only when the value schema declares a default itself, as TypeBox does', () => {
    const Inner = Type.Object({ n: Type.Integer({ default: 1 }) });
    const Plain = Type.Record(Type.String(), Inner);
    const Defaulted = Type.Record(Type.String(), Type.Object({ n: Type.Integer({ default: 1 }) }, { default: {} }));
    expect(defaultsFor(Plain)({ k: {} })).toStrictEqual({ k: {} });
    expect(defaultsFor(Defaulted)({ k: {} })).toStrictEqual({ k: { n: 1 } });
    for (const v of [{ k: {} }, { k: undefined }, {}, { k: { n: 3 } }]) {
      same(Plain, v);
      same(Defaulted, v);
    }
  });

  it('picks the union branch whose defaults make a valid value, as TypeBox does', () => {
    const S = Type.Union([
      Type.Object({ kind: Type.Literal('a'), x: Type.Integer({ default: 1 }) }),
      Type.Object({ kind: Type.Literal('b'), y: Type.String({ default: 'y' }) }),
    ]);
    expect(defaultsFor(S)({ kind: 'b' })).toStrictEqual({ kind: 'b', y: 'y' });
    for (const v of [{ kind: 'a' }, { kind: 'b' }, { kind: 'c' }, {}, 'a', undefined]) same(S, v);
  });

  it('visits a property twice where a union under it picks its branch by defaults the first visit filled in', () => {
    const S = Type.Object({
      list: Type.Array(Type.Union([Type.Object({ y: Type.String(), x: Type.Integer({ default: 1 }) }), Type.Object({ y: Type.String({ default: 'y' }) })])),
    });
    expect(defaultsFor(S)({ list: [{}] })).toStrictEqual({ list: [{ y: 'y', x: 1 }] });
    same(S, { list: [{}, { y: 'z' }, 'x'] });
    same(Type.Object({ outer: Type.Object({ inner: S }, { default: {} }) }), { outer: { inner: { list: [{}] } } });
  });

  it('hands kinds it does not plan to Value.Default (an intersection reshapes even without defaults)', () => {
    const S = Type.Intersect([Type.Object({ a: Type.Integer({ default: 1 }) }), Type.Object({ b: Type.String() })]);
    for (const v of [{}, { b: 'x' }, [1, 2], 'x']) same(S, v);
    const NoDefaults = Type.Object({ i: Type.Intersect([Type.Object({ a: Type.Integer() }), Type.Object({ b: Type.Integer() })]) });
    same(NoDefaults, { i: [1] });
  });

  it('leaves a value alone where the schema declares no default', () => {
    const S = Type.Object({ m: Type.Array(Type.Union([Type.Literal('GET'), Type.Literal('POST')])) });
    const v = { m: ['GET', 'PUT'] };
    expect(defaultsFor(S)(v)).toBe(v);
    expect(v).toStrictEqual({ m: ['GET', 'PUT'] });
  });
});

// Values that stress where defaults apply: fields removed from complete values, and odd values put there.
describe('defaultsFor against Value.Default (property-based)', () => {
  it('the configuration document', () => {
    editsOf(ConfigDocumentSchema, SAMPLE_DOCUMENT, 1500 * FUZZ_SCALE, (input) => same(ConfigDocumentSchema, input));
  });

  it("every plugin's configuration schema", () => {
    for (const def of PLUGINS.values()) editsOf(def.schema, created(def.schema), 150 * FUZZ_SCALE, (input) => same(def.schema, input));
  });
});
