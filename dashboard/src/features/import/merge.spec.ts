// The document an import applies: merge keeps what the import does not name and replaces what it does
// (plugins by name and scope, credentials by consumer, kind and key); replace keeps only the credentials
// of consumers that survive; imported TLS certificates join the current ones in both modes.
import { describe, expect, it } from 'vitest';
import { applyImport, entityKey } from './merge';

const CURRENT = {
  _format_version: '1',
  services: [{ name: 'orders', url: 'http://old' }, { name: 'billing', url: 'http://billing' }],
  routes: [{ name: 'billing-api', service: 'billing' }],
  upstreams: [],
  consumers: [{ username: 'shop' }, { username: 'legacy' }],
  plugins: [
    { name: 'rate-limiting', config: { minute: 100 } },
    { name: 'rate-limiting', service: 'billing', config: { minute: 5 } },
  ],
  credentials: [
    { id: 'c1', consumer: 'shop', kind: 'basic-auth', key: 'shop' },
    { id: 'c2', consumer: 'legacy', kind: 'key-auth', key_hash: 'h-legacy' },
  ],
  certificates: [{ name: 'main' }],
};

const IMPORTED = {
  _format_version: '1',
  services: [{ name: 'orders', url: 'http://new' }],
  routes: [{ name: 'orders-api', service: 'orders' }],
  upstreams: [],
  consumers: [{ username: 'shop' }],
  plugins: [{ name: 'rate-limiting', config: { minute: 10 } }],
  credentials: [{ id: 'n1', consumer: 'shop', kind: 'basic-auth', key: 'shop' }],
};

describe('applyImport', () => {
  it('keys plugins by name and scope, consumers by username, credentials by consumer, kind and key', () => {
    expect(entityKey('plugins', { name: 'cors', route: 'r' })).toBe('cors@route:r');
    expect(entityKey('plugins', { name: 'cors' })).toBe('cors@global');
    expect(entityKey('consumers', { username: 'u' })).toBe('u');
    expect(entityKey('credentials', { consumer: 'u', kind: 'key-auth', key_hash: 'h' })).toBe('u/key-auth/h');
  });

  it('merge: adds, replaces same-named entities and names them, keeps everything else', () => {
    const { document, replaced, removed } = applyImport(CURRENT, IMPORTED, 'merge');
    expect(document.services).toEqual([{ name: 'billing', url: 'http://billing' }, { name: 'orders', url: 'http://new' }]);
    expect(document.routes).toEqual([...CURRENT.routes, ...IMPORTED.routes]);
    expect(document.plugins).toEqual([CURRENT.plugins[1], IMPORTED.plugins[0]]);
    expect(document.credentials).toEqual([CURRENT.credentials[1], IMPORTED.credentials[0]]);
    expect(document.certificates).toEqual(CURRENT.certificates);
    expect(replaced).toEqual(['services/orders', 'consumers/shop', 'plugins/rate-limiting@global', 'credentials/shop/basic-auth/shop']);
    expect(removed).toEqual([]);
  });

  it("replace: the import is the config; gone consumers' credentials go too, certificates stay", () => {
    const { document, replaced, removed } = applyImport(CURRENT, IMPORTED, 'replace');
    expect(document.services).toEqual(IMPORTED.services);
    expect(document.routes).toEqual(IMPORTED.routes);
    expect(document.consumers).toEqual(IMPORTED.consumers);
    expect(document.credentials).toEqual(IMPORTED.credentials);
    expect(document.certificates).toEqual(CURRENT.certificates);
    expect(removed).toEqual(['services/billing', 'routes/billing-api', 'consumers/legacy', 'plugins/rate-limiting@service:billing', 'credentials/legacy/key-auth/h-legacy']);
    expect(replaced).toContain('services/orders');
  });

  it('adds imported certificates in both modes, replacing one of the same name and keeping the rest', () => {
    const withCerts = { ...IMPORTED, certificates: [{ name: 'main', key_encrypted: 'v1.new' }, { name: 'shop.example.com', key_encrypted: 'v1.x' }] };
    const current = { ...CURRENT, certificates: [{ name: 'main' }, { name: 'acme-api' }] };
    for (const mode of ['merge', 'replace'] as const) {
      const { document, replaced } = applyImport(current, withCerts, mode);
      expect(document.certificates).toEqual([{ name: 'acme-api' }, ...withCerts.certificates]);
      expect(replaced).toContain('certificates/main');
    }
  });

  it('adds no credentials key when neither side has credentials', () => {
    const { credentials: _c, certificates: _t, ...bare } = CURRENT;
    const { credentials: _i, ...importedBare } = IMPORTED;
    expect('credentials' in applyImport(bare, importedBare, 'merge').document).toBe(false);
  });
});
