import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { rawHeader, stripResponseHopByHop } from './headers.js';

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

describe('stripResponseHopByHop', () => {
  it('drops hop-by-hop fields and the ones Connection names, whatever the Connection value looks like', () => {
    const plain = { connection: 'keep-alive', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'content-type': 'text/plain' };
    stripResponseHopByHop(plain);
    expect(plain).toEqual({ 'content-type': 'text/plain' });
    const named = { connection: 'Keep-Alive, X-Secret', 'x-secret': 's', 'x-kept': 'k' };
    stripResponseHopByHop(named);
    expect(named).toEqual({ 'x-kept': 'k' });
    const repeated = { connection: ['close', 'x-a'], 'x-a': '1', 'x-b': '2' };
    stripResponseHopByHop(repeated as unknown as IncomingHttpHeaders);
    expect(repeated).toEqual({ 'x-b': '2' });
  });
});
