/**
 * Property-based fuzzing of the configuration validator: whatever JSON-ish value arrives (admin API,
 * CLI, a file), checkDocument answers with a result — issues with JSON Pointer paths, or a document —
 * and never throws. Random values, and random mutations of a valid document, are both tried.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PLUGINS } from '../plugins/index.js';
import { checkDocument } from './check.js';
import { jsonValues, valuePaths, type ValuePath } from './test-support.js';

// CI runs each property a fixed number of times with fresh seeds; GATEHOUSE_FUZZ_SCALE=50 digs deeper locally.
const FUZZ_SCALE = Number(process.env.GATEHOUSE_FUZZ_SCALE ?? 1) || 1;

const VALID = {
  _format_version: '1',
  upstreams: [{ name: 'up', targets: [{ target: '10.0.0.1:8080' }, { target: '10.0.0.2:8080', weight: 50 }], algorithm: 'round-robin' }],
  services: [
    { name: 'svc', url: 'http://up', retries: 2, read_timeout: 1000 },
    { name: 'direct', host: 'example.com', port: 443, protocol: 'https' },
  ],
  routes: [
    { name: 'r1', service: 'svc', paths: ['/a', '=/exact', '~/users/(?<id>\\d+)'], methods: ['GET'], hosts: ['api.example.com'] },
    { name: 'r2', service: 'direct', paths: ['/b'], headers: { 'x-v': ['~^v[0-9]+$'] } },
  ],
  consumers: [{ username: 'alice', groups: ['gold'] }],
  plugins: [
    { name: 'rate-limiting', route: 'r1', config: { minute: 10 } },
    { name: 'cors', service: 'svc', config: { origins: ['https://example.com'] } },
    { name: 'key-auth', route: 'r2', config: {} },
  ],
};

function check(input: unknown): void {
  const r = checkDocument(input, PLUGINS);
  if (r.ok) expect(r.document).toBeTypeOf('object');
  else {
    expect(r.issues.length).toBeGreaterThan(0);
    for (const i of r.issues) {
      expect(typeof i.path).toBe('string');
      expect(typeof i.message).toBe('string');
    }
  }
}

// Values biased towards what the schema and the cross-checks look at.
const leaf = fc.oneof(
  fc.constantFrom('', '/', '~(', '~[', '=/', '*', 'http://', 'http://up', 'svc', 'r1', 'up', 'alice', '10.0.0.1:99999', '__proto__', 'constructor', -1, 0, 1e308, NaN, Infinity, null, true),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
);
const json = jsonValues(leaf, fc.oneof(fc.constantFrom('name', 'service', 'paths', 'config', 'url', 'targets', 'plugins', 'routes', '__proto__'), fc.string({ maxLength: 6 })), 4);

const VALID_PATHS = valuePaths(VALID);

/** A deep copy of VALID with the value at `path` replaced (or deleted when `value` is undefined). */
function mutate(path: ValuePath, value: unknown): unknown {
  const doc = structuredClone(VALID) as unknown as Record<string | number, unknown>;
  if (path.length === 0) return value;
  let node = doc;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return doc;
}

describe('checkDocument (property-based)', () => {
  it('accepts the base document (so the mutations start from a valid one)', () => {
    const r = checkDocument(VALID, PLUGINS);
    expect(r.ok ? [] : r.issues).toEqual([]);
  });

  it('regressions found by the fuzzer: header matchers with a name outside the token syntax are issues', () => {
    for (const headers of [{ '': {} }, { '': [1] }, { 'bad name': ['x'] }]) {
      const doc = structuredClone(VALID) as unknown as { routes: Record<string, unknown>[] };
      doc.routes[1]!.headers = headers;
      const r = checkDocument(doc, PLUGINS);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues.some((i) => i.path.startsWith('/routes/1/headers'))).toBe(true);
    }
  });

  it('regressions found by the fuzzer: an object where a defaulted array belongs is an issue, not a crash or a huge allocation', () => {
    for (const [input, path] of [
      [{ _format_version: '1', services: { length: [-5e-324] } }, '/services'],
      [{ _format_version: '1', routes: { length: 1e9 } }, '/routes'],
      [{ _format_version: '1', routes: { length: 2 } }, '/routes'],
    ] as const) {
      const r = checkDocument(input, PLUGINS);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues).toContainEqual({ path, message: 'Expected array' });
    }
  });

  it('never throws on arbitrary JSON-ish input', () => {
    fc.assert(fc.property(json, (v) => check(v)), { numRuns: 1000 * FUZZ_SCALE });
    fc.assert(fc.property(fc.dictionary(fc.constantFrom('_format_version', 'services', 'routes', 'upstreams', 'consumers', 'plugins', 'x'), json), (v) => check({ _format_version: '1', ...v })), { numRuns: 1000 * FUZZ_SCALE });
  });

  it('never throws on a valid document with one field replaced, removed or duplicated', () => {
    fc.assert(
      fc.property(fc.constantFrom(...VALID_PATHS), fc.oneof(json, fc.constant(undefined)), (path, value) => check(mutate(path, value))),
      { numRuns: 1500 * FUZZ_SCALE },
    );
  });

  it('reports duplicate and dangling references as issues, not exceptions', () => {
    fc.assert(
      fc.property(fc.constantFrom('services', 'routes', 'upstreams', 'consumers', 'plugins'), fc.nat(5), fc.string({ maxLength: 8 }), (section, copies, ref) => {
        const doc = structuredClone(VALID) as unknown as Record<string, unknown[]>;
        const list = doc[section]!;
        for (let i = 0; i < copies; i++) list.push(structuredClone(list[0]));
        (doc.routes![0] as Record<string, unknown>).service = ref;
        check(doc);
      }),
      { numRuns: 500 * FUZZ_SCALE },
    );
  });
});
