import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCredential } from '../../auth/new-credential.js';
import { activeCredentialKeys } from '../../auth/secrets.js';
import { validate } from '../../config/validate.js';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { parseHmacAuthorization, sha256FromDigest } from './plugin.js';
import { HmacAuthSchema } from './schema.js';

const keys = activeCredentialKeys();
const SECRET = 'alice-hmac-secret-0123456789';
const alice = newCredential(keys, 'alice', { kind: 'hmac-auth', key: 'alice', secret: SECRET });
const expired = newCredential(keys, 'bob', { kind: 'hmac-auth', key: 'bob', secret: 'bob-hmac-secret-0123456789', expires_at: new Date(Date.now() - 1000).toISOString() });
const revoked = newCredential(keys, 'carol', { kind: 'hmac-auth', key: 'carol', secret: 'carol-hmac-secret-0123456789' });
revoked.credential.revoked_at = new Date().toISOString();

interface Sign {
  user?: string;
  secret?: string;
  algorithm?: string;
  /** Signed header names; `request-line` included. */
  signed?: string[];
  method?: string;
  /** Path signed (defaults to the one sent). */
  signedPath?: string;
  date?: string;
  dateHeader?: 'date' | 'x-date';
  extra?: Record<string, string>;
  header?: 'authorization' | 'proxy-authorization';
}

/** Builds the headers of a request signed the way Kong's clients do. */
function signed(path: string, o: Sign = {}): Record<string, string> {
  const algorithm = o.algorithm ?? 'hmac-sha256';
  const dateHeader = o.dateHeader ?? 'x-date';
  const h: Record<string, string> = { [dateHeader]: o.date ?? new Date().toUTCString(), ...o.extra };
  const names = o.signed ?? [dateHeader, 'request-line'];
  const lines = names.map((n) => (n === 'request-line' ? `${o.method ?? 'GET'} ${o.signedPath ?? path} HTTP/1.1` : `${n}: ${h[n] ?? ''}`));
  const sig = createHmac(algorithm.slice(5), o.secret ?? SECRET)
    .update(lines.join('\n'))
    .digest('base64');
  h[o.header ?? 'authorization'] = `hmac username="${o.user ?? 'alice'}", algorithm="${algorithm}", headers="${names.join(' ')}", signature="${sig}"`;
  return h;
}

const digestOf = (b: string | Buffer) => `SHA-256=${createHash('sha256').update(b).digest('base64')}`;

