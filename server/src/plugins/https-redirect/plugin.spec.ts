import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import plugin from './plugin.js';

const deps = { logger: console, scope: 'global' as const, route: undefined };

describe('https-redirect', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway(
      {
        services: [{ name: 's', url: `http://${up.address}` }],
        routes: [
          { name: 'secure', service: 's', paths: ['/secure'], hosts: ['api.test'] },
          { name: 'moved', service: 's', paths: ['/moved'] },
          { name: 'hsts-only', service: 's', paths: ['/hsts'] },
          { name: 'open', service: 's', paths: ['/open'] },
        ],
        plugins: [
          { name: 'https-redirect', route: 'secure', config: { https_port: 8443, hsts: { max_age: 600, include_subdomains: true } } },
          { name: 'https-redirect', route: 'moved', config: { status_code: 301 } },
          { name: 'https-redirect', route: 'hsts-only', config: { redirect: false, hsts: { max_age: 63072000, include_subdomains: true, preload: true } } },
        ],
      },
      ['127.0.0.1'],
    );
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('redirects plain HTTP with 308 to the same path and query on the HTTPS port; the upstream is not called', async () => {
    const before = up.hits;
    const r = await send(gw.port, '/secure/a/b?x=1&y=2', { headers: { host: 'api.test:8000' } });
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('https://api.test:8443/secure/a/b?x=1&y=2');
    // HSTS is never sent over plain HTTP (RFC 6797 §7.2).
    expect(r.headers['strict-transport-security']).toBeUndefined();
    expect(up.hits).toBe(before);
  });

  it('uses 301 when asked, and leaves the default port out', async () => {
    const r = await send(gw.port, '/moved', { headers: { host: 'www.test' } });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('https://www.test/moved');
  });

  it('believes X-Forwarded-Proto: https from a trusted proxy: no redirect, and HSTS on the answer', async () => {
    const r = await send(gw.port, '/secure/a', { headers: { host: 'api.test', 'x-forwarded-proto': 'https' } });
    expect(r.status).toBe(200);
    expect(r.headers['strict-transport-security']).toBe('max-age=600; includeSubDomains');
  });

  it('with redirect off only adds HSTS (and only to HTTPS answers)', async () => {
    const plain = await send(gw.port, '/hsts');
    expect(plain.status).toBe(200);
    expect(plain.headers['strict-transport-security']).toBeUndefined();
    const secure = await send(gw.port, '/hsts', { headers: { 'x-forwarded-proto': 'https' } });
    expect(secure.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains; preload');
  });

  it('routes without the plugin are untouched', async () => {
    expect((await send(gw.port, '/open')).status).toBe(200);
  });

  it('refuses preload without the preload-list requirements', () => {
    expect(() => plugin.create({ redirect: true, status_code: 308, https_port: 443, hsts: { max_age: 600, include_subdomains: true, preload: true } }, deps)).toThrow(/preload/);
  });
});

describe('https-redirect behind an untrusted peer', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
      plugins: [{ name: 'https-redirect', config: {} }],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('ignores a client-sent X-Forwarded-Proto and redirects anyway', async () => {
    const r = await send(gw.port, '/x', { headers: { host: 'h.test', 'x-forwarded-proto': 'https' } });
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('https://h.test/x');
  });
});
