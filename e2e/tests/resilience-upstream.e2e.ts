/**
 * Target health, retries and timeouts through the real gateway process. Every target is a real upstream
 * behind its own fault-injecting TCP proxy, so a target can be made to fail, stall, reset or vanish
 * independently of the others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../support/fault-proxy.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { agent, call, missing, problemOf, sleep, startFileGateway, until, upstreamOf, type FileGateway } from './resilience-helpers.js';

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;
type Name = (typeof NAMES)[number];
const addr = (f: FaultProxy) => `127.0.0.1:${f.port}`;

describe('upstream health, retries and timeouts (real gateway, real upstreams, fault proxy)', () => {
  const ups: Upstream[] = [];
  const fp = {} as Record<Name, FaultProxy>;
  let gw: FileGateway;

  beforeAll(async () => {
    for (const n of NAMES) {
      const up = await startUpstream(n);
      ups.push(up);
      fp[n] = await FaultProxy.start({ target: { host: '127.0.0.1', port: up.port } });
    }
    gw = await startFileGateway({
      upstreams: [
        {
          name: 'hc-active',
          targets: [{ target: addr(fp.a) }, { target: addr(fp.b) }],
          healthchecks: {
            active: { enabled: true, http_path: '/health', interval: 100, timeout: 300, healthy: { successes: 2 }, unhealthy: { failures: 2 } },
          },
        },
        {
          name: 'hc-passive',
          targets: [{ target: addr(fp.c) }, { target: addr(fp.d) }],
          healthchecks: { passive: { enabled: true, unhealthy: { failures: 3 }, eject_duration: 1_000 } },
        },
        { name: 'retry-up', targets: [{ target: addr(fp.e) }, { target: addr(fp.f) }] },
        { name: 'retry-tight', targets: [{ target: addr(fp.e) }, { target: addr(fp.f) }] },
      ],
      services: [
        { name: 'hca', url: 'http://hc-active' },
        { name: 'hcp', url: 'http://hc-passive' },
        // A generous retry budget: the budget is not under test here, the retry decisions are.
        { name: 'rts', url: 'http://retry-up', retries: 1, retry_on_statuses: [503], retry_budget: { ratio: 1, min_per_second: 1_000 } },
        // Retries may be at most 10% of the requests of the last 10 s, with no per-second allowance.
        { name: 'tight', url: 'http://retry-tight', retries: 1, retry_on_statuses: [503], retry_budget: { ratio: 0.1, min_per_second: 0 } },
        { name: 'reuse', url: fp.g.url, retries: 2, retry_budget: { ratio: 1, min_per_second: 1_000 } },
        { name: 'slow', url: fp.h.url, read_timeout: 500 },
      ],
      routes: [
        { name: 'hca', service: 'hca', paths: ['/hca'] },
        { name: 'hcp', service: 'hcp', paths: ['/hcp'] },
        { name: 'rts', service: 'rts', paths: ['/rts'] },
        { name: 'reuse', service: 'reuse', paths: ['/reuse'] },
        { name: 'tight', service: 'tight', paths: ['/tight'] },
        { name: 'slow', service: 'slow', paths: ['/slow'] },
      ],
    });
  }, 90_000);

  afterAll(async () => {
    await gw?.cleanup();
    await agent.close();
    for (const f of Object.values(fp)) await f.close();
    for (const u of ups) await u.close();
  });

  const get = (p: string, init?: Parameters<typeof call>[2]) => call(gw.proxyUrl, p, init);
  async function spread(p: string, n: number): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const r = await get(p);
      const who = upstreamOf(r) ?? `status ${r.status}`;
      seen[who] = (seen[who] ?? 0) + 1;
    }
    return seen;
  }

  /**
   * Target health from GET /upstreams/:name/health, keyed by `host:port`.
   * TODO(lead): the endpoint is being added in parallel; while it answers 404 this returns undefined and the
   * tests assert health through the balancer's behaviour only.
   */
  async function health(upstream: string): Promise<Record<string, boolean> | undefined> {
    const r = await gw.admin(`/upstreams/${upstream}/health`);
    // The upstream exists, so a 404 can only mean the endpoint does not.
    if (r.status === 404) return missing(`GET /upstreams/${upstream}/health`);
    expect(r.status).toBe(200);
    // Kong's shape: { data: [{ target, health: HEALTHY | UNHEALTHY | HEALTHCHECKS_OFF, ... }] }.
    const body = (await r.json()) as { data: { target: string; health: string }[] };
    return Object.fromEntries(body.data.map((t) => [t.target, t.health === 'HEALTHY']));
  }
  async function expectHealth(upstream: string, expected: Record<string, boolean>): Promise<void> {
    const h = await health(upstream);
    if (h !== undefined) expect(h).toMatchObject(expected);
  }

  it('active checks: a failing target is taken out, traffic goes to the other, it returns after healthy probes', async () => {
    expect(await spread('/hca/x', 10)).toEqual({ a: 5, b: 5 });
    await expectHealth('hc-active', { [addr(fp.a)]: true, [addr(fp.b)]: true });

    // a answers 500 to everything, probes included: after 2 failed probes (~200 ms) it is skipped.
    fp.a.setFault({ kind: 'status', status: 500 });
    await until('a marked down by active probes', async () => (await spread('/hca/x', 6)).b === 6, 3_000);
    fp.a.reset();
    expect(await spread('/hca/x', 20)).toEqual({ b: 20 });
    // Only the probes (~1 per 100 ms) reach a now, no proxied request.
    expect(fp.a.requests).toBeLessThanOrEqual(Math.ceil(20 * 10 / 100) + 3);
    await expectHealth('hc-active', { [addr(fp.a)]: false, [addr(fp.b)]: true });

    // Healthy again: back after 2 successful probes.
    fp.a.setFault({ kind: 'none' });
    const back = await until('a back in rotation', async () => (await spread('/hca/x', 4)).a !== undefined, 3_000);
    expect(back).toBeLessThan(3_000);
    expect(await spread('/hca/x', 10)).toEqual({ a: 5, b: 5 });
    await expectHealth('hc-active', { [addr(fp.a)]: true });

    // A target whose process is gone (connection refused) is taken out the same way.
    await fp.a.down();
    await until('a (down) skipped', async () => (await spread('/hca/x', 6)).b === 6, 3_000);
    expect(await spread('/hca/x', 10)).toEqual({ b: 10 });
  });

  it('active checks: with every target down the gateway answers 503 GW_ERR_NO_HEALTHY_TARGET, and recovers', async () => {
    await fp.a.down();
    await fp.b.down();
    await until('no healthy target', async () => {
      const r = await get('/hca/x');
      return r.status === 503 && problemOf(r).code === 'GW_ERR_NO_HEALTHY_TARGET';
    }, 3_000);
    const r = await get('/hca/x');
    expect(r.status).toBe(503);
    expect(problemOf(r).code).toBe('GW_ERR_NO_HEALTHY_TARGET');
    await expectHealth('hc-active', { [addr(fp.a)]: false, [addr(fp.b)]: false });

    await fp.a.up();
    await fp.b.up();
    await until('both back', async () => {
      const s = await spread('/hca/x', 4);
      return s.a === 2 && s.b === 2;
    }, 3_000);
  });

  it('passive checks: a target is ejected after N consecutive failures and returns after eject_duration', async () => {
    expect(await spread('/hcp/x', 4)).toEqual({ c: 2, d: 2 });
    fp.c.setFault({ kind: 'status', status: 500 });
    fp.c.reset();
    const replies = [];
    for (let i = 0; i < 14; i++) replies.push(await get('/hcp/x'));
    const ejectedAt = Date.now();
    // Round robin alternates: exactly 3 requests reach c (the unhealthy threshold), then c is skipped.
    expect(replies.filter((r) => r.status === 500).length).toBe(3);
    expect(fp.c.requests).toBe(3);
    expect(replies.slice(-8).map(upstreamOf)).toEqual(Array(8).fill('d'));
    await expectHealth('hc-passive', { [addr(fp.c)]: false, [addr(fp.d)]: true });

    fp.c.setFault({ kind: 'none' });
    await until('c back after eject_duration', async () => (await spread('/hcp/x', 2)).c !== undefined, 3_000);
    const elapsed = Date.now() - ejectedAt;
    expect(elapsed).toBeGreaterThanOrEqual(800);
    expect(await spread('/hcp/x', 10)).toEqual({ c: 5, d: 5 });

    // Connection failures count too; with both targets ejected the gateway answers 503.
    await fp.c.down();
    await fp.d.down();
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) codes.push(problemOf(await get('/hcp/x')).code);
    expect(codes.slice(0, 6)).toEqual(Array(6).fill('GW_ERR_UPSTREAM_UNAVAILABLE'));
    expect(codes.slice(6)).toEqual(['GW_ERR_NO_HEALTHY_TARGET', 'GW_ERR_NO_HEALTHY_TARGET']);
    await fp.c.up();
    await fp.d.up();
    await until('passive targets back', async () => (await get('/hcp/x')).status === 200, 3_000);
  });

  it('retries: a 503 from one target (retry_on_statuses) is retried on the other; the client sees 200', async () => {
    fp.e.setFault({ kind: 'status', status: 503 });
    fp.e.reset();
    fp.f.reset();
    const seen = await spread('/rts/x', 10);
    expect(seen).toEqual({ f: 10 });
    expect(fp.e.requests).toBeGreaterThanOrEqual(3);
    expect(fp.f.requests).toBe(10);
    fp.e.setFault({ kind: 'none' });
  });

  it('retries: the retry budget caps retries at its share of the requests; over it the failure is answered', async () => {
    fp.e.setFault({ kind: 'status', status: 503 });
    fp.e.reset();
    fp.f.reset();
    const replies = [];
    for (let i = 0; i < 20; i++) replies.push(await get('/tight/x'));
    const retries = fp.e.requests + fp.f.requests - 20;
    // 10% of 20 requests: at most 2 retries, and at least one once 10 requests were counted.
    expect(retries).toBeGreaterThanOrEqual(1);
    expect(retries).toBeLessThanOrEqual(2);
    const surfaced = replies.filter((r) => r.status === 503);
    expect(surfaced.length).toBe(fp.e.requests - retries);
    for (const r of surfaced) expect(r.body).toBe('fault-proxy: 503\n');
    expect(replies.filter((r) => upstreamOf(r) === 'f').length).toBe(fp.f.requests);
    fp.e.setFault({ kind: 'none' });
  });

  it('retries: a reset before the response head is retried for GET, not for POST (502)', async () => {
    fp.e.setFault({ kind: 'reset-before-headers' });
    fp.e.reset();
    expect(await spread('/rts/x', 10)).toEqual({ f: 10 });
    expect(fp.e.requests).toBeGreaterThanOrEqual(3);

    fp.e.reset();
    fp.f.reset();
    const posts = [];
    for (let i = 0; i < 8; i++) posts.push(await get('/rts/x', { method: 'POST' }));
    const failed = posts.filter((r) => r.status === 502);
    // The POST may have reached the target: never replayed, so every POST that hit e fails and only those.
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.length).toBe(fp.e.requests);
    for (const r of failed) expect(problemOf(r).code).toBe('GW_ERR_UPSTREAM_UNAVAILABLE');
    expect(posts.filter((r) => upstreamOf(r) === 'f').length).toBe(fp.f.requests);
    expect(failed.length + fp.f.requests).toBe(8);
    fp.e.setFault({ kind: 'none' });
  });

  it('retries: a keep-alive connection closed on reuse never surfaces as a client error for GETs', async () => {
    fp.g.setFault({ kind: 'close-on-reuse' });
    fp.g.reset();
    const replies = [];
    for (let i = 0; i < 12; i++) {
      replies.push(await get('/reuse/x'));
      // Lets the gateway pool the connection again, so the next request reuses it.
      await sleep(5);
    }
    expect(replies.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(fp.g.injected, 'the fault must actually have closed reused connections').toBeGreaterThan(0);
    fp.g.setFault({ kind: 'none' });
  });

  it('timeouts: a stalled upstream gives 504 GW_ERR_UPSTREAM_TIMEOUT after read_timeout', async () => {
    fp.h.setFault({ kind: 'stall' });
    const r = await get('/slow/x');
    expect(r.status).toBe(504);
    expect(problemOf(r).code).toBe('GW_ERR_UPSTREAM_TIMEOUT');
    expect(r.ms).toBeGreaterThanOrEqual(450);
    // undici runs parser timeouts on its coarse timer (~500 ms ticks), so the 504 may come up to a tick late.
    expect(r.ms).toBeLessThan(1_700);
    fp.h.setFault({ kind: 'none' });
  });

  it('timeouts: a slow body longer in total than read_timeout arrives complete (the timeout is between reads)', async () => {
    fp.h.setFault({ kind: 'slow-body', bytesPerTick: 100, tickMs: 30 });
    // The upstream echoes request headers, so this makes its body about 2 KB: ~20 ticks, ~600 ms in all.
    const r = await get('/slow/x', { headers: { 'x-pad': 'p'.repeat(1_500) } });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as { upstream: string; headers: Record<string, string> };
    expect(body.upstream).toBe('h');
    expect(body.headers['x-pad']).toHaveLength(1_500);
    expect(r.ms).toBeGreaterThan(500);
    fp.h.setFault({ kind: 'none' });
  });

  it('timeouts: a reset after the response head reaches the client as a broken response; the gateway keeps serving', async () => {
    fp.h.setFault({ kind: 'reset-after-headers' });
    const r = await get('/slow/x');
    expect(r.error, `expected a transport error, got ${r.status} ${r.body}`).toBeDefined();
    expect(r.body).toBe('');
    fp.h.setFault({ kind: 'none' });
    const ok = await get('/slow/x');
    expect(upstreamOf(ok)).toBe('h');
    expect((await get('/hcp/x')).status).toBe(200);
  });
});
