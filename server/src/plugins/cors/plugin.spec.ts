import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import plugin, { appendVary } from './plugin.js';

const APP = 'https://app.example.com';
const preflight = (origin: string, extra: Record<string, string> = {}) => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': 'POST', ...extra },
});

describe('cors', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('vary', 'Accept-Language');
      res.setHeader('x-total', '3');
      // An upstream's own CORS answer is replaced by the gateway's.
      res.setHeader('access-control-allow-origin', 'https://upstream.invalid');
      res.end(JSON.stringify({ method: req.method }));
    });
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [
        { name: 'open', service: 's', paths: ['/open'] },
        { name: 'list', service: 's', paths: ['/list'] },
        { name: 'creds', service: 's', paths: ['/creds'] },
        { name: 'cont', service: 's', paths: ['/cont'] },
        { name: 'pna', service: 's', paths: ['/pna'] },
        { name: 'auth', service: 's', paths: ['/auth'] },
      ],
      plugins: [
        { name: 'cors', route: 'open', config: {} },
        {
          name: 'cors',
          route: 'list',
          config: { origins: [APP, '~^https://[a-z0-9-]+\\.example\\.org$'], methods: ['GET', 'POST'], exposed_headers: ['X-Total'], max_age: 600 },
        },
        { name: 'cors', route: 'creds', config: { origins: ['*'], credentials: true, headers: ['Authorization', 'Content-Type'] } },
        { name: 'cors', route: 'cont', config: { origins: [APP], preflight_continue: true } },
        { name: 'cors', route: 'pna', config: { origins: [APP], private_network: true } },
        { name: 'cors', route: 'auth', config: { origins: [APP] } },
        { name: 'key-auth', route: 'auth', config: {} },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('answers a preflight at the gateway with 204, reflecting the requested headers', async () => {
    const before = up.hits;
    const r = await send(gw.port, '/open', preflight('https://a.test', { 'access-control-request-headers': 'x-one, content-type' }));
    expect(r.status).toBe(204);
    expect(r.body).toBe('');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-allow-methods']).toBe('GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS');
    expect(r.headers['access-control-allow-headers']).toBe('x-one, content-type');
    expect(r.headers.vary).toBe('Access-Control-Request-Headers');
    expect(r.headers['access-control-max-age']).toBeUndefined();
    expect(up.hits).toBe(before);
  });

  it('simple request with `*`: ACAO * on every response, no Vary: Origin needed', async () => {
    const r = await send(gw.port, '/open', { headers: { origin: 'https://a.test' } });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers.vary).toBe('Accept-Language');
    expect((await send(gw.port, '/open')).headers['access-control-allow-origin']).toBe('*');
  });

  it('origin list: exact and pattern origins are reflected, with Vary: Origin appended to the upstream Vary', async () => {
    for (const origin of [APP, 'https://shop-1.example.org']) {
      const r = await send(gw.port, '/list', { headers: { origin } });
      expect(r.headers['access-control-allow-origin'], origin).toBe(origin);
      expect(r.headers['access-control-expose-headers']).toBe('X-Total');
      expect(r.headers.vary).toBe('Accept-Language, Origin');
      expect(r.headers['access-control-allow-credentials']).toBeUndefined();
    }
    const p = await send(gw.port, '/list', preflight('https://shop-1.example.org'));
    expect(p.status).toBe(204);
    expect(p.headers['access-control-allow-origin']).toBe('https://shop-1.example.org');
    expect(p.headers['access-control-allow-methods']).toBe('GET, POST');
    expect(p.headers['access-control-max-age']).toBe('600');
    expect(p.headers.vary).toBe('Origin, Access-Control-Request-Headers');
  });

  it('disallowed origin: no CORS headers, the request still proceeds, Vary: Origin still set', async () => {
    for (const origin of ['https://evil.example', 'https://example.org.evil.com', 'https://x.example.org.evil', 'null']) {
      const r = await send(gw.port, '/list', { headers: { origin } });
      expect(r.status).toBe(200);
      // The upstream's own header is left alone; the gateway adds none for this origin.
      expect(r.headers['access-control-allow-origin'], origin).toBe('https://upstream.invalid');
      expect(r.headers['access-control-expose-headers']).toBeUndefined();
      expect(r.headers.vary).toBe('Accept-Language, Origin');
    }
    const p = await send(gw.port, '/list', preflight('https://evil.example'));
    expect(p.status).toBe(204);
    expect(p.headers['access-control-allow-origin']).toBeUndefined();
    expect(p.headers['access-control-allow-methods']).toBeUndefined();
    expect(p.headers.vary).toContain('Origin');
    // Without Origin the answer still varies by it, so a cache keeps the variants apart.
    expect((await send(gw.port, '/list')).headers.vary).toBe('Accept-Language, Origin');
  });

  it('credentials never combine with *: the origin is reflected, with Allow-Credentials', async () => {
    const r = await send(gw.port, '/creds', { headers: { origin: 'https://any.test' } });
    expect(r.headers['access-control-allow-origin']).toBe('https://any.test');
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers.vary).toBe('Accept-Language, Origin');
    const p = await send(gw.port, '/creds', preflight('https://any.test', { 'access-control-request-headers': 'x-other' }));
    expect(p.headers['access-control-allow-origin']).toBe('https://any.test');
    expect(p.headers['access-control-allow-credentials']).toBe('true');
    expect(p.headers['access-control-allow-headers']).toBe('Authorization, Content-Type');
    expect(p.headers.vary).toBe('Origin');
    // `*` does not reflect the null origin of sandboxed documents when cookies are allowed.
    expect((await send(gw.port, '/creds', { headers: { origin: 'null' } })).headers['access-control-allow-origin']).toBe('https://upstream.invalid');
  });

  it('preflight_continue sends the preflight upstream and adds only the origin headers', async () => {
    const before = up.hits;
    const r = await send(gw.port, '/cont', preflight(APP));
    expect(up.hits).toBe(before + 1);
    expect(r.status).toBe(200);
    expect(r.json<{ method: string }>().method).toBe('OPTIONS');
    expect(r.headers['access-control-allow-origin']).toBe(APP);
    expect(r.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('private_network answers a Private Network Access preflight', async () => {
    const r = await send(gw.port, '/pna', preflight(APP, { 'access-control-request-private-network': 'true' }));
    expect(r.headers['access-control-allow-private-network']).toBe('true');
    const plain = await send(gw.port, '/list', preflight(APP, { 'access-control-request-private-network': 'true' }));
    expect(plain.headers['access-control-allow-private-network']).toBeUndefined();
  });

  it('runs before auth: the preflight needs no credentials, and the 401 carries CORS headers', async () => {
    const p = await send(gw.port, '/auth', preflight(APP));
    expect(p.status).toBe(204);
    expect(p.headers['access-control-allow-origin']).toBe(APP);
    const r = await send(gw.port, '/auth', { headers: { origin: APP } });
    expect(r.status).toBe(401);
    expect(r.headers['access-control-allow-origin']).toBe(APP);
    expect(r.headers.vary).toBe('Origin');
  });

  it('an OPTIONS without Access-Control-Request-Method is not a preflight', async () => {
    const r = await send(gw.port, '/list', { method: 'OPTIONS', headers: { origin: APP } });
    expect(r.status).toBe(200);
    expect(r.json<{ method: string }>().method).toBe('OPTIONS');
  });

  it('appendVary keeps existing tokens and *; bad patterns are refused at create', () => {
    expect(appendVary(undefined, 'Origin')).toBe('Origin');
    expect(appendVary('origin', 'Origin')).toBe('origin');
    expect(appendVary('*', 'Origin')).toBe('*');
    expect(appendVary(['A', 'B'], 'Origin')).toBe('A, B, Origin');
    const cfg = { origins: ['~('], methods: ['GET'], exposed_headers: [], credentials: false, preflight_continue: false, private_network: false };
    expect(() => plugin.create(cfg, { logger: console, scope: 'global', route: undefined })).toThrow(/invalid origin pattern/);
  });
});
