import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validate } from '../../config/validate.js';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { OAuth2IntrospectionSchema } from './schema.js';

/** A real RFC 7662 endpoint: checks the client's Basic credentials and the form body, answers per token. */
class IntrospectionServer {
  server!: Server;
  url = '';
  calls = 0;
  delayMs = 0;
  status = 200;
  lastBody = '';
  tokens = new Map<string, Record<string, unknown>>();
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.calls++;
        this.lastBody = body;
        setTimeout(() => {
          if (req.method !== 'POST' || req.headers.authorization !== `Basic ${Buffer.from('gw:s3cret').toString('base64')}`) {
            res.writeHead(401).end();
            return;
          }
          if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') {
            res.writeHead(415).end();
            return;
          }
          const token = new URLSearchParams(body).get('token') ?? '';
          res.writeHead(this.status, { 'content-type': 'application/json' }).end(JSON.stringify(this.tokens.get(token) ?? { active: false }));
        }, this.delayMs);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/oauth/introspect`;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const nowSec = () => Math.floor(Date.now() / 1000);

describe('oauth2-introspection', () => {
  const idp = new IntrospectionServer();
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    await idp.start();
    up = await startUpstream();
    const base = { introspection_endpoint: idp.url, client_id: 'gw', client_secret: 's3cret', timeout_ms: 200 };
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      consumers: [{ username: 'carol', groups: ['ops'] }],
      routes: ['plain', 'scoped', 'lenient', 'mapped', 'nocache', 'wrongcreds'].map((n) => ({ name: n, service: 's', paths: [`/${n}`] })),
      plugins: [
        { name: 'oauth2-introspection', route: 'plain', config: { ...base, token_type_hint: 'access_token', claims_to_headers: { sub: 'x-sub' }, hide_credentials: true } },
        { name: 'oauth2-introspection', route: 'scoped', config: { ...base, required_scopes: ['orders:read', 'orders:write'] } },
        { name: 'oauth2-introspection', route: 'lenient', config: { ...base, unavailable_status: 401 } },
        { name: 'oauth2-introspection', route: 'mapped', config: { ...base, consumer_field: 'username' } },
        { name: 'oauth2-introspection', route: 'nocache', config: { ...base, cache_ttl_seconds: 0, negative_cache_ttl_seconds: 0 } },
        { name: 'oauth2-introspection', route: 'wrongcreds', config: { ...base, client_secret: 'nope' } },
      ],
    });
  });
  afterAll(async () => {
    await gw?.close();
    await up?.close();
    await idp.close();
  });
  beforeEach(() => {
    idp.delayMs = 0;
    idp.status = 200;
  });

  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const code = (r: { json<T>(): T }) => r.json<{ code: string }>().code;

  it('fills defaults', () => {
    const v = validate(OAuth2IntrospectionSchema, { introspection_endpoint: 'https://idp/introspect' });
    expect(v.ok && v.value).toMatchObject({ timeout_ms: 2000, unavailable_status: 503, cache_ttl_seconds: 60, cache_size: 10_000 });
  });

  it('an active token passes; the call is a form POST with Basic client auth; the answer is cached', async () => {
    idp.tokens.set('tok-a', { active: true, sub: 'user-1', scope: 'a b', exp: nowSec() + 60 });
    const before = idp.calls;
    const r = await send(gw.port, '/plain', { headers: { ...bearer('tok-a'), 'x-sub': 'spoofed' } });
    expect(r.status).toBe(200);
    expect(r.json().headers['x-sub']).toBe('user-1');
    expect(r.json().headers.authorization).toBeUndefined();
    expect(idp.lastBody).toBe('token=tok-a&token_type_hint=access_token');
    for (let i = 0; i < 5; i++) expect((await send(gw.port, '/plain', { headers: bearer('tok-a') })).status).toBe(200);
    expect(idp.calls).toBe(before + 1);
  });

  it('concurrent requests with the same uncached token share one call', async () => {
    idp.tokens.set('tok-c', { active: true, exp: nowSec() + 60 });
    idp.delayMs = 50;
    const before = idp.calls;
    const rs = await Promise.all(Array.from({ length: 20 }, () => send(gw.port, '/plain', { headers: bearer('tok-c') })));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect(idp.calls).toBe(before + 1);
  });

  it('active: false is a 401 with invalid_token', async () => {
    const r = await send(gw.port, '/plain', { headers: bearer('unknown-token') });
    expect(r.status).toBe(401);
    expect(code(r)).toBe('GW_ERR_AUTH_TOKEN_INACTIVE');
    expect(r.headers['www-authenticate']).toBe('Bearer realm="gatehouse", error="invalid_token"');
  });

  it('an active answer with a past exp is not active', async () => {
    idp.tokens.set('tok-old', { active: true, exp: nowSec() - 10 });
    expect(code(await send(gw.port, '/plain', { headers: bearer('tok-old') }))).toBe('GW_ERR_AUTH_TOKEN_INACTIVE');
  });

  it('a missing token is a 401 without asking the endpoint', async () => {
    const before = idp.calls;
    const r = await send(gw.port, '/plain');
    expect(r.status).toBe(401);
    expect(code(r)).toBe('GW_ERR_AUTH_MISSING');
    expect(r.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    expect(idp.calls).toBe(before);
  });

  it('scope checks: all required scopes → 200, one missing → 403 insufficient_scope', async () => {
    idp.tokens.set('tok-rw', { active: true, scope: 'orders:read orders:write profile' });
    idp.tokens.set('tok-r', { active: true, scope: 'orders:read' });
    expect((await send(gw.port, '/scoped', { headers: bearer('tok-rw') })).status).toBe(200);
    const r = await send(gw.port, '/scoped', { headers: bearer('tok-r') });
    expect(r.status).toBe(403);
    expect(code(r)).toBe('GW_ERR_AUTH_SCOPE');
    expect(r.headers['www-authenticate']).toContain('error="insufficient_scope"');
  });

  it.each([
    ['/plain', 503, 'GW_ERR_AUTH_INTROSPECTION_UNAVAILABLE'],
    ['/lenient', 401, 'GW_ERR_AUTH_INVALID'],
  ])('a timeout on %s answers %d', async (path, status, c) => {
    idp.delayMs = 400;
    const t0 = Date.now();
    const r = await send(gw.port, path, { headers: bearer(`slow-${path}`) });
    expect(r.status).toBe(status);
    expect(code(r)).toBe(c);
    expect(Date.now() - t0).toBeLessThan(390);
  });

  it('an endpoint error (500, or refusing our client credentials) is unavailable, not a pass', async () => {
    idp.status = 500;
    expect((await send(gw.port, '/nocache', { headers: bearer('tok-a') })).status).toBe(503);
    idp.status = 200;
    expect((await send(gw.port, '/wrongcreds', { headers: bearer('tok-a') })).status).toBe(503);
  });

  it('maps a response field to a consumer', async () => {
    idp.tokens.set('tok-carol', { active: true, username: 'carol' });
    idp.tokens.set('tok-dave', { active: true, username: 'dave' });
    const r = await send(gw.port, '/mapped', { headers: bearer('tok-carol') });
    expect(r.status).toBe(200);
    expect(r.json().headers['x-consumer-username']).toBe('carol');
    expect(r.json().headers['x-consumer-groups']).toBe('ops');
    expect(code(await send(gw.port, '/mapped', { headers: bearer('tok-dave') }))).toBe('GW_ERR_AUTH_CONSUMER_UNKNOWN');
  });

  it('revocation is seen once the cache entry lapses (no cache: at once)', async () => {
    idp.tokens.set('tok-rev', { active: true });
    expect((await send(gw.port, '/nocache', { headers: bearer('tok-rev') })).status).toBe(200);
    idp.tokens.set('tok-rev', { active: false });
    expect((await send(gw.port, '/nocache', { headers: bearer('tok-rev') })).status).toBe(401);
  });
});
