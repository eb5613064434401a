/**
 * Tests of the line diff that the change review shows.
 */
import { describe, expect, it } from 'vitest';
import { diffLines, stableJson } from './line-diff';

const kinds = (before: string, after: string) => diffLines(before, after).map((l) => `${l.kind === 'same' ? ' ' : l.kind === 'add' ? '+' : '-'}${l.text}`);

describe('diffLines', () => {
  it('marks a changed line in the middle as removed then added, keeping the rest', () => {
    expect(kinds('a\nb\nc', 'a\nB\nc')).toEqual([' a', '-b', '+B', ' c']);
  });
  it('handles creation, deletion and no change', () => {
    expect(kinds('', 'x\ny')).toEqual(['+x', '+y']);
    expect(kinds('x', '')).toEqual(['-x']);
    expect(kinds('x\ny', 'x\ny')).toEqual([' x', ' y']);
  });
  it('finds the longest common subsequence for insertions between moved lines', () => {
    expect(kinds('a\nb\nc\nd', 'a\nc\nx\nd')).toEqual([' a', '-b', ' c', '+x', ' d']);
  });
});

describe('stableJson', () => {
  it('sorts keys at every depth so reordering is not a change', () => {
    expect(stableJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 0 } })).toBe(stableJson({ a: { c: 0, d: [{ y: 2, z: 1 }] }, b: 1 }));
    expect(stableJson(undefined)).toBe('');
  });
});
