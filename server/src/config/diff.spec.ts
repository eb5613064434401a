/**
 * Tests of the document diff: matching by key, defaults, field pointers, target sets and rendering.
 */
import { describe, expect, it } from 'vitest';
import { diffDocuments, DiffInputError, formatDiff, isEmptyDiff, type ConfigDiff } from './diff.js';
import { emptyDocument, type ConfigDocument } from './schema.js';

/** Builds a document from partial entity lists; defaults are left for diffDocuments to fill. */
function doc(parts: Partial<Record<'services' | 'routes' | 'upstreams' | 'consumers' | 'plugins', unknown[]>>): ConfigDocument {
  return { ...emptyDocument(), ...parts } as ConfigDocument;
}

/** Compact view of a diff for table assertions. */
function summary(d: ConfigDiff) {
  return {
    created: d.created.map((c) => `${c.kind}:${c.key}`),
    updated: d.updated.map((c) => `${c.kind}:${c.key} ${(c.fields ?? []).map((f) => f.path).join(',')}`),
    deleted: d.deleted.map((c) => `${c.kind}:${c.key}`),
    unchanged: d.unchanged,
  };
}

const users = { name: 'users', url: 'http://a' };
const orders = { name: 'orders', service: 'users', paths: ['/orders'] };
const uuid1 = '3f1c7a2e-8d4b-4c55-9a10-0b6f3e2d1c01';
const uuid2 = '3f1c7a2e-8d4b-4c55-9a10-0b6f3e2d1c02';

describe('diffDocuments', () => {
  const cases: {
    name: string;
    current: Parameters<typeof doc>[0];
    next: Parameters<typeof doc>[0];
    expected: ReturnType<typeof summary>;
  }[] = [
    {
      name: 'identical documents',
      current: { services: [users], routes: [orders] },
      next: { services: [users], routes: [orders] },
      expected: { created: [], updated: [], deleted: [], unchanged: 2 },
    },
    {
      name: 'explicit defaults equal omitted ones',
      current: { services: [users] },
      next: { services: [{ ...users, enabled: true, retries: 0, tags: [], connect_timeout: 5000 }] },
      expected: { created: [], updated: [], deleted: [], unchanged: 1 },
    },
    {
      name: 'entity order does not matter',
      current: { services: [users, { name: 'b', url: 'http://b' }] },
      next: { services: [{ name: 'b', url: 'http://b' }, users] },
      expected: { created: [], updated: [], deleted: [], unchanged: 2 },
    },
    {
      name: 'create, update and delete',
      current: { services: [users, { name: 'old', url: 'http://o' }] },
      next: { services: [{ ...users, url: 'http://b' }], routes: [orders] },
      expected: { created: ['routes:orders'], updated: ['services:users /url'], deleted: ['services:old'], unchanged: 0 },
    },
    {
      name: 'a removed optional field',
      current: { services: [{ name: 's', host: 'h', port: 80 }] },
      next: { services: [{ name: 's', host: 'h' }] },
      expected: { created: [], updated: ['services:s /port'], deleted: [], unchanged: 0 },
    },
    {
      name: 'arrays compare as whole values',
      current: { routes: [{ name: 'r', paths: ['/a', '/b'] }] },
      next: { routes: [{ name: 'r', paths: ['/b', '/a'] }] },
      expected: { created: [], updated: ['routes:r /paths'], deleted: [], unchanged: 0 },
    },
    {
      name: 'nested objects are walked, with pointer escaping',
      current: { routes: [{ name: 'r', headers: { 'x-env': ['prod'], 'a~b': ['1'] } }] },
      next: { routes: [{ name: 'r', headers: { 'x-env': ['dev'], 'a~b': ['1'], 'x-new': ['y'] } }] },
      expected: { created: [], updated: ['routes:r /headers/x-env,/headers/x-new'], deleted: [], unchanged: 0 },
    },
    {
      name: 'pointer escapes ~ and /',
      current: { plugins: [{ name: 'p', config: { 'a/b': 1, 'c~d': 1 } }] },
      next: { plugins: [{ name: 'p', config: { 'a/b': 2, 'c~d': 2 } }] },
      expected: { created: [], updated: ['plugins:p||| /config/a~1b,/config/c~0d'], deleted: [], unchanged: 0 },
    },
    {
      name: 'upstream targets are a set keyed by target',
      current: {
        upstreams: [{ name: 'u', targets: [{ target: '10.0.0.1:80' }, { target: '10.0.0.2:80', weight: 50 }, { target: '10.0.0.3:80' }] }],
      },
      next: {
        upstreams: [{ name: 'u', targets: [{ target: '10.0.0.4:80' }, { target: '10.0.0.2:80', weight: 10 }, { target: '10.0.0.1:80', weight: 100 }] }],
      },
      expected: {
        created: [],
        updated: ['upstreams:u /targets/10.0.0.2:80/weight,/targets/10.0.0.3:80,/targets/10.0.0.4:80'],
        deleted: [],
        unchanged: 0,
      },
    },
    {
      name: 'reordered targets are unchanged',
      current: { upstreams: [{ name: 'u', targets: [{ target: 'a:1' }, { target: 'b:2' }] }] },
      next: { upstreams: [{ name: 'u', targets: [{ target: 'b:2' }, { target: 'a:1' }] }] },
      expected: { created: [], updated: [], deleted: [], unchanged: 1 },
    },
    {
      name: 'plugin ids are ignored; plugins match by name and scope',
      current: { routes: [orders], services: [users], plugins: [{ id: uuid1, name: 'cors', route: 'orders', config: { a: 1 } }] },
      next: { routes: [orders], services: [users], plugins: [{ name: 'cors', route: 'orders', config: { a: 1 } }] },
      expected: { created: [], updated: [], deleted: [], unchanged: 3 },
    },
    {
      name: 'different ids on the same instance are not a change',
      current: { plugins: [{ id: uuid1, name: 'cors' }] },
      next: { plugins: [{ id: uuid2, name: 'cors' }] },
      expected: { created: [], updated: [], deleted: [], unchanged: 1 },
    },
    {
      name: 'moving a plugin to another scope is a delete and a create',
      current: { services: [users], plugins: [{ name: 'cors', service: 'users' }] },
      next: { services: [users], plugins: [{ name: 'cors' }] },
      expected: { created: ['plugins:cors|||'], updated: [], deleted: ['plugins:cors|users||'], unchanged: 1 },
    },
    {
      name: 'consumers are keyed by username',
      current: { consumers: [{ username: 'alice', groups: ['a'] }] },
      next: { consumers: [{ username: 'alice', groups: ['a', 'b'] }, { username: 'bob' }] },
      expected: { created: ['consumers:bob'], updated: ['consumers:alice /groups'], deleted: [], unchanged: 0 },
    },
  ];

  it.each(cases)('$name', ({ current, next, expected }) => {
    expect(summary(diffDocuments(doc(current), doc(next)))).toEqual(expected);
  });

  it('records before/after values of changed fields and whole entities', () => {
    const d = diffDocuments(doc({ services: [users] }), doc({ services: [{ ...users, url: 'http://b', retries: 2 }] }));
    expect(d.updated[0]?.fields).toEqual([
      { path: '/url', before: 'http://a', after: 'http://b' },
      { path: '/retries', before: 0, after: 2 },
    ]);
    expect(d.updated[0]?.before).toMatchObject({ name: 'users', url: 'http://a', enabled: true });
    expect(d.updated[0]?.after).toMatchObject({ name: 'users', url: 'http://b', retries: 2 });
  });

  it('does not mutate its inputs', () => {
    const current = doc({ services: [{ ...users }] });
    const snapshot = structuredClone(current);
    diffDocuments(current, doc({}));
    expect(current).toEqual(snapshot);
  });

  it('rejects a document that fails the schema, naming the side', () => {
    const bad = doc({ services: [{ name: 'x', url: 'http://a', retries: 'many' }] });
    expect(() => diffDocuments(doc({}), bad)).toThrow(DiffInputError);
    try {
      diffDocuments(doc({}), bad);
    } catch (e) {
      expect((e as DiffInputError).side).toBe('next');
      expect((e as DiffInputError).issues[0]?.path).toBe('/services/0/retries');
    }
  });

  it('isEmptyDiff', () => {
    expect(isEmptyDiff(diffDocuments(doc({ services: [users] }), doc({ services: [users] })))).toBe(true);
    expect(isEmptyDiff(diffDocuments(doc({}), doc({ services: [users] })))).toBe(false);
  });
});

