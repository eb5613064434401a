/** What the property-based specs of the configuration share: JSON-ish values and the paths into one. */
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