describe('hmac-auth', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ headers: req.headers, url: req.url, body: Buffer.concat(chunks).toString('base64') }));
      });
    });
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      consumers: [{ username: 'alice', groups: ['gold'] }, { username: 'bob' }, { username: 'carol' }],
      credentials: [alice.credential, expired.credential, revoked.credential],
      routes: ['r', 'sha1', 'enforce', 'body', 'hidden'].map((n) => ({ name: n, service: 's', paths: [`/${n}`], strip_path: false })),
      plugins: [
        { name: 'hmac-auth', route: 'r', config: {} },
        { name: 'hmac-auth', route: 'sha1', config: { algorithms: ['hmac-sha1'] } },
        { name: 'hmac-auth', route: 'enforce', config: { enforce_headers: ['request-line', 'content-md5'] } },
        { name: 'hmac-auth', route: 'body', config: { validate_request_body: true, max_body_bytes: 1024 } },
        { name: 'hmac-auth', route: 'hidden', config: { hide_credentials: true } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('fills defaults', () => {
    const v = validate(HmacAuthSchema, {});
    expect(v.ok && v.value).toMatchObject({
      clock_skew: 300,
      algorithms: ['hmac-sha256', 'hmac-sha384', 'hmac-sha512'],
      enforce_headers: [],
      validate_request_body: false,
      max_body_bytes: 1048576,
      hide_credentials: false,
    });
  });

  const old = new Date(Date.now() - 600_000).toUTCString();
  it.each([
    { name: 'no Authorization', path: '/r', headers: {}, status: 401, code: 'GW_ERR_AUTH_MISSING' },
    { name: 'another scheme', path: '/r', headers: { authorization: 'Basic YTpi' }, status: 401, code: 'GW_ERR_AUTH_MISSING' },
    { name: 'malformed parameters', path: '/r', headers: { authorization: 'hmac username=alice, signature="x"' }, status: 401, code: 'GW_ERR_AUTH_INVALID' },
    { name: 'valid, hmac-sha256', path: '/r', headers: signed('/r'), status: 200 },
    { name: 'valid, hmac-sha512, Date header', path: '/r', headers: signed('/r', { algorithm: 'hmac-sha512', dateHeader: 'date' }), status: 200 },
    { name: 'valid, Proxy-Authorization', path: '/r', headers: signed('/r', { header: 'proxy-authorization' }), status: 200 },
    { name: 'valid, with query', path: '/r?a=1&b=2', headers: signed('/r?a=1&b=2'), status: 200 },
    { name: 'hmac-sha1 not allowed by default', path: '/r', headers: signed('/r', { algorithm: 'hmac-sha1' }), status: 401, code: 'GW_ERR_AUTH_INVALID' },
    { name: 'hmac-sha1 where allowed', path: '/sha1', headers: signed('/sha1', { algorithm: 'hmac-sha1' }), status: 200 },
    { name: 'wrong secret', path: '/r', headers: signed('/r', { secret: 'not-the-secret-0123456789' }), status: 401, code: 'GW_ERR_AUTH_SIGNATURE' },
    { name: 'unknown user (same answer)', path: '/r', headers: signed('/r', { user: 'mallory' }), status: 401, code: 'GW_ERR_AUTH_SIGNATURE' },
    { name: 'revoked (same answer)', path: '/r', headers: signed('/r', { user: 'carol', secret: 'carol-hmac-secret-0123456789' }), status: 401, code: 'GW_ERR_AUTH_SIGNATURE' },
    { name: 'expired', path: '/r', headers: signed('/r', { user: 'bob', secret: 'bob-hmac-secret-0123456789' }), status: 401, code: 'GW_ERR_AUTH_EXPIRED' },
    { name: 'tampered path', path: '/r/admin', headers: signed('/r/admin', { signedPath: '/r' }), status: 401, code: 'GW_ERR_AUTH_SIGNATURE' },
    { name: 'tampered method', path: '/r', headers: signed('/r', { method: 'POST' }), status: 401, code: 'GW_ERR_AUTH_SIGNATURE' },
    { name: 'date outside the skew', path: '/r', headers: signed('/r', { date: old }), status: 401, code: 'GW_ERR_AUTH_CLOCK_SKEW' },
    { name: 'unparseable date', path: '/r', headers: signed('/r', { date: 'yesterday' }), status: 401, code: 'GW_ERR_AUTH_CLOCK_SKEW' },
    { name: 'date not signed', path: '/r', headers: signed('/r', { signed: ['request-line'] }), status: 401, code: 'GW_ERR_AUTH_INVALID' },
    { name: 'signed header absent', path: '/r', headers: signed('/r', { signed: ['x-date', 'x-custom'] }), status: 401, code: 'GW_ERR_AUTH_INVALID' },
    { name: 'enforced header not signed', path: '/enforce', headers: signed('/enforce'), status: 401, code: 'GW_ERR_AUTH_INVALID' },
    {
      name: 'enforced headers signed',
      path: '/enforce',
      headers: signed('/enforce', { signed: ['x-date', 'request-line', 'content-md5'], extra: { 'content-md5': 'abc' } }),
      status: 200,
    },
  ])('$name → $status', async ({ path, headers, status, code }) => {
    const before = up.hits;
    const r = await send(gw.port, path, { headers });
    expect(r.status).toBe(status);
    if (code) {
      expect(r.headers['content-type']).toBe('application/problem+json');
      expect(r.json<{ code: string }>().code).toBe(code);
      expect(r.headers['www-authenticate']).toMatch(/^hmac realm="gatehouse", algorithms="/);
      expect(up.hits).toBe(before);
    } else {
      const h = r.json().headers;
      expect(h['x-consumer-username']).toBe('alice');
      expect(h['x-credential-identifier']).toBe('alice');
    }
  });

  it('hide_credentials removes the signature header', async () => {
    const h = (await send(gw.port, '/hidden', { headers: signed('/hidden') })).json().headers;
    expect(h.authorization).toBeUndefined();
    expect(h['x-consumer-username']).toBe('alice');
    const shown = (await send(gw.port, '/r', { headers: signed('/r') })).json().headers;
    expect(shown.authorization).toMatch(/^hmac username="alice"/);
  });

  const body = JSON.stringify({ order: 42, note: 'ünïcode' });
  const withDigest = (b: string, digest: string, sign = ['x-date', 'request-line', 'digest']) =>
    signed('/body', { method: 'POST', signed: sign, extra: { digest, 'content-type': 'application/json' } });
  it.each([
    { name: 'matching digest', body, headers: withDigest(body, digestOf(body)), status: 200 },
    { name: 'digest among several algorithms', body, headers: withDigest(body, `MD5=xyz, sha-256=${digestOf(body).slice(8)}`), status: 200 },
    { name: 'body changed', body: body.replace('42', '43'), headers: withDigest(body, digestOf(body)), status: 401, code: 'GW_ERR_AUTH_DIGEST' },
    { name: 'digest not signed', body, headers: withDigest(body, digestOf(body), ['x-date', 'request-line']), status: 401, code: 'GW_ERR_AUTH_INVALID' },
    { name: 'no SHA-256 in Digest', body, headers: withDigest(body, 'MD5=xyz'), status: 401, code: 'GW_ERR_AUTH_DIGEST' },
    { name: 'body without Digest', body, headers: signed('/body', { method: 'POST' }), status: 401, code: 'GW_ERR_AUTH_DIGEST' },
    { name: 'no body, no Digest', body: undefined, headers: signed('/body', { method: 'POST' }), status: 200 },
    { name: 'body over max_body_bytes', body: 'x'.repeat(2000), headers: withDigest('x'.repeat(2000), digestOf('x'.repeat(2000))), status: 413, code: 'GW_ERR_AUTH_BODY_TOO_LARGE' },
  ])('validate_request_body: $name → $status', async ({ body: b, headers, status, code }) => {
    const r = await send(gw.port, '/body', { method: 'POST', headers, body: b });
    expect(r.status).toBe(status);
    if (code) expect(r.json<{ code: string }>().code).toBe(code);
    else {
      const seen = r.json<{ headers: Record<string, string>; body: string }>();
      // The upstream receives the body the plugin read, byte for byte.
      expect(Buffer.from(seen.body, 'base64').toString()).toBe(b ?? '');
      expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(b ?? '')));
      expect(seen.headers['x-consumer-username']).toBe('alice');
    }
  });

  it.each([
    ['hmac username="a", algorithm="hmac-sha256", headers="date request-line", signature="c2ln"', { username: 'a', algorithm: 'hmac-sha256', headers: ['date', 'request-line'], signature: 'c2ln' }],
    ['HMAC username="a",algorithm="HMAC-SHA512",signature="c2ln"', { username: 'a', algorithm: 'hmac-sha512', headers: ['date'], signature: 'c2ln' }],
    ['hmac username="a", username="b", algorithm="hmac-sha256", signature="c2ln"', null],
    ['hmac username="a", algorithm="hmac-sha256", nonce="1", signature="c2ln"', null],
    ['hmac username="a", algorithm="hmac-sha256"', null],
    ['hmac username="a", algorithm="hmac-sha256", signature="c2ln', null],
    ['Signature keyId="a"', undefined],
  ])('parseHmacAuthorization(%s)', (v, want) => {
    expect(parseHmacAuthorization(v)).toEqual(want);
  });

  it('sha256FromDigest', () => {
    expect(sha256FromDigest('SHA-256=abc=')).toBe('abc=');
    expect(sha256FromDigest('md5=x, SHA-256=abc')).toBe('abc');
    expect(sha256FromDigest('md5=x')).toBeUndefined();
  });
});
