import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { validate } from '../../config/validate.js';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { attachRedis, defaultBackends } from '../../limits/backends.js';
import { createRedisClient, waitReady } from '../../limits/redis-client.js';
import { startTestRedis, type TestRedis } from '../../limits/test-support/redis-server.js';
import { newCredential } from '../../auth/new-credential.js';
import { activeCredentialKeys } from '../../auth/secrets.js';
import { craftHs } from '../jwt/test-keys.js';
import plugin, { policyField, windowSpecs } from './plugin.js';
import { RateLimitingSchema } from './schema.js';

const quiet = { info() {}, warn() {}, error() {} };
const H = (ip: string, extra: Record<string, string> = {}) => ({ headers: { 'x-forwarded-for': ip, ...extra } });

async function fire(port: number, path: string, n: number, opts = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send(port, path, opts)).status);
  return out;
}
const count = (xs: number[], s: number) => xs.filter((x) => x === s).length;

describe('rate-limiting (local policy, real proxy)', () => {
  let up: Upstream;
  let gw: Gateway;
  const doc = (globalMinute: number) => ({
    services: [
      { name: 'a', url: `http://${up.address}` },
      { name: 'b', url: `http://${up.address}` },
      { name: 'c', url: `http://${up.address}` },
    ],
    routes: [
      { name: 'ra', service: 'a', paths: ['/a'] },
      { name: 'rb', service: 'b', paths: ['/b'] },
      { name: 'rc', service: 'c', paths: ['/c'] },
      { name: 'hdr', service: 'c', paths: ['/hdr'] },
      { name: 'quiet', service: 'c', paths: ['/quiet'] },
    ],
    plugins: [
      { name: 'rate-limiting', config: { limit_by: ['ip'], minute: globalMinute } },
      { name: 'rate-limiting', service: 'b', config: { limit_by: ['ip'], minute: 2 } },
      { name: 'rate-limiting', route: 'hdr', config: { limit_by: ['header'], header_name: 'X-Tenant', hour: 2, inherit_global: false } },
      { name: 'rate-limiting', route: 'quiet', config: { limit_by: ['ip'], second: 1, ietf_headers: false, legacy_headers: false, retry_after: false, inherit_global: false } },
    ],
  });
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway(doc(5), ['127.0.0.1']);
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('fills defaults', () => {
    const v = validate(RateLimitingSchema, { minute: 10 });
    expect(v.ok && v.value).toMatchObject({ limit_by: ['consumer'], algorithm: 'gcra', policy: 'local', fault_policy: 'fail-open', redis_timeout_ms: 50, inherit_global: true });
  });

  it.each([
    [{ second: 5, minute: 100 }, '"second";q=5;w=1, "minute";q=100;w=60'],
    [{ hour: 1000, quota_month: 9 }, '"hour";q=1000;w=3600, "quota-month";q=9'],
    [{ day: 3, quota_day: 2 }, '"day";q=3;w=86400, "quota-day";q=2;w=86400'],
  ])('RateLimit-Policy for %j', (cfg, field) => {
    const v = validate(RateLimitingSchema, cfg);
    if (!v.ok) throw new Error('invalid');
    expect(policyField(windowSpecs(v.value))).toBe(field);
  });

  it.each([
    [{}, /at least one/],
    [{ minute: 1, limit_by: ['header'] }, /header_name/],
    [{ minute: 1, limit_by: ['jwt_claim'] }, /jwt_claim/],
  ])('refuses %j', (cfg, msg) => {
    const v = validate(RateLimitingSchema, cfg);
    if (!v.ok) throw new Error('invalid');
    expect(() => plugin.create(v.value, { logger: quiet, scope: 'global', route: undefined })).toThrow(msg);
  });

  it('the global limit counts across services; a 429 is problem+json with headers', async () => {
    const ip = '10.0.0.1';
    expect(await fire(gw.port, '/a', 3, H(ip))).toEqual([200, 200, 200]);
    const ok = await send(gw.port, '/c', H(ip));
    expect(ok.status).toBe(200);
    expect(ok.headers['ratelimit-policy']).toBe('"minute";q=5;w=60');
    expect(ok.headers['ratelimit']).toBe('"minute";r=1;t=48');
    expect(ok.headers['x-ratelimit-limit']).toBe('5');
    expect(ok.headers['x-ratelimit-remaining']).toBe('1');
    expect((await send(gw.port, '/c', H(ip))).status).toBe(200);
    const no = await send(gw.port, '/a', H(ip));
    expect(no.status).toBe(429);
    expect(no.headers['content-type']).toBe('application/problem+json');
    expect(no.headers['retry-after']).toBe('12');
    expect(no.headers['ratelimit']).toBe('"minute";r=0;t=60');
    expect(no.json()).toMatchObject({ code: 'GW_ERR_RATE_LIMITED', status: 429, request_id: no.headers['x-request-id'] });
    // Over the global limit: stopped on the overridden service too (inherit_global), with the global's headers.
    const b = await send(gw.port, '/b', H(ip));
    expect(b.status).toBe(429);
    expect(b.headers['ratelimit-policy']).toBe('"minute";q=5;w=60');
    expect(b.headers['ratelimit']).toBe('"minute";r=0;t=60');
  });

  it('a service override stops sooner and keeps its own counter', async () => {
    const ip = '10.0.0.2';
    const b = await fire(gw.port, '/b', 4, H(ip));
    expect(b).toEqual([200, 200, 429, 429]);
    // Service b's refusals and its own counter did not touch a's budget beyond the two admitted requests.
    expect(count(await fire(gw.port, '/a', 5, H(ip)), 200)).toBe(3);
  });

  it('keys by header, falling back to the client IP', async () => {
    const t = (v: string) => H('10.0.0.3', { 'x-tenant': v });
    expect(await fire(gw.port, '/hdr', 3, t('acme'))).toEqual([200, 200, 429]);
    expect(await fire(gw.port, '/hdr', 3, t('globex'))).toEqual([200, 200, 429]);
    expect(await fire(gw.port, '/hdr', 3, H('10.0.0.3'))).toEqual([200, 200, 429]);
  });

  it('every header can be switched off', async () => {
    const r = await fire(gw.port, '/quiet', 1, H('10.0.0.4'));
    expect(r).toEqual([200]);
    const no = await send(gw.port, '/quiet', H('10.0.0.4'));
    expect(no.status).toBe(429);
    for (const h of ['retry-after', 'ratelimit', 'ratelimit-policy', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) expect(no.headers[h]).toBeUndefined();
  });

  it('a config change does not hand out a fresh budget (state is process-wide)', async () => {
    const ip = '10.0.0.5';
    expect(count(await fire(gw.port, '/a', 5, H(ip)), 200)).toBe(5);
    // GCRA state is time already spent (TAT = now + 60 s): a raised limit shortens the emission interval
    // but the client's minute is still used up, instead of a rebuilt snapshot starting from zero.
    gw.apply(doc(6));
    expect(count(await fire(gw.port, '/a', 3, H(ip)), 200)).toBe(0);
    expect(count(await fire(gw.port, '/a', 3, H('10.0.0.6')), 200)).toBe(3);
  });
});

describe('rate-limiting (redis policy, fault policies)', () => {
  let up: Upstream;
  let gw: Gateway;
  let redis: TestRedis;
  let client: Redis;
  beforeAll(async () => {
    up = await startUpstream();
    redis = await startTestRedis();
    client = createRedisClient(redis.url, quiet);
    await waitReady(client, 5_000);
    attachRedis(client);
    gw = await startGateway(
      {
        services: [{ name: 's', url: `http://${up.address}` }],
        routes: [
          { name: 'open', service: 's', paths: ['/open'] },
          { name: 'closed', service: 's', paths: ['/closed'] },
          { name: 'vast', service: 's', paths: ['/vast'] },
        ],
        plugins: [
          // A generous deadline: this route checks header values, and a slow Redis on a loaded machine would
          // fail open (no headers) instead (CI did, at the 50 ms default).
          { name: 'rate-limiting', route: 'vast', config: { limit_by: ['ip'], second: 1_000_000, minute: 100_000_000, policy: 'redis', redis_timeout_ms: 2_000 } },
          // Deadlines a loaded machine's healthy Redis meets (a miss would fail open or closed and read as a
          // wrong answer), short enough that a hung Redis shows them.
          { name: 'rate-limiting', route: 'open', config: { limit_by: ['ip'], hour: 3, policy: 'redis', fault_policy: 'fail-open', redis_timeout_ms: 200 } },
          { name: 'rate-limiting', route: 'closed', config: { limit_by: ['ip'], hour: 3, policy: 'redis', fault_policy: 'fail-closed', redis_timeout_ms: 100 } },
        ],
      },
      ['127.0.0.1'],
    );
  });
  afterAll(async () => {
    await gw.close();
    attachRedis(undefined);
    client.disconnect();
    await redis.stop();
    await up.close();
  });

  it('never reports more remaining than the limit, at rates where a lease and the float tolerance add spare units', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await send(gw.port, '/vast', H('10.1.0.9'));
      expect(r.status).toBe(200);
      expect(Number(r.headers['x-ratelimit-remaining'])).toBeLessThanOrEqual(1_000_000);
      const [second, minute] = String(r.headers['ratelimit']).split(', ').map((f) => Number(/;r=(\d+)/.exec(f)![1]));
      expect(second).toBeLessThanOrEqual(1_000_000);
      expect(minute).toBeLessThanOrEqual(100_000_000);
    }
  });

  it('limits through redis, then follows the fault policy within the deadline when redis hangs', async () => {
    expect(await fire(gw.port, '/open', 4, H('10.1.0.1'))).toEqual([200, 200, 200, 429]);
    expect(await fire(gw.port, '/closed', 4, H('10.1.0.1'))).toEqual([200, 200, 200, 429]);
    redis.pause();
    const before = defaultBackends().failOpenCount;
    const t0 = performance.now();
    expect(await fire(gw.port, '/open', 3, H('10.1.0.2'))).toEqual([200, 200, 200]);
    const closed = await send(gw.port, '/closed', H('10.1.0.2'));
    expect(performance.now() - t0).toBeLessThan(3 * 200 + 100 + 200);
    expect(closed.status).toBe(503);
    expect(closed.json()).toMatchObject({ code: 'GW_ERR_RATE_LIMIT_UNAVAILABLE' });
    expect(defaultBackends().failOpenCount - before).toBe(3);
    expect(gw.logger.lines.some((l) => l.msg?.includes('rate limit unchecked'))).toBe(true);
    redis.resume();
    await new Promise((r) => setTimeout(r, 100));
    expect((await send(gw.port, '/open', H('10.1.0.1'))).status).toBe(429);
  });
});

