import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseToken, publicKeyFromJwk, publicKeyFromPem, secretKey, verifySignature } from './jws.js';
import { JWT_ALGORITHMS } from './schema.js';
import { b64, craftHs, makeKeys, sign } from './test-keys.js';

describe('jws: every algorithm, signed by jose, verified with node:crypto', () => {
  it.each(JWT_ALGORITHMS)('%s verifies, and a flipped signature bit does not', async (alg) => {
    const k = makeKeys(alg);
    const key = k.secret !== undefined ? secretKey(Buffer.from(k.secret), [alg]) : publicKeyFromPem(k.publicPem!, [alg]);
    const token = await sign(k, { sub: 'u1' });
    const p = parseToken(token);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(verifySignature(p.token, key)).toBe(true);
    const bad = Buffer.from(p.token.signature);
    bad[0]! ^= 1;
    expect(verifySignature({ ...p.token, signature: bad }, key)).toBe(false);
    // The payload is covered too.
    const parts = token.split('.');
    const forged = parseToken(`${parts[0]}.${b64({ sub: 'admin' })}.${parts[2]}`);
    expect(forged.ok && verifySignature(forged.token, key)).toBe(false);
  });
});

describe('jws: keys are pinned', () => {
  const rsa = makeKeys('RS256');
  const ec = makeKeys('ES256');
  it.each([
    ['a secret pinned to RS256', () => secretKey(Buffer.alloc(32, 1), ['RS256']), /only be pinned to HS/],
    ['an HS256 secret shorter than 32 bytes', () => secretKey(Buffer.alloc(31, 1), ['HS256']), /at least 32 bytes/],
    ['an HS512 secret shorter than 64 bytes', () => secretKey(Buffer.alloc(48, 1), ['HS512']), /at least 64 bytes/],
    ['a public key pinned to HS256 (key confusion)', () => publicKeyFromPem(rsa.publicPem!, ['HS256']), /key confusion/],
    ['an RSA key pinned to ES256', () => publicKeyFromPem(rsa.publicPem!, ['ES256']), /cannot be used with ES256/],
    ['a P-256 key pinned to ES384', () => publicKeyFromPem(ec.publicPem!, ['ES384']), /cannot be used with ES384/],
    [
      'a 1024-bit RSA key',
      () => publicKeyFromPem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string, ['RS256']),
      /cannot be used with RS256/,
    ],
  ])('refuses %s', (_name, fn, msg) => {
    expect(fn).toThrow(msg);
  });

  it('takes only usable public JWKs: no oct, no private members, alg narrows', () => {
    const jwk = rsa.publicKey!.export({ format: 'jwk' }) as Record<string, unknown>;
    expect(publicKeyFromJwk({ ...jwk, kid: 'a' }, ['RS256', 'PS256'])?.algorithms).toEqual(new Set(['RS256', 'PS256']));
    expect(publicKeyFromJwk({ ...jwk, alg: 'PS256' }, ['RS256', 'PS256'])?.algorithms).toEqual(new Set(['PS256']));
    expect(publicKeyFromJwk({ ...jwk, alg: 'RS512' }, ['RS256'])).toBeUndefined();
    expect(publicKeyFromJwk({ kty: 'oct', k: b64('a'.repeat(32)) }, ['HS256', 'RS256'])).toBeUndefined();
    expect(publicKeyFromJwk({ ...jwk, d: 'x' }, ['RS256'])).toBeUndefined();
    expect(publicKeyFromJwk({ ...jwk, use: 'enc' }, ['RS256'])).toBeUndefined();
    expect(publicKeyFromJwk({ ...jwk, kid: 42 }, ['RS256'])).toBeUndefined();
  });
});

describe('jws: parseToken refuses hostile structure', () => {
  const S = 'a'.repeat(32);
  const ok = { alg: 'HS256', typ: 'JWT' };
  const pl = { sub: 'x' };
  it.each([
    ['two segments', 'abc.def', 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['four segments', `${craftHs(ok, pl, S)}.x`, 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['bad base64url (+/=)', `${b64(ok)}+.${b64(pl)}.abc`, 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['impossible base64 length', `${b64(ok)}.${b64(pl)}a.abcd`.replace(/\.[^.]+\./, `.${'A'.repeat(5)}.`), 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['header not JSON', `${b64('not json')}.${b64(pl)}.abcd`, 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['header JSON array', `${b64([1, 2])}.${b64(pl)}.abcd`, 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['header JSON null', `${b64('null')}.${b64(pl)}.abcd`, 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['payload JSON string', craftHs(ok, '"hello"', S), 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['payload JSON number', craftHs(ok, '42', S), 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['empty signature', `${b64(ok)}.${b64(pl)}.`, 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['alg missing', craftHs({ typ: 'JWT' }, pl, S), 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['alg none', `${b64({ alg: 'none' })}.${b64(pl)}.`, 'GW_ERR_AUTH_ALG_NONE'],
    ['alg None', craftHs({ alg: 'None' }, pl, S), 'GW_ERR_AUTH_ALG_NONE'],
    ['alg NONE', craftHs({ alg: 'NONE' }, pl, S), 'GW_ERR_AUTH_ALG_NONE'],
    ['alg nOnE', craftHs({ alg: 'nOnE' }, pl, S), 'GW_ERR_AUTH_ALG_NONE'],
    ['alg HS1', craftHs({ alg: 'HS1' }, pl, S), 'GW_ERR_AUTH_ALG_NOT_ALLOWED'],
    ['jwk header', craftHs({ ...ok, jwk: { kty: 'oct', k: 'AAAA' } }, pl, S), 'GW_ERR_AUTH_TOKEN_HEADER_FORBIDDEN'],
    ['jku header', craftHs({ ...ok, jku: 'https://evil.example/jwks' }, pl, S), 'GW_ERR_AUTH_TOKEN_HEADER_FORBIDDEN'],
    ['x5u header', craftHs({ ...ok, x5u: 'https://evil.example/cert' }, pl, S), 'GW_ERR_AUTH_TOKEN_HEADER_FORBIDDEN'],
    ['x5c header', craftHs({ ...ok, x5c: ['MIIB'] }, pl, S), 'GW_ERR_AUTH_TOKEN_HEADER_FORBIDDEN'],
    ['crit with an unknown entry', craftHs({ ...ok, crit: ['exp'], exp: 1 }, pl, S), 'GW_ERR_AUTH_CRIT_UNSUPPORTED'],
    ['b64 false', craftHs({ ...ok, b64: false, crit: ['b64'] }, pl, S), 'GW_ERR_AUTH_CRIT_UNSUPPORTED'],
    ['numeric kid', craftHs({ ...ok, kid: 7 }, pl, S), 'GW_ERR_AUTH_KID_INVALID'],
    ['object kid', craftHs({ ...ok, kid: { $ne: '' } }, pl, S), 'GW_ERR_AUTH_KID_INVALID'],
    ['10 KB kid', craftHs({ ...ok, kid: 'k'.repeat(10_240) }, pl, S), 'GW_ERR_AUTH_KID_INVALID'],
    ['kid with control characters', craftHs({ ...ok, kid: 'a\u0000b' }, pl, S), 'GW_ERR_AUTH_KID_INVALID'],
    ['empty kid', craftHs({ ...ok, kid: '' }, pl, S), 'GW_ERR_AUTH_KID_INVALID'],
  ])('%s', (_name, token, code) => {
    const r = parseToken(token);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.code).toBe(code);
  });
});
