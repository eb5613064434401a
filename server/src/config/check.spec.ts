import { describe, expect, it } from 'vitest';
import { PLUGINS } from '../plugins/index.js';
import { checkDocument } from './check.js';
import { ConfigDocumentSchema, type ConfigDocument } from './schema.js';
import { hasPassed } from './validate.js';

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
