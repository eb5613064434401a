import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from '../limits/test-support/redis-server.js';
import { MemoryLogger } from '../proxy/test-support/harness.js';
import type { ProxyRequest } from '../proxy/proxy-request.js';
import { CONSUMER_OTHER, LiveAggregator, type LiveCell, type LiveSecond } from './live-aggregates.js';
import { ConsumerUsage, HISTORY_SECONDS, LIVE_CHANNEL, LiveHub, MAX_USAGE_CONSUMERS, mergeSeconds, USAGE_MINUTES, type LiveTick } from './live-hub.js';

function request(ms: number, route: string, status = 200): ProxyRequest {
  return { startedAt: 0, endedAt: ms, status, upstreamFailure: undefined, route: { name: route, service: 'svc', tags: [] }, serviceName: 'svc' } as unknown as ProxyRequest;
}

/** A node's second built by the real aggregator: `n` requests of `ms` on `route`, `errors` of them 503. */
function secondOf(node: string, second: number, rows: { route: string; n: number; ms: number; errors?: number }[], breakers: LiveSecond['breakers'] = []): LiveSecond {
  const agg = new LiveAggregator({ node, breakers: () => breakers.map((b) => ({ ...b }) as never) });
  for (const r of rows) for (let i = 0; i < r.n; i++) agg.end(request(r.ms, r.route, i < (r.errors ?? 0) ? 503 : 200));
  return agg.flush(second);
}

function nextTick(hub: LiveHub, timeoutMs = 5000): Promise<LiveTick> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no tick')), timeoutMs);
    const off = hub.subscribe((tick) => {
      clearTimeout(t);
      off();
      resolve(tick);
    });
  });
}

describe('mergeSeconds', () => {
  it('sums counts, computes percentiles from the merged buckets and reports the worst breaker state', () => {
    const a = secondOf('a', 50, [{ route: 'r', n: 90, ms: 10, errors: 9 }], [{ id: 'g|1', group: 'g', state: 'closed' }]);
    const b = secondOf('b', 50, [{ route: 'r', n: 10, ms: 1000, errors: 1 }, { route: 'q', n: 1, ms: 1 }], [{ id: 'g|1', group: 'g', state: 'open' }]);
    const t = mergeSeconds(50, [a, b]);
    expect(t.at).toBe(50_000);
    expect(t.nodes).toBe(2);
    expect(t.total).toMatchObject({ rps: 101, errors: 10 });
    const r = t.routes.find((x) => x.route === 'r')!;
    expect(r).toMatchObject({ rps: 100, errors: 10, error_rate: 0.1 });
    // 90% of the requests took 10 ms, 10% took 1 s: p50 is ~10, p95 and p99 are ~1000 — which no average of
    // the two nodes' own percentiles (10 and 1000 for p50) would give.
    expect(r.p50! / 10).toBeCloseTo(1, 1);
    expect(r.p95! / 1000).toBeCloseTo(1, 1);
    expect(r.p99! / 1000).toBeCloseTo(1, 1);
    expect(t.routes.map((x) => x.route)).toEqual(['q', 'r']);
    expect(t.services).toEqual([expect.objectContaining({ service: 'svc', rps: 101 })]);
    expect(t.breakers).toEqual([{ group: 'g', breaker: 'g|1', state: 'open', nodes: { closed: 1, open: 1, half_open: 0 } }]);
    expect(mergeSeconds(51, []).total).toEqual({ rps: 0, errors: 0, limited: 0, error_rate: 0, p50: null, p95: null, p99: null });
  });
});

