import { describe, expect, it } from 'vitest';
import { diffBodies, diffHeaders, diffJson, formatPointer, IgnorePaths, parsePointer, REDACTED } from './compare.js';
import { rebase } from './mirror.js';
import { Ring } from './shadow-store.js';

const none = new IgnorePaths([]);
const pointers = (a: unknown, b: unknown, ignore = none) => diffJson(a, b, ignore).map((d) => d.pointer);

describe('JSON diff', () => {
  it('finds changed, missing and extra members with their pointers', () => {
    expect(pointers({ a: 1, b: { c: [1, 2] }, d: 'x' }, { b: { c: [1, 3] }, d: 'x', a: 1, e: null })).toEqual(['/b/c/1', '/e']);
    expect(pointers({ a: [1, 2, 3] }, { a: [1] })).toEqual(['/a/1', '/a/2']);
    expect(pointers({ a: { b: 1 } }, { a: [1] })).toEqual(['/a']);
    expect(pointers({ 'x/y': 1, 'm~n': 1 }, { 'x/y': 2, 'm~n': 2 })).toEqual(['/x~1y', '/m~0n']);
    expect(pointers([1, 'a'], [1, 'a'])).toEqual([]);
    expect(diffJson({ a: 1 }, { a: '1' }, none)[0]).toEqual({ kind: 'body', pointer: '/a', primary: '1', shadow: '"1"' });
    expect(diffJson({ a: 1 }, {}, none)[0]).toEqual({ kind: 'body', pointer: '/a', primary: '1' });
  });

  it('ignores pointers, with * matching one segment and covering the subtree', () => {
    const ignore = new IgnorePaths(['/timestamp', '/items/*/id', '/meta']);
    const a = { timestamp: 1, meta: { gen: 1 }, items: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }] };
    const b = { timestamp: 2, meta: { gen: 2, more: true }, items: [{ id: 9, name: 'a' }, { id: 8, name: 'c' }] };
    expect(pointers(a, b, ignore)).toEqual(['/items/1/name']);
    // An extra element is still a difference; only its id would be ignored.
    expect(pointers({ items: [] }, { items: [{ id: 1 }] }, ignore)).toEqual(['/items/0']);
    expect(pointers({ x: { id: 1 } }, { x: { id: 2 } }, ignore)).toEqual(['/x/id']);
  });

  it('bounds the number of differences', () => {
    const a = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
    expect(diffJson(a, {}, none, 20)).toHaveLength(20);
  });

  it('parses and formats JSON Pointers', () => {
    expect(parsePointer('/a~1b/~0c/*')).toEqual(['a/b', '~c', '*']);
    expect(formatPointer(['a/b', '~c'])).toBe('/a~1b/~0c');
    expect(() => parsePointer('a')).toThrow(/JSON Pointer/);
  });
});

describe('body and header comparison', () => {
  it('compares JSON structurally and anything else byte for byte', () => {
    expect(diffBodies(Buffer.from('{"a":1,"b":2}'), Buffer.from('{ "b": 2, "a": 1 }'), true, none)).toEqual([]);
    expect(diffBodies(Buffer.from('{"a":1,"b":2}'), Buffer.from('{ "b": 2, "a": 1 }'), false, none)).toHaveLength(1);
    expect(diffBodies(Buffer.from('hello'), Buffer.from('hello'), true, none)).toEqual([]);
    expect(diffBodies(Buffer.from('hello'), Buffer.from('hellO'), true, none)).toEqual([{ kind: 'body', pointer: '', primary: 'hello', shadow: 'hellO' }]);
    expect(diffBodies(Buffer.alloc(0), Buffer.alloc(0), true, none)).toEqual([]);
  });

  it('records header differences with secrets redacted', () => {
    const d = diffHeaders({ 'x-v': '1', 'set-cookie': 's=a' }, { 'x-v': '2', 'set-cookie': 's=b' }, ['x-v', 'set-cookie', 'etag']);
    expect(d).toEqual([
      { kind: 'header', name: 'x-v', primary: '1', shadow: '2' },
      { kind: 'header', name: 'set-cookie', primary: REDACTED, shadow: REDACTED },
    ]);
  });
});

describe('helpers', () => {
  it('moves an upstream path between service base paths', () => {
    expect(rebase('/v1/x?q=1', '/v1', '/v2')).toBe('/v2/x?q=1');
    expect(rebase('/x', '', '/v2')).toBe('/v2/x');
    expect(rebase('/v1/x', '/v1', '')).toBe('/x');
    expect(rebase('/v1', '/v1', '')).toBe('/');
    expect(rebase('/v1/', '/v1', '/v2')).toBe('/v2/');
    expect(rebase('/v1/x', '/v1', '/v2/')).toBe('/v2/x');
  });

  it('keeps the newest records of a ring, across a resize', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.newestFirst()).toEqual([5, 4, 3]);
    r.resize(2);
    expect(r.newestFirst()).toEqual([5, 4]);
    r.push(6);
    expect(r.newestFirst()).toEqual([6, 5]);
    r.resize(4);
    r.push(7);
    expect(r.newestFirst()).toEqual([7, 6, 5]);
    r.resize(0);
    r.push(8);
    expect(r.length).toBe(0);
  });
});

describe('metrics', () => {
  it('renders split and shadow counters as Prometheus families', async () => {
    const { trafficMetrics } = await import('./index.js');
    const { renderPrometheus } = await import('../observability/prometheus.js');
    const text = renderPrometheus(
      trafficMetrics({
        split: [{ scope: 'r', service: 'canary', requests: 5, unavailable: 1 }],
        shadow: [
          {
            route: 'r',
            shadow_service: 'next',
            mirrored: 10,
            dropped: 1,
            skipped_body: 2,
            shadow_errors: 3,
            compared: 6,
            matched: 4,
            mismatched: 2,
            mismatch_status: 1,
            mismatch_headers: 0,
            mismatch_body: 2,
            mismatch_latency: 0,
            uncomparable: 0,
            primary_latency_ms_sum: 12.5,
            shadow_latency_ms_sum: 20,
          },
        ],
      }),
    );
    expect(text).toContain('gatehouse_traffic_split_requests_total{scope="r",service="canary"} 5');
    expect(text).toContain('gatehouse_mirror_requests_total{route="r",shadow_service="next"} 10');
    expect(text).toContain('gatehouse_shadow_mismatches_total{route="r",shadow_service="next",kind="body"} 2');
  });
});
