/**
 * jwt end to end: the built gateway in DB-less mode, a real upstream and a real JWKS endpoint. Covers an
 * HS256 issuer, an ES256 issuer behind a rotating JWKS (bounded refetch on unknown kid), refusals as
 * problem+json with RFC 6750 challenges, and identity/claim headers reaching the upstream.
 */
import { createHmac, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const SECRET = 'e2e-hs256-secret-0123456789abcdef';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function hs256(payload: object, header: object = {}): string {
  const input = `${b64({ alg: 'HS256', ...header })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}
function es256(key: KeyObject, kid: string, payload: object): string {
  const input = `${b64({ alg: 'ES256', kid })}.${b64(payload)}`;
  return `${input}.${createSign('sha256').update(input).sign({ key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

describe('jwt (e2e, DB-less)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-e2e-jwt-'));
  const k1 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const k2 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = (k: { publicKey: KeyObject }, kid: string) => ({ ...(k.publicKey.export({ format: 'jwk' }) as object), kid, use: 'sig', alg: 'ES256' });
  let jwksKeys = [jwk(k1, 'k1')];
  let jwksHits = 0;
  let jwks: Server;
  let upstream: Upstream;
  let gw: Gateway;

  beforeAll(async () => {
    jwks = createServer((_req, res) => {
      jwksHits++;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(JSON.stringify({ keys: jwksKeys }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/.well-known/jwks.json`;
    upstream = await startUpstream('api');
    const file = path.join(dir, 'gatehouse.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        _format_version: '1',
        services: [{ name: 'api', url: upstream.url }],
        routes: [
          { name: 'hs', service: 'api', paths: ['/hs'] },
          { name: 'es', service: 'api', paths: ['/es'] },
        ],
        plugins: [
          {
            name: 'jwt',
            route: 'hs',
            config: { issuers: [{ iss: 'e2e', algorithms: ['HS256'], secret: SECRET }], claims_to_headers: { sub: 'x-user' }, consumer_credentials: false },
          },
          {
            name: 'jwt',
            route: 'es',
            config: {
              issuers: [{ iss: 'idp', algorithms: ['ES256'], jwks_uri: jwksUrl, audiences: ['api'] }],
              jwks_refetch_cooldown_seconds: 1,
              consumer_credentials: false,
            },
          },
        ],
      }),
    );
    gw = await startGateway({ env: { GATEWAY_CONFIG: file } });
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    await upstream?.close();
    jwks?.closeAllConnections();
    await new Promise((r) => jwks?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (p: string, token?: string, headers: Record<string, string> = {}) =>
    fetch(`${gw.proxyUrl}${p}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

  it('HS256: a valid token reaches the upstream with its claim header; spoofed identity headers are dropped', async () => {
    const r = await get('/hs/x', hs256({ iss: 'e2e', sub: 'u-1', exp: now() + 60 }), { 'x-user': 'admin', 'x-consumer-username': 'root' });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { headers: Record<string, string> };
    expect(body.headers['x-user']).toBe('u-1');
    expect(body.headers['x-consumer-username']).toBeUndefined();
  });

  it.each([
    ['no token', undefined, 'GW_ERR_AUTH_MISSING', 'Bearer realm="gatehouse"'],
    ['alg none', `${b64({ alg: 'none' })}.${b64({ iss: 'e2e' })}.`, 'GW_ERR_AUTH_ALG_NONE', 'Bearer realm="gatehouse", error="invalid_token"'],
    ['jku header', hs256({ iss: 'e2e' }, { jku: 'http://evil/jwks' }), 'GW_ERR_AUTH_TOKEN_HEADER_FORBIDDEN', 'Bearer realm="gatehouse", error="invalid_token"'],
    ['expired', hs256({ iss: 'e2e', exp: now() - 120 }), 'GW_ERR_AUTH_EXPIRED', 'Bearer realm="gatehouse", error="invalid_token"'],
  ])('HS256: %s → 401 problem+json with a challenge', async (_n, token, code, challenge) => {
    const before = upstream.requests;
    const r = await get('/hs/x', token);
    expect(r.status).toBe(401);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(r.headers.get('www-authenticate')).toBe(challenge);
    expect(((await r.json()) as { code: string }).code).toBe(code);
    expect(upstream.requests).toBe(before);
  });

  it('ES256 via JWKS: verifies, survives a flood of unknown kids with at most one fetch, follows a rotation', async () => {
    const ok = await get('/es/x', es256(k1.privateKey, 'k1', { iss: 'idp', aud: 'api', exp: now() + 60 }));
    expect(ok.status).toBe(200);
    const hits = jwksHits;
    await new Promise((r) => setTimeout(r, 1100)); // past the 1 s cooldown
    const flood = await Promise.all(Array.from({ length: 100 }, (_, i) => get('/es/x', es256(k2.privateKey, `nope-${i}`, { iss: 'idp', aud: 'api' }))));
    expect(flood.every((r) => r.status === 401)).toBe(true);
    expect(jwksHits - hits).toBeLessThanOrEqual(1);

    // The issuer rotates to k2; after the cooldown a token with the new kid triggers one refetch.
    jwksKeys = [jwk(k2, 'k2')];
    await new Promise((r) => setTimeout(r, 1100));
    const rotated = await get('/es/x', es256(k2.privateKey, 'k2', { iss: 'idp', aud: 'api', exp: now() + 60 }));
    expect(rotated.status).toBe(200);
    const old = await get('/es/x', es256(k1.privateKey, 'k1', { iss: 'idp', aud: 'api', exp: now() + 60 }));
    expect(old.status).toBe(401);
    expect(((await old.json()) as { code: string }).code).toBe('GW_ERR_AUTH_KID_UNKNOWN');
  });
});