describe('429s, history and consumer usage', () => {
  it('sums `limited` across nodes, per route and in total; a node without the field counts as 0', () => {
    const agg = new LiveAggregator({ node: 'a', breakers: () => [] });
    for (const status of [429, 429, 200]) agg.end({ ...request(1, 'r'), status } as ProxyRequest);
    const a = agg.flush(9);
    const b = secondOf('b', 9, [{ route: 'r', n: 2, ms: 1 }]);
    for (const c of [b.total, ...b.routes]) delete (c as Partial<LiveCell>).limited;
    const t = mergeSeconds(9, [a, b]);
    expect(t.total).toMatchObject({ rps: 5, limited: 2, errors: 0 });
    expect(t.routes).toEqual([expect.objectContaining({ route: 'r', rps: 5, limited: 2 })]);
    expect(t.services).toEqual([expect.objectContaining({ service: 'svc', limited: 2 })]);
    // Consumers never go out in a tick.
    expect(Object.keys(t)).not.toContain('consumers');
  });

  it('remembers the last HISTORY_SECONDS ticks, oldest first, and answers a window of them', () => {
    const hub = new LiveHub({ nodeId: 'solo', logger: new MemoryLogger() });
    const start = 1_000_000;
    for (let s = start; s < start + HISTORY_SECONDS + 100; s++) hub.push(secondOf('solo', s, [{ route: 'r', n: 1 + (s % 3), ms: 1 }]));
    const now = (start + HISTORY_SECONDS + 100) * 1000;
    const all = hub.history(HISTORY_SECONDS, now);
    expect(all).toHaveLength(HISTORY_SECONDS);
    expect(all[0]!.at).toBe((start + 100) * 1000);
    expect(all.at(-1)).toBe(hub.last);
    expect(all.every((t, i) => i === 0 || t.at === all[i - 1]!.at + 1000)).toBe(true);
    const five = hub.history(300, now);
    expect(five.length).toBeGreaterThanOrEqual(300);
    expect(five.length).toBeLessThanOrEqual(301);
    expect(five.at(-1)).toBe(hub.last);
    // Asking for more than the ring holds gives what it holds.
    expect(hub.history(10 * HISTORY_SECONDS, now)).toHaveLength(HISTORY_SECONDS);
    void hub.close();
  });

  it('keeps each consumer’s requests, errors and 429s per minute across nodes, zeros where idle', () => {
    const hub = new LiveHub({ nodeId: 'solo', logger: new MemoryLogger() });
    const minute0 = 28_000_000; // epoch minutes
    const consumerSecond = (node: string, second: number, consumers: LiveCell[]): LiveSecond => ({ ...secondOf(node, second, []), consumers });
    const cell = (name: string, count: number, errors = 0, limited = 0): LiveCell => ({ name, count, errors, limited, latency: [] });
    hub.push(consumerSecond('solo', minute0 * 60, [cell('alice', 3, 1, 0), cell('bob', 1)]));
    hub.push(consumerSecond('solo', minute0 * 60 + 59, [cell('alice', 2, 0, 2), cell(CONSUMER_OTHER, 50)]));
    hub.push(consumerSecond('solo', (minute0 + 2) * 60 + 5, [cell('alice', 4)]));
    const now = (minute0 + 3) * 60_000 + 1_000;
    expect(hub.consumerUsage('alice', minute0 * 60_000, now)).toEqual([
      { at: minute0 * 60_000, requests: 5, errors: 1, limited: 2 },
      { at: (minute0 + 1) * 60_000, requests: 0, errors: 0, limited: 0 },
      { at: (minute0 + 2) * 60_000, requests: 4, errors: 0, limited: 0 },
      { at: (minute0 + 3) * 60_000, requests: 0, errors: 0, limited: 0 },
    ]);
    expect(hub.consumerUsage('bob', (minute0 + 1) * 60_000, now).map((p) => p.requests)).toEqual([0, 0, 0]);
    expect(hub.consumerUsage('nobody', minute0 * 60_000, now)).toHaveLength(4);
    // The overflow bucket is nobody's usage.
    expect(hub.consumerUsage(CONSUMER_OTHER, minute0 * 60_000, now).every((p) => p.requests === 0)).toBe(true);
    // Never more than a day back.
    expect(hub.consumerUsage('alice', 0, now)).toHaveLength(USAGE_MINUTES);
    void hub.close();
  });

  it('forgets minutes older than a day, and consumers with nothing left', () => {
    const u = new ConsumerUsage();
    const m0 = 30_000_000;
    u.add(m0 * 60, [{ name: 'old', count: 1, errors: 0, limited: 0, latency: [] }]);
    for (let m = m0; m < m0 + USAGE_MINUTES + 10; m++) u.add(m * 60, [{ name: 'busy', count: 2, errors: 0, limited: 1, latency: [] }]);
    expect(u.size).toBe(1);
    const now = (m0 + USAGE_MINUTES + 9) * 60_000;
    const points = u.query('busy', 0, now);
    expect(points).toHaveLength(USAGE_MINUTES);
    expect(points.every((p) => p.requests === 2 && p.limited === 1)).toBe(true);
  });

  it('a flood of 10,000 distinct consumers never holds more than MAX_USAGE_CONSUMERS, forgetting the idlest', () => {
    const u = new ConsumerUsage();
    const s0 = 1_800_000_000;
    u.add(s0, [{ name: 'regular', count: 1, errors: 0, limited: 0, latency: [] }]);
    for (let i = 0; i < 10_000; i++) {
      const second = s0 + 1 + Math.floor(i / 100);
      // `regular` keeps calling every second, so it is never the idlest.
      const cells: LiveCell[] = [{ name: `flood-${i}`, count: 1, errors: 0, limited: 0, latency: [] }];
      if (i % 100 === 0) cells.push({ name: 'regular', count: 1, errors: 0, limited: 0, latency: [] });
      u.add(second, cells);
      expect(u.size).toBeLessThanOrEqual(MAX_USAGE_CONSUMERS);
    }
    expect(u.size).toBe(MAX_USAGE_CONSUMERS);
    const now = (s0 + 101) * 1000;
    expect(u.query('flood-9999', s0 * 1000, now).reduce((n, p) => n + p.requests, 0)).toBe(1);
    expect(u.query('flood-0', s0 * 1000, now).reduce((n, p) => n + p.requests, 0)).toBe(0);
    expect(u.query('regular', s0 * 1000, now).reduce((n, p) => n + p.requests, 0)).toBeGreaterThan(1);
  });

  it('skips malformed consumer cells from a peer', () => {
    const u = new ConsumerUsage();
    u.add(60, [{ name: 5, count: 1 } as unknown as LiveCell, { name: 'x', count: 'many' } as unknown as LiveCell, { name: 'ok', count: 1, errors: 0, limited: 0, latency: [] }]);
    expect(u.size).toBe(1);
  });
});

