/**
 * Bearer-token callers are consumers like any other: a `jwt` token (through a consumer's `jwt` credential
 * or `consumer_claim`) or an introspected opaque token (`consumer_field`) sets the consumer, so `acl`
 * groups, `rate-limiting` keyed by consumer and consumer-scoped plugin instances apply to them.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeCredentialKeys, encryptSecret } from './secrets.js';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../proxy/test-support/harness.js';
import { craftHs } from '../plugins/jwt/test-keys.js';

const ISSUER_SECRET = 'i'.repeat(32);
const ALICE_SECRET = 'c'.repeat(32);

describe('consumers authenticated by jwt and oauth2-introspection', () => {
  let up: Upstream;
  let gw: Gateway;
  let idp: Server;
  const opaque = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    idp = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const token = new URLSearchParams(body).get('token') ?? '';
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(opaque.get(token) ?? { active: false }));
      });
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(idp.address() as { port: number }).port}/introspect`;
    up = await startUpstream();
    const routes = ['jwt-cred', 'jwt-claim', 'opaque'];
    const acl = (route: string) => ({ name: 'acl', route, config: { allow: ['staff'] } });
    const perConsumer = (route: string) => ({ name: 'rate-limiting', route, config: { limit_by: ['consumer'], hour: 3 } });
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      consumers: [{ username: 'alice', groups: ['staff'] }, { username: 'bob', groups: ['guests'] }, { username: 'dave', groups: ['staff'] }],
      credentials: [{ id: randomUUID(), consumer: 'alice', kind: 'jwt', key: 'alice-app', algorithm: 'HS256', secret_encrypted: encryptSecret(activeCredentialKeys(), ALICE_SECRET) }],
      routes: routes.map((name) => ({ name, service: 's', paths: [`/${name}`] })),
      plugins: [
        { name: 'jwt', route: 'jwt-cred', config: { consumer_credentials: true, cache_size: 0 } },
        { name: 'jwt', route: 'jwt-claim', config: { issuers: [{ iss: 'idp', algorithms: ['HS256'], secret: ISSUER_SECRET }], consumer_claim: 'sub', cache_size: 0 } },
        { name: 'oauth2-introspection', route: 'opaque', config: { introspection_endpoint: endpoint, consumer_field: 'username', cache_ttl_seconds: 0, timeout_ms: 1_000 } },
        ...routes.map(acl),
        ...routes.map(perConsumer),
        // dave has a tighter limit of his own (a consumer-scoped instance replaces the route's for him).
        { name: 'rate-limiting', consumer: 'dave', config: { limit_by: ['consumer'], hour: 1 } },
      ],
    });
  });
  afterAll(async () => {
    await gw?.close();
    await up?.close();
    await new Promise<void>((r) => idp.close(() => r()));
  });

  const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
  const credToken = (n: number) => craftHs({ alg: 'HS256' }, { iss: 'alice-app', jti: `c${n}` }, ALICE_SECRET);
  const claimToken = (sub: string, n: number) => craftHs({ alg: 'HS256' }, { iss: 'idp', sub, jti: `${sub}${n}` }, ISSUER_SECRET);
  const opaqueToken = (username: string, n: number) => {
    const t = `opaque-${username}-${n}-${randomUUID()}`;
    opaque.set(t, { active: true, username, exp: Math.floor(Date.now() / 1000) + 600 });
    return t;
  };

  it.each([
    ['jwt-cred', (n: number) => credToken(n)],
    ['jwt-claim', (n: number) => claimToken('alice', n)],
    ['opaque', (n: number) => opaqueToken('alice', n)],
  ])('%s: the consumer reaches the upstream, acl lets her group in, and her distinct tokens share one per-consumer budget', async (route, token) => {
    const statuses: number[] = [];
    for (let n = 0; n < 4; n++) {
      const r = await send(gw.port, `/${route}`, bearer(token(n)));
      statuses.push(r.status);
      if (r.status === 200) {
        expect(r.json().headers['x-consumer-username']).toBe('alice');
        expect(r.json().headers['x-consumer-groups']).toBe('staff');
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it.each([
    ['jwt-claim', () => claimToken('bob', 0)],
    ['opaque', () => opaqueToken('bob', 0)],
  ])('%s: a consumer outside the allowed groups is authenticated but forbidden (403)', async (route, token) => {
    const r = await send(gw.port, `/${route}`, bearer(token()));
    expect(r.status).toBe(403);
    expect(r.json<{ code: string }>().code).toBe('GW_ERR_AUTH_FORBIDDEN');
  });

  it.each([
    ['jwt-claim', (n: number) => claimToken('dave', n)],
    ['opaque', (n: number) => opaqueToken('dave', n)],
  ])('%s: a consumer-scoped limit applies to a token-authenticated consumer', async (route, token) => {
    const statuses: number[] = [];
    for (let n = 0; n < 2; n++) statuses.push((await send(gw.port, `/${route}`, bearer(token(n)))).status);
    // dave's own instance (1/h) replaced the route's 3/h; jwt-claim and opaque are different routes, but a
    // consumer-scoped instance is attached to the consumer only, so its counter is shared by both.
    expect(statuses[1]).toBe(429);
  });
});
