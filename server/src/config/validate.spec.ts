import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { hasPassed, markValidated, validate } from './validate.js';

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
});
