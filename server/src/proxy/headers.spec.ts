import { describe, expect, it } from 'vitest';
import { rawHeader } from './headers.js';

describe('rawHeader', () => {
  it('finds a header by its lower-case name whatever the case it was sent in, and joins repeats as Node does', () => {
    const raw = ['Host', 'a', 'X-Api-Key', 'k1', 'apikey', 'only', 'x-api-key', 'k2'];
    expect(rawHeader(raw, 'host')).toBe('a');
    expect(rawHeader(raw, 'apikey')).toBe('only');
    expect(rawHeader(raw, 'x-api-key')).toBe('k1, k2');
    expect(rawHeader(raw, 'x-api-ke')).toBeUndefined();
    expect(rawHeader([], 'host')).toBeUndefined();
  });
});
