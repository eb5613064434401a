// Which routes a config change reaches: own fields, service, upstream, and the plugin instance that wins.
import { describe, expect, it } from 'vitest';
import { TEST_PLUGINS } from '../store/test-support.js';
import { affectedRoutes, formatAffectedRoutes } from './affected-routes.js';
import { checkDocument } from './check.js';
import type { ConfigDocument } from './schema.js';

function doc(over: Partial<Record<keyof ConfigDocument, unknown[]>>): ConfigDocument {
  const base = {
    _format_version: '1',
    services: [
      { name: 'orders', url: 'http://orders-up:8080' },
      { name: 'users', host: 'users.internal' },
    ],
    upstreams: [{ name: 'orders-up', targets: [{ target: '10.0.0.1:8080' }] }],
    routes: [
      { name: 'orders-api', service: 'orders', paths: ['/orders'] },
      { name: 'orders-admin', service: 'orders', paths: ['/admin/orders'] },
      { name: 'users-api', service: 'users', paths: ['/users'] },
    ],
    consumers: [{ username: 'alice' }],
    plugins: [],
    ...over,
  };
  const c = checkDocument(base, TEST_PLUGINS);
  if (!c.ok) throw new Error(JSON.stringify(c.issues));
  return c.document;
}
const names = (a: { route: string }[]) => a.map((x) => x.route).sort();
const base = doc({});

describe('affectedRoutes', () => {
  it('is empty for an identical document and ignores tags', () => {
    expect(affectedRoutes(base, doc({}))).toEqual([]);
    expect(affectedRoutes(base, doc({ routes: base.routes.map((r) => ({ ...r, tags: ['x'] })) }))).toEqual([]);
    expect(formatAffectedRoutes([])).toBe('');
  });

  it("reports a route's own field changes", () => {
    const next = doc({ routes: base.routes.map((r) => (r.name === 'users-api' ? { ...r, paths: ['/v2/users'], strip_path: false } : r)) });
    expect(affectedRoutes(base, next)).toEqual([{ route: 'users-api', reasons: ['route fields /paths, /strip_path'] }]);
  });

  it('reports every route of a changed service, and of the upstream it balances over', () => {
    const svc = doc({ services: [{ name: 'orders', url: 'http://orders-up:8080', read_timeout: 5000 }, { name: 'users', host: 'users.internal' }] });
    const a = affectedRoutes(base, svc);
    expect(names(a)).toEqual(['orders-admin', 'orders-api']);
    expect(a[0]!.reasons).toEqual(["service 'orders' (/read_timeout)"]);
    const up = doc({ upstreams: [{ name: 'orders-up', targets: [{ target: '10.0.0.2:8080' }] }] });
    const b = affectedRoutes(base, up);
    expect(names(b)).toEqual(['orders-admin', 'orders-api']);
    expect(b[0]!.reasons).toEqual(["upstream 'orders-up' (/targets)"]);
    const newUp = doc({ upstreams: [...base.upstreams, { name: 'users.internal', targets: [{ target: '10.0.0.9:80' }] }] });
    expect(affectedRoutes(base, newUp)).toEqual([{ route: 'users-api', reasons: ["now balanced by upstream 'users.internal'"] }]);
  });

  it('follows the winning plugin instance: global, service, route and consumer scope', () => {
    const g = (value: string) => ({ name: 'header-stamp', config: { header: 'x-g', value } });
    const withGlobal = doc({ plugins: [g('1')] });
    expect(names(affectedRoutes(base, withGlobal))).toEqual(['orders-admin', 'orders-api', 'users-api']);
    expect(affectedRoutes(base, withGlobal)[0]!.reasons).toEqual(['plugin header-stamp (global) now applies']);

    // orders-api has its own instance: a change to the global one does not reach it.
    const own = { name: 'header-stamp', route: 'orders-api', config: { header: 'x-r' } };
    const before = doc({ plugins: [g('1'), own] });
    const after = doc({ plugins: [g('2'), own] });
    expect(names(affectedRoutes(before, after))).toEqual(['orders-admin', 'users-api']);

    const svc = doc({ plugins: [g('1'), own, { name: 'header-stamp', service: 'orders', config: { header: 'x-s' } }] });
    expect(affectedRoutes(before, svc)).toEqual([{ route: 'orders-admin', reasons: ['plugin header-stamp: header-stamp (global) replaced by header-stamp (service orders)'] }]);

    const disabled = doc({ plugins: [{ ...g('1'), enabled: false }, own] });
    expect(affectedRoutes(before, disabled).find((x) => x.route === 'users-api')?.reasons).toEqual(['plugin header-stamp (global) no longer applies']);

    const forAlice = doc({ plugins: [g('1'), own, { name: 'header-stamp', consumer: 'alice', config: { header: 'x-c' } }] });
    const c = affectedRoutes(before, forAlice);
    expect(names(c)).toEqual(['orders-admin', 'orders-api', 'users-api']);
    expect(c.find((x) => x.route === 'orders-api')?.reasons).toEqual([
      "plugin header-stamp for consumer 'alice': header-stamp (route orders-api) replaced by header-stamp (consumer alice)",
    ]);
  });

  it('formats one line per route after a heading', () => {
    expect(formatAffectedRoutes([{ route: 'a', reasons: ['x', 'y'] }])).toBe('Routes whose behaviour changes (1):\n  route a: x; y\n');
  });
});
