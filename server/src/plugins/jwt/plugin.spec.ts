import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptSecret, activeCredentialKeys } from '../../auth/secrets.js';
import { validate } from '../../config/validate.js';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import plugin from './plugin.js';
import { JWT_ALGORITHMS, JwtSchema } from './schema.js';
import { craftHs, makeKeys, nowSec, sign, type AlgKeys } from './test-keys.js';

const HS = 'a'.repeat(32);
const deps = { logger: console, scope: 'route' as const, route: undefined };

interface Problem {
  code: string;
  status: number;
  request_id: string;
}

describe('jwt plugin', () => {
  let up: Upstream;
  let gw: Gateway;
  const keys = new Map<string, AlgKeys>();
  const rs = makeKeys('RS256');
  const es = makeKeys('ES256');
  const credKey = makeKeys('ES256');

  beforeAll(async () => {
    for (const a of JWT_ALGORITHMS) keys.set(a, a === 'RS256' ? rs : a === 'ES256' ? es : makeKeys(a));
    up = await startUpstream();
    const issuers = JWT_ALGORITHMS.map((a) => {
      const k = keys.get(a)!;
      return k.secret !== undefined ? { iss: `iss-${a}`, algorithms: [a], secret: k.secret } : { iss: `iss-${a}`, algorithms: [a], public_key: k.publicPem };
    });
    const R = (name: string) => ({ name, service: 's', paths: [`/${name}`] });
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      consumers: [{ username: 'alice', custom_id: 'a-1', groups: ['staff'] }, { username: 'bob' }],
      credentials: [
        { id: randomUUID(), consumer: 'alice', kind: 'jwt', key: 'alice-app', algorithm: 'HS256', secret_encrypted: encryptSecret(activeCredentialKeys(), 'z'.repeat(32)) },
        { id: randomUUID(), consumer: 'alice', kind: 'jwt', key: 'rot-app', algorithm: 'HS256', secret_encrypted: encryptSecret(activeCredentialKeys(), '1'.repeat(32)) },
        { id: randomUUID(), consumer: 'alice', kind: 'jwt', key: 'rot-app', algorithm: 'HS256', secret_encrypted: encryptSecret(activeCredentialKeys(), '2'.repeat(32)) },
        { id: randomUUID(), consumer: 'bob', kind: 'jwt', key: 'bob-app', algorithm: 'ES256', rsa_public_key: credKey.publicPem },
        {
          id: randomUUID(),
          consumer: 'bob',
          kind: 'jwt',
          key: 'old-app',
          algorithm: 'HS256',
          secret_encrypted: encryptSecret(activeCredentialKeys(), 'o'.repeat(32)),
          expires_at: new Date(Date.now() - 1000).toISOString(),
        },
      ],
      routes: [R('all'), R('hs'), R('rs'), R('src'), R('claims'), R('map'), R('kid'), R('strict'), R('combo')],
      plugins: [
        { name: 'jwt', route: 'all', config: { issuers } },
        // jwt authenticates without a consumer; introspection (later in order.ts) points at a closed port
        // and would answer 503 if it ran: in `any` mode it must be skipped.
        { name: 'jwt', route: 'combo', config: { issuers: [{ iss: 'hs', algorithms: ['HS256'], secret: HS }] } },
        { name: 'oauth2-introspection', route: 'combo', config: { introspection_endpoint: 'http://127.0.0.1:1/introspect', timeout_ms: 200 } },
        { name: 'jwt', route: 'hs', config: { issuers: [{ iss: 'hs', algorithms: ['HS256'], secret: HS }], consumer_credentials: true } },
        { name: 'jwt', route: 'rs', config: { issuers: [{ iss: 'rs', algorithms: ['RS256', 'PS256'], public_key: rs.publicPem }] } },
        {
          name: 'jwt',
          route: 'src',
          config: { issuers: [{ iss: 'hs', algorithms: ['HS256'], secret: HS }], cookie_names: ['session'], query_params: ['jwt'], hide_credentials: true },
        },
        {
          name: 'jwt',
          route: 'claims',
          config: {
            issuers: [{ iss: 'hs', algorithms: ['HS256'], secret: HS }],
            leeway_seconds: 5,
            audiences: ['api'],
            required_claims: ['sub'],
            max_age_seconds: 3600,
            claims_to_headers: { sub: 'x-user', scope: 'x-scope' },
            max_token_bytes: 1024,
          },
        },
        { name: 'jwt', route: 'map', config: { issuers: [{ iss: 'hs', algorithms: ['HS256'], secret: HS }], consumer_claim: 'sub', cache_size: 0 } },
        { name: 'jwt', route: 'strict', config: { issuers: [{ iss: 'hs', algorithms: ['HS256'], secret: HS }], leeway_seconds: 0 } },
        { name: 'jwt', route: 'kid', config: { issuers: [{ iss: 'hs', algorithms: ['HS256'], secret: HS, kid: 'k1' }], max_token_bytes: 65536 } },
      ],
    });
    expect(gw.proxy).toBeDefined();
  });
  afterAll(async () => {
    await gw?.close();
    await up?.close();
  });

  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const hs = (payload: Record<string, unknown>, header: Record<string, unknown> = {}) => craftHs({ alg: 'HS256', ...header }, { iss: 'hs', ...payload }, HS);

  it('fills defaults', () => {
    const v = validate(JwtSchema, {});
    expect(v.ok && v.value).toMatchObject({ header_names: ['authorization'], cookie_names: [], query_params: [], max_token_bytes: 8192, leeway_seconds: 30, cache_size: 1000 });
  });

  it.each(JWT_ALGORITHMS)('accepts a valid %s token (signed by jose) on the issuer pinned to it', async (alg) => {
    const t = await sign(keys.get(alg)!, { iss: `iss-${alg}`, sub: 'u1', exp: nowSec() + 60 });
    const r = await send(gw.port, '/all', { headers: bearer(t) });
    expect(r.status).toBe(200);
  });

  it('counts a token without a consumer as authenticated in any-of mode: later auth plugins are skipped', async () => {
    const ok = await send(gw.port, '/combo', { headers: bearer(hs({ sub: 'svc' })) });
    expect(ok.status).toBe(200);
    const bad = await send(gw.port, '/combo', { headers: bearer(hs({ sub: 'svc' }, { alg: 'none' })) });
    expect(bad.status).not.toBe(200);
  });

  it('refuses a request without a token: 401, challenge without error (RFC 6750 §3.1)', async () => {
    const r = await send(gw.port, '/hs');
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.json<Problem>().code).toBe('GW_ERR_AUTH_MISSING');
    expect(r.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
  });

  // Every refusal: its own code, a 401 problem+json and `error="invalid_token"`.
  const rsPemBytes = () => rs.publicPem!;
  const cases: [string, string, () => Promise<string> | string, string][] = [
    ['alg none', '/hs', () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"iss":"hs"}').toString('base64url')}.`, 'GW_ERR_AUTH_ALG_NONE'],
    ['alg none with a signature', '/hs', () => hs({}, { alg: 'none' }), 'GW_ERR_AUTH_ALG_NONE'],
    ['alg None', '/hs', () => hs({}, { alg: 'None' }), 'GW_ERR_AUTH_ALG_NONE'],
    ['alg NONE', '/hs', () => hs({}, { alg: 'NONE' }), 'GW_ERR_AUTH_ALG_NONE'],
    ['alg nOnE', '/hs', () => hs({}, { alg: 'nOnE' }), 'GW_ERR_AUTH_ALG_NONE'],
    ['HS256 token for an RS256-pinned key', '/rs', () => craftHs({ alg: 'HS256' }, { iss: 'rs' }, 'x'.repeat(32)), 'GW_ERR_AUTH_ALG_NOT_ALLOWED'],
    ['HS256 signed with the RSA public key bytes (key confusion)', '/rs', () => craftHs({ alg: 'HS256' }, { iss: 'rs' }, rsPemBytes()), 'GW_ERR_AUTH_ALG_NOT_ALLOWED'],
    ['HS256 signed with the EC public key bytes (key confusion)', '/all', () => craftHs({ alg: 'HS256' }, { iss: 'iss-ES256' }, es.publicPem!), 'GW_ERR_AUTH_ALG_NOT_ALLOWED'],
    ['RS256 token for an HS256-pinned secret', '/hs', () => sign(rs, { iss: 'hs' }), 'GW_ERR_AUTH_ALG_NOT_ALLOWED'],
    ['ES256 token on an RS256/PS256 issuer', '/rs', () => sign(es, { iss: 'rs' }), 'GW_ERR_AUTH_ALG_NOT_ALLOWED'],
    ['HS384 token on the HS256-pinned secret', '/hs', () => craftHs({ alg: 'HS384' }, { iss: 'hs' }, HS, 'sha384'), 'GW_ERR_AUTH_ALG_NOT_ALLOWED'],
    ['token-supplied jwk', '/hs', () => hs({}, { jwk: { kty: 'oct', k: 'YWFh' } }), 'GW_ERR_AUTH_TOKEN_HEADER_FORBIDDEN'],
    ['token-supplied jku', '/hs', () => hs({}, { jku: 'http://127.0.0.1:1/jwks' }), 'GW_ERR_AUTH_TOKEN_HEADER_FORBIDDEN'],
    ['token-supplied x5u', '/hs', () => hs({}, { x5u: 'http://127.0.0.1:1/cert' }), 'GW_ERR_AUTH_TOKEN_HEADER_FORBIDDEN'],
    ['token-supplied x5c', '/hs', () => hs({}, { x5c: ['MIIBIjAN'] }), 'GW_ERR_AUTH_TOKEN_HEADER_FORBIDDEN'],
    ['kid ../../etc/passwd', '/kid', () => hs({}, { kid: '../../etc/passwd' }), 'GW_ERR_AUTH_KID_UNKNOWN'],
    ["kid ' OR 1=1 --", '/kid', () => hs({}, { kid: "' OR 1=1 --" }), 'GW_ERR_AUTH_KID_UNKNOWN'],
    ['a kid on an issuer whose key has none (no default key)', '/hs', () => hs({}, { kid: 'whatever' }), 'GW_ERR_AUTH_KID_UNKNOWN'],
    ['no kid on an issuer whose key has one', '/kid', () => hs({}), 'GW_ERR_AUTH_KID_UNKNOWN'],
    ['kid of 10 KB', '/kid', () => hs({}, { kid: 'k'.repeat(10_240) }), 'GW_ERR_AUTH_KID_INVALID'],
    ['numeric kid', '/kid', () => hs({}, { kid: 1 }), 'GW_ERR_AUTH_KID_INVALID'],
    ['array kid', '/kid', () => hs({}, { kid: ['k1'] }), 'GW_ERR_AUTH_KID_INVALID'],
    ['unknown crit entry', '/hs', () => hs({}, { crit: ['urn:x'], 'urn:x': 1 }), 'GW_ERR_AUTH_CRIT_UNSUPPORTED'],
    ['not three segments', '/hs', () => 'a.b', 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['bad base64url', '/hs', () => `${hs({})}`.replace('.', '*.'), 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['non-JSON payload', '/hs', () => craftHs({ alg: 'HS256' }, 'not json', HS), 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['payload JSON that is not an object', '/hs', () => craftHs({ alg: 'HS256' }, '["hs"]', HS), 'GW_ERR_AUTH_TOKEN_MALFORMED'],
    ['exp: "tomorrow"', '/hs', () => hs({ exp: 'tomorrow' }), 'GW_ERR_AUTH_CLAIM_INVALID'],
    ['nbf: null', '/hs', () => hs({ nbf: null }), 'GW_ERR_AUTH_CLAIM_INVALID'],
    ['iat: "1700000000"', '/hs', () => hs({ iat: '1700000000' }), 'GW_ERR_AUTH_CLAIM_INVALID'],
    ['iss not a string', '/hs', () => hs({ iss: ['hs'] }), 'GW_ERR_AUTH_CLAIM_INVALID'],
    ['oversized token (route max 1024 bytes)', '/claims', () => hs({ sub: 'u', aud: 'api', iat: nowSec(), pad: 'p'.repeat(2000) }), 'GW_ERR_AUTH_TOKEN_TOO_LARGE'],
    ['oversized token (default 8 KB)', '/hs', () => hs({ pad: 'p'.repeat(9000) }), 'GW_ERR_AUTH_TOKEN_TOO_LARGE'],
    ['bad signature', '/hs', () => craftHs({ alg: 'HS256' }, { iss: 'hs' }, 'y'.repeat(32)), 'GW_ERR_AUTH_TOKEN_SIGNATURE'],
    ['unknown issuer', '/hs', () => craftHs({ alg: 'HS256' }, { iss: 'nobody' }, HS), 'GW_ERR_AUTH_ISSUER_UNKNOWN'],
    ['expired (beyond leeway)', '/claims', () => hs({ sub: 'u', aud: 'api', iat: nowSec() - 100, exp: nowSec() - 6 }), 'GW_ERR_AUTH_EXPIRED'],
    ['nbf in the future (beyond leeway)', '/claims', () => hs({ sub: 'u', aud: 'api', iat: nowSec(), nbf: nowSec() + 60 }), 'GW_ERR_AUTH_TOKEN_NOT_YET_VALID'],
    ['iat in the future (beyond leeway)', '/claims', () => hs({ sub: 'u', aud: 'api', iat: nowSec() + 60 }), 'GW_ERR_AUTH_TOKEN_NOT_YET_VALID'],
    ['older than max_age', '/claims', () => hs({ sub: 'u', aud: 'api', iat: nowSec() - 4000 }), 'GW_ERR_AUTH_TOKEN_TOO_OLD'],
    ['no iat with max_age', '/claims', () => hs({ sub: 'u', aud: 'api' }), 'GW_ERR_AUTH_CLAIM_MISSING'],
    ['wrong audience', '/claims', () => hs({ sub: 'u', aud: ['web', 'other'], iat: nowSec() }), 'GW_ERR_AUTH_AUDIENCE'],
    ['missing audience', '/claims', () => hs({ sub: 'u', iat: nowSec() }), 'GW_ERR_AUTH_AUDIENCE'],
    ['required claim missing', '/claims', () => hs({ aud: 'api', iat: nowSec() }), 'GW_ERR_AUTH_CLAIM_MISSING'],
    ['consumer claim naming nobody', '/map', () => hs({ sub: 'mallory' }), 'GW_ERR_AUTH_CONSUMER_UNKNOWN'],
    ['expired consumer credential', '/hs', () => craftHs({ alg: 'HS256' }, { iss: 'old-app' }, 'o'.repeat(32)), 'GW_ERR_AUTH_EXPIRED'],
    ['credential HS token signed with the wrong secret', '/hs', () => craftHs({ alg: 'HS256' }, { iss: 'alice-app' }, HS), 'GW_ERR_AUTH_TOKEN_SIGNATURE'],
    ['HS256 token against an ES256 credential (pinned)', '/hs', () => craftHs({ alg: 'HS256' }, { iss: 'bob-app' }, credKey.publicPem!), 'GW_ERR_AUTH_ALG_NOT_ALLOWED'],
  ];
  it.each(cases)('refuses %s', async (_name, path, make, code) => {
    const before = up.hits;
    const r = await send(gw.port, path, { headers: bearer(await make()) });
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.json<Problem>().code).toBe(code);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="gatehouse", error="invalid_token"');
    expect(up.hits).toBe(before);
  });

  it('accepts within leeway, forwards chosen claims and strips client copies of them', async () => {
    const t = hs({ sub: 'u-7', aud: ['web', 'api'], iat: nowSec(), exp: nowSec() - 2, scope: ['read', 'write'] });
    const r = await send(gw.port, '/claims', { headers: { ...bearer(t), 'x-user': 'spoofed', 'x-scope': 'admin' } });
    expect(r.status).toBe(200);
    expect(r.json().headers['x-user']).toBe('u-7');
    expect(r.json().headers['x-scope']).toBe('read,write');
  });

  it('maps a credential to its consumer and sets identity headers (spoofed ones removed)', async () => {
    const t = craftHs({ alg: 'HS256' }, { iss: 'alice-app', exp: nowSec() + 60 }, 'z'.repeat(32));
    const r = await send(gw.port, '/hs', { headers: { ...bearer(t), 'x-consumer-username': 'root' } });
    expect(r.status).toBe(200);
    const h = r.json().headers;
    expect(h['x-consumer-username']).toBe('alice');
    expect(h['x-consumer-custom-id']).toBe('a-1');
    expect(h['x-consumer-groups']).toBe('staff');
    expect(h['x-credential-identifier']).toBe('alice-app');
    const b = await send(gw.port, '/hs', { headers: bearer(await sign(credKey, { iss: 'bob-app' })) });
    expect(b.status).toBe(200);
    expect(b.json().headers['x-consumer-username']).toBe('bob');
  });

  it('during a rotation overlap, tokens signed with the old or the new secret both pass; others do not', async () => {
    for (const secret of ['1'.repeat(32), '2'.repeat(32)]) {
      const r = await send(gw.port, '/hs', { headers: bearer(craftHs({ alg: 'HS256' }, { iss: 'rot-app' }, secret)) });
      expect(r.status).toBe(200);
      expect(r.json().headers['x-consumer-username']).toBe('alice');
    }
    const bad = await send(gw.port, '/hs', { headers: bearer(craftHs({ alg: 'HS256' }, { iss: 'rot-app' }, '3'.repeat(32))) });
    expect(bad.json<Problem>().code).toBe('GW_ERR_AUTH_TOKEN_SIGNATURE');
  });

  it('maps a claim to a consumer (consumer_claim)', async () => {
    const r = await send(gw.port, '/map', { headers: bearer(hs({ sub: 'bob' })) });
    expect(r.status).toBe(200);
    expect(r.json().headers['x-consumer-username']).toBe('bob');
  });

  it('an issuer token without consumer mapping still removes spoofed identity headers', async () => {
    const r = await send(gw.port, '/hs', { headers: { ...bearer(hs({})), 'x-consumer-username': 'root' } });
    expect(r.status).toBe(200);
    expect(r.json().headers['x-consumer-username']).toBeUndefined();
  });

  it('takes the token from header, then cookie, then query, and hides it from the upstream', async () => {
    const t = hs({});
    const c = await send(gw.port, '/src?a=1', { headers: { cookie: `theme=dark; session=${t}` } });
    expect(c.status).toBe(200);
    expect(c.json().headers.cookie).toBe('theme=dark');
    const q = await send(gw.port, `/src?a=1&jwt=${t}&b=2`);
    expect(q.status).toBe(200);
    expect(q.json().url).toBe('/?a=1&b=2'); // strip_path is on by default
    const h = await send(gw.port, '/src', { headers: { ...bearer(t), cookie: 'session=garbage' } });
    expect(h.status).toBe(200);
    expect(h.json().headers.authorization).toBeUndefined();
    // The header wins: a bad header token is refused even when the cookie holds a good one.
    const both = await send(gw.port, '/src', { headers: { ...bearer('x.y.z'), cookie: `session=${t}` } });
    expect(both.status).toBe(401);
    // Another scheme in Authorization is not a bearer token: the query is used.
    const basic = await send(gw.port, `/src?jwt=${t}`, { headers: { authorization: 'Basic dTpw' } });
    expect(basic.status).toBe(200);
  });

  it('a cached verification still expires with the token', async () => {
    // At least a second of validity: with nowSec() + 1 a token minted late in a second expired within
    // milliseconds, before the two requests below (a CI run failed so).
    const exp = nowSec() + 2;
    const t = hs({ exp });
    expect((await send(gw.port, '/strict', { headers: bearer(t) })).status).toBe(200);
    expect((await send(gw.port, '/strict', { headers: bearer(t) })).status).toBe(200); // from the cache
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 20));
    const r = await send(gw.port, '/strict', { headers: bearer(t) });
    expect(r.status).toBe(401);
    expect(r.json<Problem>().code).toBe('GW_ERR_AUTH_EXPIRED');
  });

  it.each([
    ['two key sources', { issuers: [{ iss: 'x', algorithms: ['HS256'], secret: HS, public_key: 'x' }] }, /exactly one/],
    ['no key source', { issuers: [{ iss: 'x', algorithms: ['HS256'] }] }, /exactly one/],
    ['a JWKS pinned to HS256', { issuers: [{ iss: 'x', algorithms: ['HS256'], jwks_uri: 'http://127.0.0.1:1/' }] }, /never provides HMAC/],
    ['a secret pinned to RS256', { issuers: [{ iss: 'x', algorithms: ['RS256'], secret: HS }] }, /only be pinned to HS/],
    ['duplicate issuers', { issuers: [{ iss: 'x', algorithms: ['HS256'], secret: HS }, { iss: 'x', algorithms: ['HS256'], secret: HS }] }, /twice/],
  ])('refuses a config with %s', (_n, cfg, msg) => {
    expect(() => plugin.create(validateCfg(cfg), deps)).toThrow(msg);
  });
});

function validateCfg(cfg: unknown) {
  const v = validate(JwtSchema, cfg);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.value;
}
