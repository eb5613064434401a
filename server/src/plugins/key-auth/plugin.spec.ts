import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCredential } from '../../auth/new-credential.js';
import { activeCredentialKeys } from '../../auth/secrets.js';
import { validate } from '../../config/validate.js';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { queryParam, withoutQueryParam } from './plugin.js';
import { KeyAuthSchema } from './schema.js';

const keys = activeCredentialKeys();
const alice = newCredential(keys, 'alice', { kind: 'key-auth' });
const bob = newCredential(keys, 'bob', { kind: 'key-auth', key: 'bob-chosen-key-0123456789' });
const expired = newCredential(keys, 'alice', { kind: 'key-auth', expires_at: new Date(Date.now() - 1000).toISOString() });
const revoked = newCredential(keys, 'alice', { kind: 'key-auth' });
revoked.credential.revoked_at = new Date().toISOString();

describe('key-auth', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      consumers: [
        { username: 'alice', custom_id: 'A-1', groups: ['gold', 'beta'] },
        { username: 'bob' },
        { username: 'guest' },
      ],
      credentials: [alice.credential, bob.credential, expired.credential, revoked.credential],
      routes: [
        { name: 'r', service: 's', paths: ['/r'] },
        { name: 'hidden', service: 's', paths: ['/hidden'] },
        { name: 'anon', service: 's', paths: ['/anon'] },
        { name: 'header-only', service: 's', paths: ['/header-only'] },
        { name: 'open', service: 's', paths: ['/open'] },
        { name: 'renamed', service: 's', paths: ['/renamed'] },
      ],
      plugins: [
        { name: 'key-auth', route: 'r', config: {} },
        { name: 'key-auth', route: 'hidden', config: { key_names: ['x-api-key', 'key'], hide_credentials: true } },
        { name: 'key-auth', route: 'anon', config: { anonymous: 'guest' } },
        { name: 'key-auth', route: 'header-only', config: { key_in_query: false } },
        { name: 'key-auth', route: 'renamed', config: { anonymous: 'guest', identity_headers: { consumer_username: 'X-User', consumer_groups: 'X-Groups' } } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('fills defaults', () => {
    const v = validate(KeyAuthSchema, {});
    expect(v.ok && v.value).toMatchObject({ key_names: ['apikey'], key_in_header: true, key_in_query: true, hide_credentials: false, auth_mode: 'any' });
    expect(v.ok && v.value.identity_headers).toMatchObject({ consumer_id: 'x-consumer-id', consumer_username: 'x-consumer-username' });
  });

  it.each([
    { name: 'no key', path: '/r', headers: {}, status: 401, code: 'GW_ERR_AUTH_MISSING' },
    { name: 'unknown key', path: '/r', headers: { apikey: 'ghk_not-a-real-key-at-all' }, status: 401, code: 'GW_ERR_AUTH_INVALID' },
    { name: 'expired key', path: '/r', headers: { apikey: expired.plain! }, status: 401, code: 'GW_ERR_AUTH_EXPIRED' },
    { name: 'revoked key (same answer as unknown)', path: '/r', headers: { apikey: revoked.plain! }, status: 401, code: 'GW_ERR_AUTH_INVALID' },
    { name: 'valid key in header', path: '/r', headers: { apikey: alice.plain! }, status: 200, user: 'alice' },
    { name: 'chosen key', path: '/r', headers: { apikey: bob.plain! }, status: 200, user: 'bob' },
    { name: 'valid key in query', path: `/r?apikey=${encodeURIComponent(alice.plain!)}`, headers: {}, status: 200, user: 'alice' },
    { name: 'query disabled', path: `/header-only?apikey=${encodeURIComponent(alice.plain!)}`, headers: {}, status: 401, code: 'GW_ERR_AUTH_MISSING' },
    { name: 'anonymous without key', path: '/anon', headers: {}, status: 200, user: 'guest' },
    { name: 'anonymous does not cover a wrong key', path: '/anon', headers: { apikey: 'ghk_wrong-wrong-wrong-wrong' }, status: 401, code: 'GW_ERR_AUTH_INVALID' },
  ])('$name → $status', async ({ path, headers, status, code, user }) => {
    const before = up.hits;
    const r = await send(gw.port, path, { headers });
    expect(r.status).toBe(status);
    if (code) {
      expect(r.headers['content-type']).toBe('application/problem+json');
      expect(r.json<{ code: string }>().code).toBe(code);
      expect(up.hits).toBe(before);
    } else {
      expect(r.json().headers['x-consumer-username']).toBe(user);
    }
  });

  it('sends the identity headers upstream and drops client-sent copies', async () => {
    const r = await send(gw.port, '/r', {
      headers: { apikey: alice.plain!, 'x-consumer-username': 'admin', 'x-consumer-groups': 'root', 'x-anonymous-consumer': 'true', 'x-credential-identifier': 'forged' },
    });
    const h = r.json().headers;
    expect(h['x-consumer-id']).toBe('alice');
    expect(h['x-consumer-username']).toBe('alice');
    expect(h['x-consumer-custom-id']).toBe('A-1');
    expect(h['x-consumer-groups']).toBe('gold,beta');
    expect(h['x-credential-identifier']).toBe(alice.credential.id);
    expect(h['x-anonymous-consumer']).toBeUndefined();
    // The key is forwarded unless hide_credentials is on.
    expect(h.apikey).toBe(alice.plain);
  });

  it('drops client-sent copies of renamed identity headers, and of the default names it no longer sets', async () => {
    const forged = { 'x-user': 'admin', 'x-groups': 'root', 'x-consumer-username': 'admin', 'x-consumer-groups': 'root' };
    const h = (await send(gw.port, '/renamed', { headers: { apikey: alice.plain!, ...forged } })).json().headers;
    expect(h['x-user']).toBe('alice');
    expect(h['x-groups']).toBe('gold,beta');
    expect(h['x-consumer-username']).toBeUndefined();
    expect(h['x-consumer-groups']).toBeUndefined();
    // Anonymous (no key): the consumer's own headers only, whatever the client sent.
    const anon = (await send(gw.port, '/renamed', { headers: forged })).json().headers;
    expect(anon['x-user']).toBe('guest');
    expect(anon['x-groups']).toBeUndefined();
    expect(anon['x-consumer-username']).toBeUndefined();
  });

  it('drops spoofed identity headers even when falling back to anonymous', async () => {
    const r = await send(gw.port, '/anon', { headers: { 'x-consumer-username': 'alice', 'x-consumer-custom-id': 'A-1', 'x-credential-identifier': 'forged' } });
    const h = r.json().headers;
    expect(h['x-consumer-username']).toBe('guest');
    expect(h['x-consumer-custom-id']).toBeUndefined();
    expect(h['x-credential-identifier']).toBeUndefined();
    expect(h['x-anonymous-consumer']).toBe('true');
  });

  it('hide_credentials removes the key from headers and query', async () => {
    const a = (await send(gw.port, '/hidden/x', { headers: { 'x-api-key': alice.plain! } })).json();
    expect(a.headers['x-api-key']).toBeUndefined();
    expect(a.headers['x-consumer-username']).toBe('alice');
    const b = (await send(gw.port, `/hidden/x?a=1&key=${encodeURIComponent(alice.plain!)}&b=2`)).json();
    expect(b.url).toBe('/x?a=1&b=2');
  });

  it('a credential of a missing consumer is refused by the document check', () => {
    expect(() => gw.apply({ consumers: [], credentials: [alice.credential] })).toThrow(/consumer 'alice' does not exist/);
  });

  it('the anonymous consumer must exist, or the route refuses requests (fails closed) with an error', async () => {
    const s = gw.apply({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [{ name: 'r', service: 's', paths: ['/r'] }],
      plugins: [{ name: 'key-auth', route: 'r', config: { anonymous: 'nobody' } }],
    });
    expect(s.errors.map((e) => e.message).join()).toMatch(/anonymous consumer 'nobody' does not exist/);
    // Without its auth plugin the route would be open; it answers 500 until the config is fixed.
    const before = up.hits;
    const r = await send(gw.port, '/r');
    expect(r.status).toBe(500);
    expect(r.json()).toMatchObject({ code: 'GW_ERR_PLUGIN_MISCONFIGURED' });
    expect(up.hits).toBe(before);
  });

  it.each([
    ['a=1&apikey=x%20y&b', 'apikey', 'x y'],
    ['apikey=1', 'apikey', '1'],
    ['xapikey=1&apikey=2', 'apikey', '2'],
    ['apikey', 'apikey', undefined],
    ['apikey=%E0%A4%A', 'apikey', undefined],
  ])('queryParam(%s, %s) = %s', (q, n, v) => {
    expect(queryParam(q, n)).toBe(v);
  });

  it('withoutQueryParam keeps the other parameters in order', () => {
    expect(withoutQueryParam('a=1&apikey=2&b=3&apikey', 'apikey')).toBe('a=1&b=3');
  });
});