describe('rate-limiting keyed by what the auth plugins set (key-auth, jwt)', () => {
  let up: Upstream;
  let gw: Gateway;
  const keys = activeCredentialKeys();
  const a1 = newCredential(keys, 'alice', { kind: 'key-auth' });
  const a2 = newCredential(keys, 'alice', { kind: 'key-auth' });
  const b1 = newCredential(keys, 'bob', { kind: 'key-auth' });
  const HS = 'h'.repeat(32);
  const token = (tenant: string) => craftHs({ alg: 'HS256', typ: 'JWT' }, { iss: 'hs', tenant, exp: Math.floor(Date.now() / 1000) + 600 }, HS);
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      consumers: [{ username: 'alice' }, { username: 'bob' }],
      credentials: [a1.credential, a2.credential, b1.credential],
      routes: [
        { name: 'by-consumer', service: 's', paths: ['/consumer'] },
        { name: 'by-credential', service: 's', paths: ['/credential'] },
        { name: 'by-claim', service: 's', paths: ['/claim'] },
      ],
      plugins: [
        { name: 'key-auth', route: 'by-consumer', config: {} },
        { name: 'key-auth', route: 'by-credential', config: {} },
        { name: 'jwt', route: 'by-claim', config: { issuers: [{ iss: 'hs', algorithms: ['HS256'], secret: HS }] } },
        { name: 'rate-limiting', route: 'by-consumer', config: { limit_by: ['consumer'], hour: 2 } },
        { name: 'rate-limiting', route: 'by-credential', config: { limit_by: ['credential'], hour: 2 } },
        { name: 'rate-limiting', route: 'by-claim', config: { limit_by: ['jwt_claim'], jwt_claim: 'tenant', hour: 2 } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  const k = (c: { plain?: string }) => ({ headers: { apikey: c.plain! } });
  const t = (tenant: string) => ({ headers: { authorization: `Bearer ${token(tenant)}` } });

  it.each([
    // [path, first client's requests, same-key other request, different-key request]
    ['consumer: two keys of alice share one budget', '/consumer', k(a1), k(a2), k(b1)],
    ['credential: each key has its own budget', '/credential', k(a1), k(b1), k(a2)],
    ['jwt_claim: tokens of one tenant share a budget', '/claim', t('acme'), t('acme'), t('globex')],
  ])('%s', async (_name, path, first, same, other) => {
    expect(await fire(gw.port, path, 2, first)).toEqual([200, 200]);
    if (path === '/credential') {
      // A different credential (bob's key) is not counted with alice's first key.
      expect(await fire(gw.port, path, 2, same)).toEqual([200, 200]);
      expect(await fire(gw.port, path, 1, first)).toEqual([429]);
    } else {
      expect(await fire(gw.port, path, 1, same)).toEqual([429]);
    }
    expect((await send(gw.port, path, other)).status).toBe(200);
  });
});
