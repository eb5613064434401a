import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCredential } from '../../auth/new-credential.js';
import { activeCredentialKeys } from '../../auth/secrets.js';
import { validate } from '../../config/validate.js';
import { compile, send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { claimsHaveScope, hasWord } from './plugin.js';
import { AclSchema } from './schema.js';

const keys = activeCredentialKeys();
const gold = newCredential(keys, 'gold-user', { kind: 'key-auth' });
const banned = newCredential(keys, 'banned-user', { kind: 'key-auth' });
const plain = newCredential(keys, 'plain-user', { kind: 'key-auth' });

const SECRET = 'acl-spec-hs256-secret-0123456789abcdef';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function token(claims: object): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'spec', exp: Math.floor(Date.now() / 1000) + 300, ...claims })}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}
const bearer = (claims: object) => ({ authorization: `Bearer ${token(claims)}` });

describe('acl', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream();
    const jwtConfig = { issuers: [{ iss: 'spec', algorithms: ['HS256'], secret: SECRET }], consumer_credentials: false };
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      consumers: [
        { username: 'gold-user', groups: ['gold', 'beta'] },
        { username: 'banned-user', groups: ['banned'] },
        { username: 'plain-user' },
        { username: 'guest', groups: ['public'] },
      ],
      credentials: [gold.credential, banned.credential, plain.credential],
      routes: ['allow', 'deny', 'hide', 'noauth', 'scopes', 'scopes-key', 'anon', 'both', 'empty', 'open'].map((n) => ({ name: n, service: 's', paths: [`/${n}`] })),
      plugins: [
        { name: 'key-auth', route: 'allow', config: {} },
        { name: 'acl', route: 'allow', config: { allow: ['gold', 'silver'] } },
        { name: 'key-auth', route: 'deny', config: {} },
        { name: 'acl', route: 'deny', config: { deny: ['banned'] } },
        { name: 'key-auth', route: 'hide', config: {} },
        { name: 'acl', route: 'hide', config: { allow: ['gold'], hide_groups_header: true } },
        { name: 'acl', route: 'noauth', config: { allow: ['gold'] } },
        { name: 'jwt', route: 'scopes', config: jwtConfig },
        { name: 'acl', route: 'scopes', config: { required_scopes: ['orders:read', 'orders:write'] } },
        { name: 'key-auth', route: 'scopes-key', config: {} },
        { name: 'acl', route: 'scopes-key', config: { required_scopes: ['orders:read'] } },
        { name: 'key-auth', route: 'anon', config: { anonymous: 'guest' } },
        { name: 'acl', route: 'anon', config: { allow: ['gold'] } },
        { name: 'acl', route: 'both', config: { allow: ['gold'], deny: ['banned'] } },
        { name: 'acl', route: 'empty', config: {} },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('fills defaults', () => {
    const v = validate(AclSchema, { allow: ['a'] });
    expect(v.ok && v.value).toMatchObject({ allow: ['a'], hide_groups_header: false, groups_header: 'x-consumer-groups', required_scopes: [] });
  });

  it('refuses allow together with deny, and an acl that checks nothing (instance disabled with an error)', () => {
    // Compiled, not swapped in: the gateway keeps serving the config the other tests use.
    const errors = compile(
      {
        services: [{ name: 's', url: `http://${up.address}` }],
        routes: [{ name: 'r', service: 's', paths: ['/r'] }, { name: 'q', service: 's', paths: ['/q'] }],
        plugins: [
          { name: 'acl', route: 'r', config: { allow: ['a'], deny: ['b'] } },
          { name: 'acl', route: 'q', config: {} },
        ],
      },
      gw.logger,
      gw.pools,
    )
      .errors.map((e) => e.message)
      .join('\n');
    expect(errors).toMatch(/either allow or deny, not both/);
    expect(errors).toMatch(/needs allow, deny or required_scopes/);
  });

  it.each([
    { name: 'allow: consumer in an allowed group', path: '/allow', headers: { apikey: gold.plain! }, status: 200 },
    { name: 'allow: consumer in no allowed group', path: '/allow', headers: { apikey: banned.plain! }, status: 403, code: 'GW_ERR_AUTH_FORBIDDEN' },
    { name: 'allow: consumer without groups', path: '/allow', headers: { apikey: plain.plain! }, status: 403, code: 'GW_ERR_AUTH_FORBIDDEN' },
    { name: 'allow: no credential (auth plugin answers)', path: '/allow', headers: {}, status: 401, code: 'GW_ERR_AUTH_MISSING' },
    { name: 'deny: consumer in a denied group', path: '/deny', headers: { apikey: banned.plain! }, status: 403, code: 'GW_ERR_AUTH_FORBIDDEN' },
    { name: 'deny: other consumer', path: '/deny', headers: { apikey: plain.plain! }, status: 200 },
    { name: 'no auth plugin on the route → 401, not 403', path: '/noauth', headers: { 'x-consumer-groups': 'gold', 'x-consumer-username': 'gold-user' }, status: 401, code: 'GW_ERR_AUTH_MISSING' },
    { name: 'anonymous consumer is checked like any other', path: '/anon', headers: {}, status: 403, code: 'GW_ERR_AUTH_FORBIDDEN' },
    { name: 'anonymous route, allowed consumer', path: '/anon', headers: { apikey: gold.plain! }, status: 200 },
    { name: 'scopes: all present (scope string)', path: '/scopes', headers: bearer({ scope: 'profile orders:read orders:write' }), status: 200 },
    { name: 'scopes: all present (scp array)', path: '/scopes', headers: bearer({ scp: ['orders:write', 'orders:read'] }), status: 200 },
    { name: 'scopes: one missing', path: '/scopes', headers: bearer({ scope: 'orders:read' }), status: 403, code: 'GW_ERR_AUTH_SCOPE' },
    { name: 'scopes: prefix is not a match', path: '/scopes', headers: bearer({ scope: 'orders:reader orders:write' }), status: 403, code: 'GW_ERR_AUTH_SCOPE' },
    { name: 'scopes: no scope claim', path: '/scopes', headers: bearer({ sub: 'x' }), status: 403, code: 'GW_ERR_AUTH_SCOPE' },
    { name: 'scopes: API key has no scopes', path: '/scopes-key', headers: { apikey: gold.plain! }, status: 403, code: 'GW_ERR_AUTH_SCOPE' },
  ])('$name → $status', async ({ path, headers, status, code }) => {
    const before = up.hits;
    const r = await send(gw.port, path, { headers });
    expect(r.status).toBe(status);
    if (code) {
      expect(r.headers['content-type']).toBe('application/problem+json');
      expect(r.json<{ code: string }>().code).toBe(code);
      if (code === 'GW_ERR_AUTH_SCOPE') expect(r.headers['www-authenticate']).toMatch(/^Bearer error="insufficient_scope", scope="orders:read/);
      expect(up.hits).toBe(before);
    }
  });

  it('hide_groups_header keeps the groups from the upstream, and the other identity headers', async () => {
    const h = (await send(gw.port, '/hide', { headers: { apikey: gold.plain!, 'x-consumer-groups': 'forged' } })).json().headers;
    expect(h['x-consumer-groups']).toBeUndefined();
    expect(h['x-consumer-username']).toBe('gold-user');
    const shown = (await send(gw.port, '/allow', { headers: { apikey: gold.plain! } })).json().headers;
    expect(shown['x-consumer-groups']).toBe('gold,beta');
  });

  it('client-sent identity headers never reach the upstream, even on a route without any plugin', async () => {
    const spoofed = {
      'x-consumer-id': 'gold-user',
      'x-consumer-username': 'gold-user',
      'x-consumer-custom-id': 'C-1',
      'x-consumer-groups': 'gold',
      'x-credential-identifier': 'forged',
      'x-anonymous-consumer': 'false',
    };
    const h = (await send(gw.port, '/open', { headers: spoofed })).json().headers;
    for (const name of Object.keys(spoofed)) expect(h[name]).toBeUndefined();
  });

  it.each([
    ['a b c', 'b', true],
    ['a b c', 'c', true],
    ['ab b', 'b', true],
    ['abc', 'b', false],
    ['a bc', 'b', false],
    ['', 'a', false],
  ])('hasWord(%s, %s) = %s', (list, w, want) => {
    expect(hasWord(list, w)).toBe(want);
  });

  it('claimsHaveScope reads scope and scp', () => {
    expect(claimsHaveScope({ scope: 'a b' }, 'b')).toBe(true);
    expect(claimsHaveScope({ scp: ['a', 'b'] }, 'b')).toBe(true);
    expect(claimsHaveScope({ scp: 'a b' }, 'a')).toBe(true);
    expect(claimsHaveScope({ scope: 7 }, 'a')).toBe(false);
  });
});
