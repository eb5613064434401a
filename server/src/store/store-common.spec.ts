// Pure helpers of the stores: listing, issue re-rooting, renames and plugin ids.
import { describe, expect, it } from 'vitest';
import { emptyDocument } from '../config/schema.js';
import { canonicalDocument, clampPage, deterministicPluginId, listEntities, orderDocumentKeys, referrersOf, renameReferences, rewriteIssuePaths } from './store-common.js';

describe('store helpers', () => {
  it('clamps paging', () => {
    expect(clampPage({})).toEqual({ offset: 0, limit: 100 });
    expect(clampPage({ offset: -5, limit: 0 })).toEqual({ offset: 0, limit: 100 });
    expect(clampPage({ offset: 3, limit: 5000 })).toEqual({ offset: 3, limit: 1000 });
  });

  it('filters on scalars only and searches plugin names', () => {
    const plugins = [
      { id: 'aaaa', name: 'rate-limit', route: 'r1', config: { a: 1 } },
      { id: 'bbbb', name: 'cors', config: {} },
    ];
    expect(listEntities('plugins', plugins, { search: 'RATE' }).data).toHaveLength(1);
    expect(listEntities('plugins', plugins, { filter: { route: 'r1' } }).data.map((p) => p.id)).toEqual(['aaaa']);
    expect(listEntities('plugins', plugins, { filter: { config: '[object Object]' } }).total).toBe(0);
  });

  it('re-roots only the focused entity’s issues', () => {
    const issues = [
      { path: '/routes/3/paths/0', message: 'a' },
      { path: '/routes/3', message: 'b' },
      { path: '/routes/31/name', message: 'c' },
      { path: '/plugins/0/route', message: 'd' },
    ];
    expect(rewriteIssuePaths(issues, 'routes', 3).map((i) => i.path)).toEqual(['/paths/0', '/', '/routes/31/name', '/plugins/0/route']);
  });

  it('renames references and names referrers', () => {
    const doc = emptyDocument();
    doc.routes.push({ name: 'r', service: 's' } as never);
    doc.plugins.push({ id: 'p1', name: 'x', service: 's' } as never);
    doc.services.push({ name: 'svc', host: 'pool' } as never);
    expect(referrersOf(doc, 'services', 's')).toEqual(["route 'r'", "plugin 'x' (p1)"]);
    renameReferences(doc, 'services', 's', 't');
    renameReferences(doc, 'upstreams', 'pool', 'pool2');
    expect([doc.routes[0]!.service, doc.plugins[0]!.service, doc.services[0]!.host]).toEqual(['t', 't', 'pool2']);
  });

  it('derives stable uuid-shaped plugin ids per scope', () => {
    const a = deterministicPluginId({ name: 'cors', route: 'r' });
    expect(a).toBe(deterministicPluginId({ name: 'cors', route: 'r' }));
    expect(a).not.toBe(deterministicPluginId({ name: 'cors', service: 'r' }));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('orders documents canonically and entity keys by schema', () => {
    const doc = emptyDocument();
    doc.services.push({ tags: [], name: 'b', host: 'h' } as never, { name: 'a', host: 'h', tags: [] } as never);
    const out = orderDocumentKeys(canonicalDocument(doc));
    expect(out.services.map((s) => s.name)).toEqual(['a', 'b']);
    expect(Object.keys(out.services[1]!)).toEqual(['name', 'host', 'tags']);
  });
});