describe('formatDiff', () => {
  it('renders entity by entity, kinds in dependency order, then a summary', () => {
    const d = diffDocuments(
      doc({
        services: [users, { name: 'gone', url: 'http://g' }],
        routes: [orders],
        plugins: [{ name: 'response-headers', route: 'orders' }],
      }),
      doc({
        services: [{ ...users, url: 'http://b' }],
        routes: [orders, { name: 'carts', paths: ['/carts'] }],
        consumers: [{ username: 'alice' }],
        plugins: [{ name: 'cors' }, { name: 'key-auth', service: 'users', route: 'orders' }],
      }),
    );
    expect(formatDiff(d)).toBe(
      [
        '+ consumer alice',
        '+ route carts',
        '+ plugin cors (global)',
        '+ plugin key-auth (service users, route orders)',
        '~ service users: /url "http://a" → "http://b"',
        '- service gone',
        '- plugin response-headers (route orders)',
        '4 created, 1 updated, 2 deleted, 1 unchanged.',
      ].join('\n') + '\n',
    );
  });

  it('shows absent values as (unset) and truncates long ones', () => {
    const long = 'x'.repeat(500);
    const d = diffDocuments(
      doc({ services: [{ name: 's', host: 'h', port: 80 }], routes: [{ name: 'r', rewrite: '/a' }] }),
      doc({ services: [{ name: 's', host: 'h' }], routes: [{ name: 'r', rewrite: `/${long}` }] }),
    );
    const out = formatDiff(d);
    expect(out).toContain('~ service s: /port 80 → (unset)\n');
    const rewriteLine = out.split('\n').find((l) => l.startsWith('~ route r: /rewrite'));
    expect(rewriteLine).toBeDefined();
    expect(rewriteLine!.length).toBeLessThan(300);
    expect(rewriteLine).toMatch(/…$/);
  });

  it('says when there is nothing to do', () => {
    expect(formatDiff(diffDocuments(doc({ services: [users] }), doc({ services: [users] })))).toBe('No changes (1 unchanged).\n');
  });
});
