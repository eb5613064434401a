/**
 * Rate limiting across real gateway processes sharing one real Redis: exactness under concurrency,
 * global limit with per-service overrides, Structured Fields headers, and a Redis outage with both
 * fault policies.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { parseList, type List } from 'structured-headers';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const EXACT = 50;
const redisLimit = (extra: object) => ({ limit_by: ['ip'], policy: 'redis', inherit_global: false, ...extra });

function config(upstream: string) {
  const svc = (name: string) => ({ name, url: upstream });
  const route = (name: string, service: string) => ({ name, service, paths: [`/${name}`] });
  return {
    _format_version: '1',
    services: ['s', 'a', 'b', 'c'].map(svc),
    routes: [route('exact', 's'), route('sliding', 's'), route('sf', 's'), route('open', 's'), route('closed', 's'), route('a', 'a'), route('b', 'b'), route('c', 'c')],
    plugins: [
      // Exactness is about the algorithm, not the fault policy: a generous deadline keeps a loaded CI
      // machine's slow Redis replies from turning into fail-open admissions (the outage test covers those).
      { name: 'rate-limiting', route: 'exact', config: redisLimit({ hour: EXACT, redis_timeout_ms: 2_000, fault_policy: 'fail-closed' }) },
      { name: 'rate-limiting', route: 'sliding', config: redisLimit({ hour: EXACT, algorithm: 'sliding-window', redis_timeout_ms: 2_000, fault_policy: 'fail-closed' }) },
      // Header values are checked here: a deadline a loaded machine cannot miss (a miss fails open, headerless).
      { name: 'rate-limiting', route: 'sf', config: redisLimit({ second: 50, minute: 100, quota_day: 1000, redis_timeout_ms: 2_000 }) },
      { name: 'rate-limiting', route: 'open', config: redisLimit({ hour: 1000, fault_policy: 'fail-open' }) },
      { name: 'rate-limiting', route: 'closed', config: redisLimit({ hour: 1000, fault_policy: 'fail-closed' }) },
      // The gateway-wide limit (counts across services) and two service overrides that also enforce it.
      { name: 'rate-limiting', config: { limit_by: ['ip'], policy: 'redis', hour: 10, redis_timeout_ms: 1_000 } },
      { name: 'rate-limiting', service: 'b', config: { limit_by: ['ip'], policy: 'redis', hour: 3, redis_timeout_ms: 1_000 } },
      { name: 'rate-limiting', service: 'c', config: { limit_by: ['ip'], policy: 'redis', hour: 4, redis_timeout_ms: 1_000 } },
    ],
  };
}

describe('rate limiting on 3 nodes sharing one Redis', () => {
  let redis: RedisServer;
  let up: Upstream;
  const gws: Gateway[] = [];
  const agent = new Agent({ connections: 64, keepAliveTimeout: 10_000 });

  async function get(i: number, pathname: string, ip: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; ms: number }> {
    const t0 = performance.now();
    const r = await request(`${gws[i % gws.length]!.proxyUrl}${pathname}`, { dispatcher: agent, headers: { 'x-forwarded-for': ip } });
    await r.body.dump();
    return { status: r.statusCode, headers: r.headers, ms: performance.now() - t0 };
  }
  async function seq(pathname: string, ip: string, n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await get(i, pathname, ip)).status);
    return out;
  }
  /** 20 concurrent clients, each firing `perClient` requests round-robin over the nodes. */
  async function flood(pathname: string, ip: string, perClient: number): Promise<{ ok: number; limited: number; other: number }> {
    const tally = { ok: 0, limited: 0, other: 0 };
    await Promise.all(
      Array.from({ length: 20 }, async (_, c) => {
        for (let i = 0; i < perClient; i++) {
          const { status } = await get(c + i, pathname, ip);
          if (status === 200) tally.ok++;
          else if (status === 429) tally.limited++;
          else tally.other++;
        }
      }),
    );
    return tally;
  }

  beforeAll(async () => {
    redis = await startRedis();
    up = await startUpstream('rl');
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-rl-'));
    const file = path.join(dir, 'gatehouse.json');
    writeFileSync(file, JSON.stringify(config(up.url)));
    const env = { GATEWAY_CONFIG: file, REDIS_URL: redis.url, GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1', GATEHOUSE_LOG_LEVEL: 'warn' };
    gws.push(...(await Promise.all([startGateway({ env }), startGateway({ env }), startGateway({ env })])));
  }, 120_000);

  afterAll(async () => {
    await agent.close();
    await Promise.all(gws.map((g) => g.stop()));
    await up?.close();
    await redis?.stop();
  });

  it('GCRA: 20 clients over 3 nodes get exactly the limit', async () => {
    const r = await flood('/exact', '10.7.0.1', 15);
    expect(r.other, gws.map((g) => g.logs()).join('\n').slice(-3000)).toBe(0);
    expect(r.ok).toBe(EXACT);
    expect(r.limited).toBe(300 - EXACT);
  });

  it('sliding window: within the documented bound limit × (1 + elapsed/window)', async () => {
    const t0 = Date.now();
    const r = await flood('/sliding', '10.7.0.2', 15);
    const elapsed = Date.now() - t0;
    expect(r.other).toBe(0);
    expect(r.ok).toBeGreaterThanOrEqual(EXACT);
    expect(r.ok).toBeLessThanOrEqual(Math.floor(EXACT * (1 + elapsed / 3_600_000)) + 1);
  });

  it('global + per-service overrides: a lower override stops sooner, services do not mix, the global limit stops everywhere', async () => {
    const ip = '10.7.0.3';
    expect(await seq('/b', ip, 4)).toEqual([200, 200, 200, 429]); // b's own 3/h
    expect(await seq('/c', ip, 5)).toEqual([200, 200, 200, 200, 429]); // c's own 4/h, untouched by b's count
    // 7 admitted so far, all charged to the global 10/h too: 3 left, then stopped on every service.
    expect(await seq('/a', ip, 4)).toEqual([200, 200, 200, 429]);
    const other = '10.7.0.4';
    expect(await seq('/a', other, 10)).toEqual(Array(10).fill(200));
    expect(await seq('/a', other, 1)).toEqual([429]);
    expect(await seq('/b', other, 1)).toEqual([429]);
    expect(await seq('/c', other, 1)).toEqual([429]);
  });

  it('RateLimit-Policy and RateLimit parse as Structured Fields lists', async () => {
    const r = await get(0, '/sf', '10.7.0.5');
    expect(r.status).toBe(200);
    const policy: List = parseList(String(r.headers['ratelimit-policy']));
    const limit: List = parseList(String(r.headers['ratelimit']));
    expect(policy.map(([name, params]) => [name, Object.fromEntries(params)])).toEqual([
      ['second', { q: 50, w: 1 }],
      ['minute', { q: 100, w: 60 }],
      ['quota-day', { q: 1000, w: 86_400 }],
    ]);
    expect(limit.map(([name]) => name)).toEqual(['second', 'minute', 'quota-day']);
    const [, p] = limit[1]!;
    expect(p.get('r')).toBe(99);
    expect(p.get('t')).toBeTypeOf('number');
    const d = await seq('/exact', '10.7.0.1', 1); // the flooded key: a 429 with legacy headers and Retry-After
    expect(d).toEqual([429]);
    const no = await get(1, '/exact', '10.7.0.1');
    expect(Number(no.headers['retry-after'])).toBeGreaterThan(0);
    expect(no.headers['x-ratelimit-remaining']).toBe('0');
    expect(parseList(String(no.headers['ratelimit']))[0]![1].get('r')).toBe(0);
  });

  it('Redis killed: fail-open lets through, fail-closed answers 503, both fast; limits work again after restart', async () => {
    await redis.kill();
    const open: number[] = [];
    const closed: number[] = [];
    const latencies: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, c) => {
        for (let i = 0; i < 10; i++) {
          const a = await get(c + i, '/open', `10.8.0.${c}`);
          const b = await get(c + i, '/closed', `10.8.0.${c}`);
          open.push(a.status);
          closed.push(b.status);
          latencies.push(a.ms, b.ms);
        }
      }),
    );
    expect(open.every((s) => s === 200)).toBe(true);
    expect(closed.every((s) => s === 503)).toBe(true);
    latencies.sort((x, y) => x - y);
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
    expect(p99).toBeLessThan(200);
    expect(gws.some((g) => g.logs().includes('rate limit unchecked'))).toBe(true);

    await redis.restart();
    // Recovery without a restart of the gateways: each node reconnects on its own (capped backoff).
    const deadline = Date.now() + 15_000;
    let recovered = false;
    while (Date.now() < deadline && !recovered) {
      const rs = await Promise.all(gws.map((_, i) => get(i, '/closed', '10.8.1.1')));
      recovered = rs.every((r) => r.status === 200);
      if (!recovered) await new Promise((r) => setTimeout(r, 200));
    }
    expect(recovered).toBe(true);
    // The restarted Redis is empty: fresh budgets, enforced exactly again.
    expect(await seq('/b', '10.8.2.1', 4)).toEqual([200, 200, 200, 429]);
    const r = await flood('/exact', '10.8.2.2', 5);
    expect(r.ok).toBe(EXACT);
  });
});
