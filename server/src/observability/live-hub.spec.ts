import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from '../limits/test-support/redis-server.js';
import { MemoryLogger } from '../proxy/test-support/harness.js';
import type { ProxyRequest } from '../proxy/proxy-request.js';
import { LiveAggregator, type LiveSecond } from './live-aggregates.js';
import { LIVE_CHANNEL, LiveHub, mergeSeconds, type LiveTick } from './live-hub.js';

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
    expect(mergeSeconds(51, []).total).toEqual({ rps: 0, errors: 0, error_rate: 0, p50: null, p95: null, p99: null });
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
