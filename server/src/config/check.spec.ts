import { describe, expect, it } from 'vitest';
import { PLUGINS } from '../plugins/index.js';
import { checkDocument } from './check.js';
import { ConfigDocumentSchema, type ConfigDocument } from './schema.js';
import { hasPassed, markValidated } from './validate.js';

function doc(): ConfigDocument {
  return {
    _format_version: '1',
    services: [{ name: 'orders', url: 'http://127.0.0.1:9001' }],
    routes: [{ name: 'orders', service: 'orders', paths: ['/orders'] }],
    plugins: [{ name: 'rate-limiting', route: 'orders', config: { minute: 5 } }],
  } as unknown as ConfigDocument;
}

function ok(input: unknown): ConfigDocument {
  const r = checkDocument(input, PLUGINS);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.document;
}

describe('checkDocument on a document that already passed', () => {
  it('skips the schema (the admin API and the store check the same document) but not the references', () => {
    const first = ok(doc());
    expect(hasPassed(first, ConfigDocumentSchema)).toBe(true);
    // The schema is not run again: a value it would refuse, put there after the check, goes unnoticed...
    (first.routes[0] as { priority: unknown }).priority = 'high';
    expect(checkDocument(first, PLUGINS).ok).toBe(true);
    // ...while the whole-document checks still run on every call.
    first.routes[0]!.service = 'missing';
    const again = checkDocument(first, PLUGINS);
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.issues).toContainEqual({ path: '/routes/0/service', message: "service 'missing' does not exist" });
    // An equal document that did not come out of a check is validated in full.
    const fresh = doc();
    (fresh.routes[0] as { priority: unknown }).priority = 'high';
    expect(checkDocument(fresh, PLUGINS).ok).toBe(false);
  });

  it('normalises plugin configs into copies, never into the objects it was given', () => {
    const input = doc();
    const config = input.plugins[0]!.config;
    const first = ok(input);
    // Plugin defaults were filled in, in a copy.
    expect(config).toEqual({ minute: 5 });
    expect(input.plugins[0]!.config).toBe(config);
    expect(Object.keys(first.plugins[0]!.config).length).toBeGreaterThan(1);
    // A passed document whose plugin config has not been through its plugin's schema: the same again.
    const raw = { minute: 7 };
    const plugin = { ...first.plugins[0]!, config: raw };
    first.plugins = [plugin];
    const again = ok(first);
    expect(again.plugins[0]!.config).toMatchObject({ minute: 7 });
    expect(Object.keys(again.plugins[0]!.config).length).toBeGreaterThan(1);
    expect(raw).toEqual({ minute: 7 });
    expect(plugin.config).toBe(raw);
    expect(first.plugins[0]).toBe(plugin);
  });
});

describe('checkDocument with the stored document known', () => {
  it('takes the entities equal to stored ones as those objects and validates the rest', () => {
    // As a store keeps its head: plugin instances with ids (their key), the whole document marked as passed.
    const known = markValidated(ok({ ...doc(), plugins: doc().plugins.map((p) => ({ ...p, id: '6f1c1b9e-3d1a-4d55-9a3b-2f0f4c1e8a01' })) }), ConfigDocumentSchema);
    // A GET /config sent back with one service changed and one route added: the same values, new objects.
    const input = JSON.parse(JSON.stringify(known)) as ConfigDocument;
    input.services[0]!.url = 'http://127.0.0.1:9002';
    input.routes.push({ name: 'more', service: 'orders', paths: ['/more'] } as ConfigDocument['routes'][number]);
    const r = checkDocument(input, PLUGINS, known);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.document.routes[0]).toBe(known.routes[0]);
    expect(r.document.plugins[0]).toBe(known.plugins[0]);
    expect(r.document.services[0]).not.toBe(known.services[0]);
    expect(r.document.services[0]!.url).toBe('http://127.0.0.1:9002');
    // The added route got its defaults, as validation gives them.
    expect(r.document.routes[1]).toEqual(ok({ ...doc(), routes: [...doc().routes, input.routes[1]] }).routes[1]);
    // The input itself is left as it was.
    expect(input.routes[0]).not.toBe(known.routes[0]);
  });

  it('validates an entity whose stored twin did not pass, and points issues into the input', () => {
    const unmarked = JSON.parse(JSON.stringify(ok(doc()))) as ConfigDocument;
    const r = checkDocument(JSON.parse(JSON.stringify(unmarked)), PLUGINS, unmarked);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.document.routes[0]).not.toBe(unmarked.routes[0]);
    expect(r.document.routes[0]).toEqual(unmarked.routes[0]);

    const known = ok(doc());
    const bad = JSON.parse(JSON.stringify(known)) as { routes: unknown[] };
    bad.routes.unshift({ name: 'aaa', service: 'orders', paths: 'not a list' });
    const b = checkDocument(bad, PLUGINS, known);
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.issues.map((i) => i.path)).toContain('/routes/0/paths');
    // An entity equal in its key only is validated as sent.
    const changed = JSON.parse(JSON.stringify(known)) as { routes: Record<string, unknown>[] };
    changed.routes[0]!.priority = 'high';
    const c = checkDocument(changed, PLUGINS, known);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.issues.map((i) => i.path)).toContain('/routes/0/priority');
  });
});
