/**
 * Circuit breaker strategies through the real gateway process: each route's upstream sits behind its own
 * fault-injecting TCP proxy (its own breaker group), goes down, and comes back. Transitions are asserted by
 * behaviour (what the client gets, what reaches the upstream) and, where the build has it, by the admin
 * API's GET /resilience.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../support/fault-proxy.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { agent, breakers, call, missing, problemOf, sleep, startFileGateway, subscribeEvents, until, upstreamOf, type EventFeed, type FileGateway, type Reply } from './resilience-helpers.js';

const RESET = 1_000;
/** Opens after 3 calls in the window of which more than half failed; probes after RESET. */
const breaker = (extra: object) => ({
  error_threshold_percentage: 50,
  volume_threshold: 3,
  rolling_window: 10_000,
  rolling_buckets: 10,
  reset_timeout: RESET,
  ...extra,
});

const isOpenReply = (r: Reply): boolean => r.status === 503 && String(r.headers['content-type']).startsWith('application/problem+json') && r.body.includes('GW_ERR_CIRCUIT_OPEN');

describe('circuit breaker strategies (real gateway, real upstreams, fault proxy)', () => {
  const ups: Upstream[] = [];
  const faults: Record<'ff' | 'flap' | 'slow' | 'rt' | 'rt2' | 'ss' | 'fb', FaultProxy> = {} as never;
  let backup: Upstream;
  let gw: FileGateway;
  let feed: EventFeed | undefined;

  beforeAll(async () => {
    for (const name of ['ff', 'flap', 'slow', 'rt', 'rt2', 'ss', 'fb'] as const) {
      const up = await startUpstream(name);
      ups.push(up);
      faults[name] = await FaultProxy.start({ target: { host: '127.0.0.1', port: up.port } });
    }
    backup = await startUpstream('backup');
    gw = await startFileGateway({
      services: [
        { name: 'ff', url: faults.ff.url },
        { name: 'flap', url: faults.flap.url },
        { name: 'slow', url: faults.slow.url, read_timeout: 300 },
        { name: 'rt', url: faults.rt.url },
        { name: 'rt2', url: faults.rt2.url },
        { name: 'ss', url: faults.ss.url },
        { name: 'fb', url: faults.fb.url },
        { name: 'backup', url: backup.url },
      ],
      routes: [
        { name: 'ff', service: 'ff', paths: ['/ff'] },
        { name: 'flap', service: 'flap', paths: ['/flap'] },
        { name: 'slow', service: 'slow', paths: ['/slow'] },
        { name: 'rt-long', service: 'rt', paths: ['/rt-long'] },
        { name: 'rt-short', service: 'rt', paths: ['/rt-short'] },
        { name: 'rt2', service: 'rt2', paths: ['/rt2'] },
        { name: 'ss', service: 'ss', paths: ['/ss'] },
        { name: 'fb', service: 'fb', paths: ['/fb'] },
      ],
      plugins: [
        { name: 'circuit-breaker', route: 'ff', config: breaker({ strategy: 'fast-fail' }) },
        { name: 'circuit-breaker', route: 'flap', config: breaker({ strategy: 'fast-fail', reset_timeout: 500 }) },
        { name: 'circuit-breaker', route: 'slow', config: breaker({ strategy: 'fast-fail' }) },
        // Same breaker settings on one service: both routes share the breaker, and differ only in how long
        // a request may wait for it.
        { name: 'circuit-breaker', route: 'rt-long', config: breaker({ strategy: 'retry', retry_budget: 2_500, retry_base_delay: 50, retry_max_delay: 200 }) },
        { name: 'circuit-breaker', route: 'rt-short', config: breaker({ strategy: 'retry', retry_budget: 400, retry_base_delay: 50, retry_max_delay: 200 }) },
        { name: 'circuit-breaker', route: 'rt2', config: breaker({ strategy: 'retry', retry_budget: 3_000, retry_base_delay: 50, retry_max_delay: 200 }) },
        { name: 'circuit-breaker', route: 'ss', config: breaker({ strategy: 'serve-stale' }) },
        { name: 'circuit-breaker', route: 'fb', config: breaker({ strategy: 'fallback', fallback_service: 'backup' }) },
      ],
    });
    feed = await subscribeEvents(gw);
  }, 90_000);

  afterAll(async () => {
    feed?.close();
    await gw?.cleanup();
    await agent.close();
    for (const f of Object.values(faults)) await f.close();
    for (const u of ups) await u.close();
    await backup?.close();
  });

  const get = (p: string, init?: Parameters<typeof call>[2]) => call(gw.proxyUrl, p, init);

  /** Sends GETs until one is refused by the open breaker; returns the replies before it. */
  async function driveOpen(p: string, opened: (r: Reply) => boolean = isOpenReply, method = 'GET'): Promise<Reply[]> {
    const before: Reply[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await get(p, { method });
      if (opened(r)) return before;
      before.push(r);
    }
    throw new Error(`breaker on ${p} did not open: ${before.map((r) => r.status).join(',')}\n${gw.logs().slice(-2000)}`);
  }

  /**
   * Breaker state and transition history from GET /resilience.
   * TODO(lead): the admin endpoint is being added in parallel; while it answers 404 these assertions are
   * skipped and the transitions are asserted through behaviour only. Once it exists this helper checks them.
   */
  async function expectBreaker(group: string, state: 'closed' | 'open' | 'half-open', transitions?: [string, string][]): Promise<void> {
    const list = await breakers(gw);
    if (list === undefined) return;
    const b = list.find((x) => x.group === group);
    expect(b, JSON.stringify(list)).toBeDefined();
    expect(b!.state).toBe(state);
    if (transitions) expect(b!.recent.map((t) => [t.from, t.to])).toEqual(transitions);
  }

  it('fast-fail: opens on failures, refuses without touching the upstream, admits exactly one probe, closes', async () => {
    const f = faults.ff;
    const group = `127.0.0.1:${f.port}`;
    expect((await get('/ff/a')).status).toBe(200);
    await expectBreaker(group, 'closed', []);

    // The upstream dies: connection refused, 502s, counted as failures until the breaker opens.
    await f.down();
    const failing = await driveOpen('/ff/a');
    expect(failing.length).toBeGreaterThanOrEqual(2);
    for (const r of failing) expect(problemOf(r).code).toBe('GW_ERR_UPSTREAM_UNAVAILABLE');
    await expectBreaker(group, 'open', [['closed', 'open']]);

    // The process is back but still answering errors; the open breaker must not send it anything.
    f.setFault({ kind: 'status', status: 503 });
    await f.up();
    f.reset();
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) {
      const r = await get('/ff/a');
      expect(r.status).toBe(503);
      expect(problemOf(r).code).toBe('GW_ERR_CIRCUIT_OPEN');
      const retryAfter = Number(r.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(Math.ceil(RESET / 1000));
    }
    expect(Date.now() - t0, 'the refusals must finish before the probe is due').toBeLessThan(RESET);
    expect(f.connections).toBe(0);
    expect(f.requests).toBe(0);

    // Half-open with the upstream still failing: 50 concurrent callers, one probe, which reopens it.
    await sleep(RESET + 200);
    f.reset();
    let replies = await Promise.all(Array.from({ length: 50 }, () => get('/ff/a')));
    expect(f.requests).toBe(1);
    expect(replies.filter(isOpenReply).length).toBe(49);
    expect(replies.filter((r) => r.status === 503 && r.body.startsWith('fault-proxy: 503')).length).toBe(1);
    await expectBreaker(group, 'open', [['closed', 'open'], ['open', 'half-open'], ['half-open', 'open']]);
    expect(isOpenReply(await get('/ff/a'))).toBe(true);
    expect(f.requests).toBe(1);

    // Healed, but slow enough that the 49 others arrive while the probe is out: still exactly one probe.
    f.setFault({ kind: 'latency', ms: 300 });
    await sleep(RESET + 200);
    f.reset();
    replies = await Promise.all(Array.from({ length: 50 }, () => get('/ff/a')));
    expect(f.requests).toBe(1);
    expect(replies.filter(isOpenReply).length).toBe(49);
    expect(replies.filter((r) => upstreamOf(r) === 'ff').length).toBe(1);
    await expectBreaker(group, 'closed', [
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]);

    // Closed: traffic flows again.
    f.setFault({ kind: 'none' });
    replies = await Promise.all(Array.from({ length: 20 }, () => get('/ff/a')));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(f.requests).toBe(21);

    // The same five transitions were pushed live over GET /events (SSE) and are counted in /metrics.
    // TODO(lead): both endpoints are new; while they answer 404 these checks are skipped.
    if (feed !== undefined) {
      await until('breaker events delivered', () => feed!.events.filter((e) => e.kind === 'circuit-breaker' && e.group === group).length >= 5, 2_000);
      expect(feed.events.filter((e) => e.kind === 'circuit-breaker' && e.group === group).map((e) => [e.from, e.to])).toEqual([
        ['closed', 'open'],
        ['open', 'half-open'],
        ['half-open', 'open'],
        ['open', 'half-open'],
        ['half-open', 'closed'],
      ]);
    }
    const metrics = await gw.admin('/metrics');
    if (metrics.status === 404) missing('GET /metrics');
    else {
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      const sample = (name: string, labels: string) =>
        text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((kv) => l.includes(kv)))?.split(' ').pop();
      expect(sample('gatehouse_circuit_breaker_state', `group="${group}"`)).toBe('0');
      expect(sample('gatehouse_circuit_breaker_transitions_total', `group="${group}",to="open"`)).toBe('2');
      expect(sample('gatehouse_circuit_breaker_transitions_total', `group="${group}",to="half-open"`)).toBe('2');
      expect(sample('gatehouse_circuit_breaker_transitions_total', `group="${group}",to="closed"`)).toBe('1');
    }
  });

  it('fast-fail: a flapping upstream reopens the breaker at once; refusals while open do not dilute the failure rate', async () => {
    const f = faults.flap;
    const group = `127.0.0.1:${f.port}`;
    await f.down();
    // 3 calls, all failed: over the volume threshold and 100% failures.
    const first = await driveOpen('/flap/a');
    expect(first.map((r) => r.status)).toEqual([502, 502, 502]);
    // Callers keep knocking while it is open; these never reach the upstream.
    for (let i = 0; i < 30; i++) expect(isOpenReply(await get('/flap/a'))).toBe(true);
    await f.up();
    await sleep(500 + 150);
    expect(upstreamOf(await get('/flap/a'))).toBe('flap');
    await expectBreaker(group, 'closed');

    // It dies again within the rolling window. Of the 4 calls the breaker let through, 3 failed; the next
    // failure makes it 4 of 5 (80% > 50%), so the breaker must open right away. Counting the 30 refused
    // calls as calls would need ~30 more failures to reach 50%.
    await f.down();
    const second = await driveOpen('/flap/a');
    expect(second.map((r) => r.status)).toEqual([502]);
    await expectBreaker(group, 'open');
    await f.up();
  });

  it('fast-fail: upstream read timeouts count as failures and open the breaker (a stalled upstream)', async () => {
    const f = faults.slow;
    f.setFault({ kind: 'stall' });
    const failing = await driveOpen('/slow/a');
    expect(failing.map((r) => problemOf(r).code)).toEqual(['GW_ERR_UPSTREAM_TIMEOUT', 'GW_ERR_UPSTREAM_TIMEOUT', 'GW_ERR_UPSTREAM_TIMEOUT']);
    f.reset();
    const r = await get('/slow/a');
    expect(problemOf(r).code).toBe('GW_ERR_CIRCUIT_OPEN');
    expect(r.ms).toBeLessThan(200);
    expect(f.requests).toBe(0);
    await expectBreaker(`127.0.0.1:${f.port}`, 'open', [['closed', 'open']]);
  });

  it('half-open: a probe abandoned by its client proves nothing and must not close the breaker', async () => {
    const f = faults.slow;
    const group = `127.0.0.1:${f.port}`;
    // Still stalled from the previous test, and the breaker open; wait for the probe slot.
    f.setFault({ kind: 'stall' });
    await sleep(RESET + 150);
    f.reset();
    const probe = await get('/slow/a', { signal: AbortSignal.timeout(150) });
    expect(probe.error).toBeDefined();
    expect(f.requests).toBe(1);
    await sleep(100);
    const b = (await breakers(gw))?.find((x) => x.group === group);
    if (b !== undefined) expect(b.state, JSON.stringify(b.recent)).not.toBe('closed');
    // Behaviour: the upstream still stalls, so a closed breaker would let every one of these through.
    f.reset();
    const replies = Promise.all(Array.from({ length: 5 }, () => get('/slow/a', { signal: AbortSignal.timeout(400) })));
    await sleep(200);
    expect(f.requests, 'requests let through to a stalled upstream after an abandoned probe').toBeLessThanOrEqual(1);
    await replies;
    f.setFault({ kind: 'none' });
  });

  it('retry: an idempotent request waits for the breaker within its budget; POST fails fast; a budget runs out with 503', async () => {
    const f = faults.rt;
    expect(upstreamOf(await get('/rt-long/x'))).toBe('rt');
    await f.down();
    // POSTs are refused at once by the open breaker (they are not held), so they mark the moment it opens.
    await driveOpen('/rt-long/x', isOpenReply, 'POST');
    const openedAt = Date.now();

    // Not idempotent: refused at once even on the route with the long budget.
    const post = await get('/rt-long/x', { method: 'POST' });
    expect(problemOf(post).code).toBe('GW_ERR_CIRCUIT_OPEN');
    expect(post.ms).toBeLessThan(250);

    // The short budget (400 ms) ends long before the probe is due (1 s): 503 after about the budget.
    const short = await get('/rt-short/x');
    expect(problemOf(short).code).toBe('GW_ERR_CIRCUIT_OPEN');
    expect(short.ms).toBeGreaterThanOrEqual(350);
    expect(short.ms).toBeLessThan(900);
    expect(Date.now() - openedAt).toBeLessThan(RESET);

    // The upstream comes back while a GET is waiting: the breaker admits it as the probe, it succeeds.
    setTimeout(() => void f.up(), 100);
    f.reset();
    const waited = await get('/rt-long/x');
    expect(waited.status, waited.body).toBe(200);
    expect(upstreamOf(waited)).toBe('rt');
    const total = Date.now() - openedAt;
    expect(total, 'admitted only once the breaker half-opened').toBeGreaterThanOrEqual(RESET - 50);
    expect(waited.ms).toBeLessThan(2_500 + 300);
    expect(f.requests).toBe(1);
    await expectBreaker(`127.0.0.1:${f.port}`, 'closed');
    expect((await get('/rt-short/x')).status).toBe(200);
  });

  it('retry: 30 GETs held during an outage all succeed once the upstream is back, one probe first', async () => {
    const f = faults.rt2;
    await f.down();
    await driveOpen('/rt2/x', isOpenReply, 'POST');
    const held = Promise.all(Array.from({ length: 30 }, (_, i) => get(`/rt2/held-${i}`)));
    await sleep(300);
    f.reset();
    await f.up();
    const replies = await held;
    expect(replies.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(replies.every((r) => upstreamOf(r) === 'rt2')).toBe(true);
    // Each held request reached the upstream exactly once: nothing was sent while the breaker was open.
    expect(f.requests).toBe(30);
    for (const r of replies) expect(r.ms).toBeLessThan(3_000 + 300);
    await expectBreaker(`127.0.0.1:${f.port}`, 'closed');
  });

  it('serve-stale: answers the stored copy with Age/Warning while open, 503 for unknown paths, fresh once closed', async () => {
    const f = faults.ss;
    const first = await get('/ss/item?x=1');
    expect(upstreamOf(first)).toBe('ss');
    const storedBody = first.body;
    // Another stored path must not leak into this one.
    expect((await get('/ss/other')).status).toBe(200);
    // Lets the copy age, so Age is at least 1 when served.
    await sleep(1_000);

    await f.down();
    const failing = await driveOpen('/ss/item?x=1', (r) => r.headers['x-gatehouse-stale'] !== undefined);
    for (const r of failing) expect(r.status).toBe(502);
    const stale = await get('/ss/item?x=1');
    expect(stale.status).toBe(200);
    expect(stale.body).toBe(storedBody);
    expect(stale.headers['x-gatehouse-stale']).toBe('circuit-open');
    expect(stale.headers.warning).toBe('110 gatehouse "Response is Stale"');
    expect(Number(stale.headers.age)).toBeGreaterThanOrEqual(1);
    expect(Number(stale.headers.age)).toBeLessThan(5);
    expect(stale.headers['content-type']).toBe('application/json');

    // Never stored (other query, other path, other method): the breaker's 503.
    for (const p of ['/ss/item?x=2', '/ss/never']) expect(problemOf(await get(p)).code).toBe('GW_ERR_CIRCUIT_OPEN');
    expect(problemOf(await get('/ss/item?x=1', { method: 'POST' })).code).toBe('GW_ERR_CIRCUIT_OPEN');
    // Credentials the gateway did not resolve: never answered from the shared copy.
    expect(problemOf(await get('/ss/item?x=1', { headers: { authorization: 'Bearer someone' } })).code).toBe('GW_ERR_CIRCUIT_OPEN');

    await f.up();
    // Back: the probe gets through and the answers are fresh again (a new request id echoed).
    await until('fresh answer from ss', async () => {
      const r = await get('/ss/item?x=1');
      return r.status === 200 && r.headers['x-gatehouse-stale'] === undefined;
    });
    const fresh = await get('/ss/item?x=1');
    expect(fresh.headers['x-gatehouse-stale']).toBeUndefined();
    expect(fresh.headers.warning).toBeUndefined();
    expect(fresh.body).not.toBe(storedBody);
    expect(upstreamOf(fresh)).toBe('ss');
  });

  it('fallback: the fallback service answers while open (x-gatehouse-fallback), the primary once closed', async () => {
    const f = faults.fb;
    const primary = await get('/fb/x?q=1');
    expect(upstreamOf(primary)).toBe('fb');
    expect(primary.headers['x-gatehouse-fallback']).toBeUndefined();

    await f.down();
    const failing = await driveOpen('/fb/x?q=1', (r) => r.headers['x-gatehouse-fallback'] !== undefined);
    for (const r of failing) expect(r.status).toBe(502);
    const backupBefore = backup.requests;
    for (let i = 0; i < 5; i++) {
      const r = await get('/fb/x?q=1', { method: i % 2 ? 'POST' : 'GET', body: i % 2 ? 'hello' : undefined });
      expect(r.status).toBe(200);
      expect(r.headers['x-gatehouse-fallback']).toBe('backup');
      const seen = JSON.parse(r.body) as { upstream: string; url: string; method: string; body_bytes: number };
      expect(seen.upstream).toBe('backup');
      // The route's path handling applies to the fallback too (prefix stripped, query kept), and the body is sent.
      expect(seen.url).toBe('/x?q=1');
      expect(seen.method).toBe(i % 2 ? 'POST' : 'GET');
      if (i % 2) expect(seen.body_bytes).toBe(5);
    }
    expect(backup.requests - backupBefore).toBe(5);

    await f.up();
    f.reset();
    await sleep(RESET + 100);
    const back = await get('/fb/x?q=1');
    expect(upstreamOf(back)).toBe('fb');
    expect(back.headers['x-gatehouse-fallback']).toBeUndefined();
    expect(f.requests).toBe(1);
    expect(upstreamOf(await get('/fb/x'))).toBe('fb');
  });
});
