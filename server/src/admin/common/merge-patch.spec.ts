// RFC 7396 examples that matter for PATCH on entities.
import { describe, expect, it } from 'vitest';
import { mergePatch } from './merge-patch.js';

describe('mergePatch', () => {
  it('merges objects recursively, replaces arrays, and removes null fields', () => {
    const target = { a: 1, b: { c: 2, d: 3 }, tags: ['x'], gone: true };
    expect(mergePatch(target, { b: { c: 9 }, tags: ['y', 'z'], gone: null })).toEqual({ a: 1, b: { c: 9, d: 3 }, tags: ['y', 'z'] });
  });
  it('does not mutate its inputs', () => {
    const target = { b: { c: 2 } };
    mergePatch(target, { b: { c: 3 } });
    expect(target).toEqual({ b: { c: 2 } });
  });
  it('replaces a non-object target', () => {
    expect(mergePatch('x', { a: 1 })).toEqual({ a: 1 });
    expect(mergePatch({ a: 1 }, 'x')).toBe('x');
  });
});