describe('live hub without redis', () => {
  it('emits this node’s second at once, and drops a second that comes after a newer one', async () => {
    const hub = new LiveHub({ nodeId: 'solo', logger: new MemoryLogger() });
    const got: LiveTick[] = [];
    hub.subscribe((t) => got.push(t));
    hub.push(secondOf('solo', 10, [{ route: 'r', n: 3, ms: 5 }]));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ at: 10_000, nodes: 1, total: { rps: 3 } });
    expect(hub.last).toBe(got[0]);
    hub.push(secondOf('solo', 9, []));
    expect(got).toHaveLength(1);
    expect(hub.late).toBe(1);
    await hub.close();
  });
});

describe('live hub across nodes (real redis)', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  }, 20_000);
  afterAll(async () => {
    await redis?.stop();
  });

  async function subscribed(count: number): Promise<void> {
    // The hub subscribes in its constructor; wait until Redis counts the subscription.
    const probe = new Redis(redis.url);
    try {
      for (let i = 0; i < 100; i++) {
        const [, n] = (await probe.pubsub('NUMSUB', LIVE_CHANNEL)) as [string, number];
        if (n >= count) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      probe.disconnect();
    }
  }

  it('each node emits the merged second of both nodes once the grace period is over', async () => {
    const logger = new MemoryLogger();
    const a = new LiveHub({ nodeId: 'node-a', redisUrl: redis.url, graceMs: 200, logger });
    const b = new LiveHub({ nodeId: 'node-b', redisUrl: redis.url, graceMs: 200, logger });
    await subscribed(2);
    try {
      // The second that just closed, as the proxies report it right after the boundary.
      await new Promise((r) => setTimeout(r, 1010 - (Date.now() % 1000)));
      const second = Math.floor(Date.now() / 1000) - 1;
      const fromA = nextTick(a);
      const fromB = nextTick(b);
      a.push(secondOf('node-a', second, [{ route: 'r', n: 4, ms: 10, errors: 1 }]));
      b.push(secondOf('node-b', second, [{ route: 'r', n: 6, ms: 10 }, { route: 'only-b', n: 2, ms: 3 }]));
      const [ta, tb] = await Promise.all([fromA, fromB]);
      for (const t of [ta, tb]) {
        expect(t.nodes).toBe(2);
        expect(t.at).toBe(second * 1000);
        expect(t.total).toMatchObject({ rps: 12, errors: 1 });
        expect(t.routes.find((x) => x.route === 'r')).toMatchObject({ rps: 10, errors: 1, error_rate: 0.1 });
        expect(t.routes.find((x) => x.route === 'only-b')).toMatchObject({ rps: 2 });
      }
      expect(ta).toEqual(tb);

      // A node that reports after the grace period is late: the tick went out without it.
      const lateTick = nextTick(a);
      a.push(secondOf('node-a', second + 1, [{ route: 'r', n: 1, ms: 1 }]));
      const t = await lateTick;
      expect(t.nodes).toBe(1);
      const lateBefore = a.late;
      b.push(secondOf('node-b', t.at / 1000, [{ route: 'r', n: 1, ms: 1 }]));
      await new Promise((r) => setTimeout(r, 200));
      expect(a.late).toBe(lateBefore + 1);
    } finally {
      await a.close();
      await b.close();
    }
  }, 15_000);

  it('ignores unreadable messages on the channel', async () => {
    const hub = new LiveHub({ nodeId: 'node-c', redisUrl: redis.url, graceMs: 50, logger: new MemoryLogger() });
    await subscribed(1);
    const pub = new Redis(redis.url);
    try {
      await pub.publish(LIVE_CHANNEL, 'not json');
      await pub.publish(LIVE_CHANNEL, JSON.stringify({ node: 'x', second: 'soon' }));
      await new Promise((r) => setTimeout(r, 100));
      expect(hub.late).toBe(2);
    } finally {
      pub.disconnect();
      await hub.close();
    }
  });
});
