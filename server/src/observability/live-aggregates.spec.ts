import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BREAKERS, type BreakerSettings, type ServiceBreaker } from '../resilience/circuit-breaker.js';
import type { ProxyRequest } from '../proxy/proxy-request.js';
import { newCredential } from '../auth/new-credential.js';
import { activeCredentialKeys } from '../auth/secrets.js';
import { deadPort, send, startGateway, startUpstream, type Gateway, type Upstream } from '../proxy/test-support/harness.js';
import {
  BUCKET_COUNT,
  bucketIndex,
  CONSUMER_OTHER,
  MAX_LIVE_CONSUMERS,
  bucketValue,
  isLiveError,
  LATENCY_MIN_MS,
  LatencyHistogram,
  LiveAggregator,
  PERCENTILE_RELATIVE_ERROR,
  type LiveSecond,
} from './live-aggregates.js';

/** The nearest-rank percentile of raw samples: what the histogram approximates. */
function exact(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil(q * s.length)) - 1]!;
}

/** A deterministic spread of latencies from 0.2 ms to ~20 s. */
function latencies(n: number, seed: number): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(0.2 * 2 ** ((x / 2147483648) * 16.6));
  }
  return out;
}

function fakeRequest(o: { ms: number; status?: number; route?: string; service?: string; failure?: ProxyRequest['upstreamFailure']; consumer?: string }): ProxyRequest {
  return {
    consumer: o.consumer === undefined ? undefined : { username: o.consumer, groups: [], tags: [] },
    startedAt: 1000,
    endedAt: 1000 + o.ms,
    status: o.status ?? 200,
    upstreamFailure: o.failure,
    route: o.route === undefined ? undefined : { name: o.route, service: o.service, tags: [] },
    serviceName: o.service,
  } as unknown as ProxyRequest;
}

describe('latency histogram', () => {
  it('puts every latency in a bucket whose representative is within the documented relative error', () => {
    expect(PERCENTILE_RELATIVE_ERROR).toBeLessThan(0.045);
    for (let ms = LATENCY_MIN_MS; ms < 1_000_000; ms *= 1.013) {
      const i = bucketIndex(ms);
      expect(i).toBeGreaterThan(0);
      expect(i).toBeLessThan(BUCKET_COUNT - 1);
      expect(Math.abs(bucketValue(i) - ms) / ms, `${ms} ms`).toBeLessThanOrEqual(PERCENTILE_RELATIVE_ERROR + 1e-9);
    }
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(0.05)).toBe(0);
    expect(bucketIndex(NaN)).toBe(0);
    expect(bucketIndex(1e12)).toBe(BUCKET_COUNT - 1);
    // Bucket edges are monotonic: a longer latency never lands in an earlier bucket.
    expect(bucketIndex(1)).toBeLessThan(bucketIndex(1.1));
  });

  it('percentiles follow the exact ones within the bound', () => {
    const samples = latencies(5000, 7);
    const h = new LatencyHistogram();
    for (const s of samples) h.addIndex(bucketIndex(s));
    for (const q of [0.5, 0.9, 0.95, 0.99, 1]) {
      const e = exact(samples, q);
      // The representative is rounded to 0.01 ms for the wire.
      expect(Math.abs(h.percentile(q)! - e) / e, `p${q * 100}`).toBeLessThanOrEqual(PERCENTILE_RELATIVE_ERROR + 0.01 / e + 1e-9);
    }
    expect(new LatencyHistogram().percentile(0.5)).toBeNull();
  });

  it('merging sparse histograms equals one histogram of all samples (so cluster percentiles are exact up to the bucket)', () => {
    const a = latencies(3000, 1);
    const b = latencies(1000, 2).map((x) => x * 10);
    const ha = new LatencyHistogram();
    const hb = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (const s of a) ha.addIndex(bucketIndex(s));
    for (const s of b) hb.addIndex(bucketIndex(s));
    for (const s of [...a, ...b]) all.addIndex(bucketIndex(s));
    const merged = new LatencyHistogram();
    merged.addSparse(ha.sparse());
    merged.addSparse(hb.sparse());
    expect(merged.total).toBe(4000);
    expect([...merged.counts]).toEqual([...all.counts]);
    for (const q of [0.5, 0.95, 0.99]) {
      const e = exact([...a, ...b], q);
      expect(Math.abs(merged.percentile(q)! - e) / e).toBeLessThanOrEqual(PERCENTILE_RELATIVE_ERROR + 0.01 / e + 1e-9);
    }
  });

  it('ignores out-of-range bucket indexes from a peer', () => {
    const h = new LatencyHistogram();
    h.addSparse([-1, 5, BUCKET_COUNT, 5, 1.5, 5, 3, 2, 4]);
    expect(h.total).toBe(2);
    expect(h.sparse()).toEqual([3, 2]);
  });
});

describe('error classification', () => {
  it('counts 5xx and broken upstream exchanges, not client errors nor clients that left', () => {
    expect(isLiveError({ status: 502, upstreamFailure: 'connect' })).toBe(true);
    expect(isLiveError({ status: 500, upstreamFailure: undefined })).toBe(true);
    expect(isLiveError({ status: 200, upstreamFailure: 'reset' })).toBe(true);
    expect(isLiveError({ status: 404, upstreamFailure: undefined })).toBe(false);
    expect(isLiveError({ status: 429, upstreamFailure: undefined })).toBe(false);
    expect(isLiveError({ status: 0, upstreamFailure: 'client-abort' })).toBe(false);
  });
});

describe('live aggregator', () => {
  const SETTINGS: BreakerSettings = { errorThresholdPercentage: 50, volumeThreshold: 1, rollingWindowMs: 10_000, rollingBuckets: 10, resetTimeoutMs: 30_000 };
  const held: ServiceBreaker[] = [];
  afterEach(() => {
    vi.useRealTimers();
    for (const b of held.splice(0)) BREAKERS.release(b);
  });

  it('aggregates per route, per service and in total, and resets each second', () => {
    const agg = new LiveAggregator({ node: 'n1', breakers: () => [] });
    agg.end(fakeRequest({ ms: 10, route: 'a', service: 's' }));
    agg.end(fakeRequest({ ms: 20, route: 'a', service: 's', status: 503 }));
    agg.end(fakeRequest({ ms: 30, route: 'b', service: 's' }));
    agg.end(fakeRequest({ ms: 1, status: 404 }));
    const s = agg.flush(100);
    expect(s).toMatchObject({ node: 'n1', second: 100, total: { count: 4, errors: 1 } });
    expect(s.routes.map((r) => [r.name, r.count, r.errors])).toEqual([
      ['a', 2, 1],
      ['b', 1, 0],
    ]);
    expect(s.services.map((r) => [r.name, r.count, r.errors])).toEqual([['s', 3, 1]]);
    const h = new LatencyHistogram();
    h.addSparse(s.routes[0]!.latency);
    expect(h.total).toBe(2);
    expect(h.percentile(1)! / 20).toBeCloseTo(1, 1);
    // The next second starts empty; idle cells are not reported.
    const next = agg.flush(101);
    expect(next.total.count).toBe(0);
    expect(next.routes).toEqual([]);
    // The message crosses threads and Redis: it must survive both.
    expect(structuredClone(s)).toEqual(s);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('counts 429 responses as `limited` in total, per route and per service (not as errors)', () => {
    const agg = new LiveAggregator({ node: 'n1', breakers: () => [] });
    agg.end(fakeRequest({ ms: 1, route: 'a', service: 's', status: 429 }));
    agg.end(fakeRequest({ ms: 1, route: 'a', service: 's', status: 429 }));
    agg.end(fakeRequest({ ms: 1, route: 'a', service: 's', status: 200 }));
    agg.end(fakeRequest({ ms: 1, status: 429 }));
    const s = agg.flush(7);
    expect(s.total).toMatchObject({ count: 4, errors: 0, limited: 3 });
    expect(s.routes).toEqual([expect.objectContaining({ name: 'a', count: 3, limited: 2 })]);
    expect(s.services).toEqual([expect.objectContaining({ name: 's', count: 3, limited: 2 })]);
    expect(agg.flush(8).total).toMatchObject({ count: 0, limited: 0 });
  });

  it('counts authenticated consumers per second, without latency, and only those', () => {
    const agg = new LiveAggregator({ node: 'n1', breakers: () => [] });
    agg.end(fakeRequest({ ms: 1, consumer: 'alice' }));
    agg.end(fakeRequest({ ms: 1, consumer: 'alice', status: 429 }));
    agg.end(fakeRequest({ ms: 1, consumer: 'alice', status: 502 }));
    agg.end(fakeRequest({ ms: 1, consumer: 'bob' }));
    agg.end(fakeRequest({ ms: 1 }));
    const s = agg.flush(1);
    expect(s.consumers).toEqual([
      { name: 'alice', count: 3, errors: 1, limited: 1, latency: [] },
      { name: 'bob', count: 1, errors: 0, limited: 0, latency: [] },
    ]);
    expect(agg.consumerCells).toBe(0);
    expect(agg.flush(2).consumers).toEqual([]);
  });

  it('a flood of 10,000 distinct consumers in one second holds at most MAX_LIVE_CONSUMERS cells; the rest is `(other)`', () => {
    const agg = new LiveAggregator({ node: 'n1', breakers: () => [] });
    for (let i = 0; i < 10_000; i++) {
      agg.end(fakeRequest({ ms: 1, consumer: `c${i}`, status: i % 10 === 0 ? 429 : 200 }));
      expect(agg.consumerCells).toBeLessThanOrEqual(MAX_LIVE_CONSUMERS);
    }
    const s = agg.flush(1);
    expect(s.consumers).toHaveLength(MAX_LIVE_CONSUMERS + 1);
    const other = s.consumers!.find((c) => c.name === CONSUMER_OTHER)!;
    expect(other).toMatchObject({ count: 10_000 - MAX_LIVE_CONSUMERS, limited: 900 });
    expect(s.consumers!.reduce((n, c) => n + c.count, 0)).toBe(10_000);
    // The next second starts with an empty map: a new set of consumers gets its own cells.
    agg.end(fakeRequest({ ms: 1, consumer: 'late-comer' }));
    expect(agg.flush(2).consumers).toEqual([expect.objectContaining({ name: 'late-comer', count: 1 })]);
  });

  it('reports each closed wall-clock second once, with the breakers’ states', () => {
    vi.useFakeTimers({ now: new Date('2025-01-01T00:00:00.400Z') });
    const b = BREAKERS.acquire('live-agg-group', SETTINGS);
    held.push(b);
    b.breaker.open();
    const agg = new LiveAggregator({ node: 'n1', breakers: () => BREAKERS.list() });
    const got: LiveSecond[] = [];
    agg.start((s) => got.push(s));
    const t0 = Date.UTC(2025, 0, 1) / 1000;
    agg.end(fakeRequest({ ms: 5, route: 'r', service: 's' }));
    agg.end(fakeRequest({ ms: 5, route: 'r', service: 's' }));
    vi.advanceTimersByTime(599);
    expect(got).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ second: t0, total: { count: 2 } });
    expect(got[0]!.breakers).toContainEqual({ id: b.id, group: 'live-agg-group', state: 'open' });
    agg.end(fakeRequest({ ms: 5, route: 'r', service: 's' }));
    vi.advanceTimersByTime(1000);
    expect(got.map((s) => [s.second - t0, s.total.count])).toEqual([
      [0, 2],
      [1, 1],
    ]);
    agg.stop();
    vi.advanceTimersByTime(5000);
    expect(got).toHaveLength(2);
  });

  it('keeps ticking when the sink throws', () => {
    vi.useFakeTimers({ now: new Date('2025-01-01T00:00:00.000Z') });
    const agg = new LiveAggregator({ node: 'n1', breakers: () => [] });
    let calls = 0;
    agg.start(() => {
      if (calls++ === 0) throw new Error('sink bug');
    });
    expect(() => vi.advanceTimersByTime(1000)).toThrow('sink bug');
    vi.advanceTimersByTime(1000);
    expect(calls).toBe(2);
    agg.stop();
  });

  describe('behind a real proxy with key-auth and a rate limit', () => {
    let up: Upstream;
    let gw: Gateway;
    const agg = new LiveAggregator({ node: 'n1', breakers: () => [] });
    const alice = newCredential(activeCredentialKeys(), 'alice', { kind: 'key-auth' });
    beforeAll(async () => {
      up = await startUpstream((_req, res) => res.end('x'));
      gw = await startGateway(
        {
          services: [{ name: 'up', url: `http://${up.address}` }],
          routes: [{ name: 'limited', service: 'up', paths: ['/limited'] }],
          consumers: [{ username: 'alice' }],
          credentials: [alice.credential],
          plugins: [
            { name: 'key-auth', route: 'limited', config: {} },
            { name: 'rate-limiting', route: 'limited', config: { minute: 3, limit_by: ['consumer'] } },
          ],
        },
        [],
        { observer: agg },
      );
    });
    afterAll(async () => {
      await gw.close();
      await up.close();
    });

    it('counts the 429s the rate limit answered and the authenticated consumer’s requests', async () => {
      agg.flush(0);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await send(gw.port, '/limited', { headers: { apikey: alice.plain } })).status);
      statuses.push((await send(gw.port, '/limited')).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429, 401]);
      await new Promise((r) => setTimeout(r, 50));
      const s = agg.flush(1);
      expect(s.total).toMatchObject({ count: 6, errors: 0, limited: 2 });
      expect(s.routes).toEqual([expect.objectContaining({ name: 'limited', count: 6, limited: 2 })]);
      // The request without a key has no consumer: not attributed.
      expect(s.consumers).toEqual([{ name: 'alice', count: 5, errors: 0, limited: 2, latency: [] }]);
    });
  });

  describe('behind a real proxy', () => {
    let up: Upstream;
    let gw: Gateway;
    const agg = new LiveAggregator({ node: 'n1', breakers: () => [] });
    beforeAll(async () => {
      up = await startUpstream((req, res) => {
        res.statusCode = req.url?.endsWith('/fail') ? 500 : 200;
        res.end('x');
      });
      const dead = await deadPort();
      gw = await startGateway(
        {
          services: [
            { name: 'up', url: `http://${up.address}` },
            { name: 'down', url: `http://127.0.0.1:${dead}` },
          ],
          routes: [
            { name: 'ok', service: 'up', paths: ['/ok'] },
            { name: 'gone', service: 'down', paths: ['/gone'] },
          ],
        },
        [],
        { observer: agg },
      );
    });
    afterAll(async () => {
      await gw.close();
      await up.close();
    });

    it('counts what the proxy served, its errors and its latencies', async () => {
      agg.flush(0);
      for (let i = 0; i < 5; i++) await send(gw.port, '/ok');
      await send(gw.port, '/ok/fail');
      await send(gw.port, '/gone');
      await send(gw.port, '/nowhere');
      // `end` runs once the response's connection side is done; give it a turn.
      await new Promise((r) => setTimeout(r, 50));
      const s = agg.flush(1);
      expect(s.total).toMatchObject({ count: 8, errors: 2 });
      const byName = Object.fromEntries(s.routes.map((r) => [r.name, r]));
      expect(byName.ok).toMatchObject({ count: 6, errors: 1 });
      expect(byName.gone).toMatchObject({ count: 1, errors: 1 });
      expect(s.services.map((c) => [c.name, c.count]).sort()).toEqual([
        ['down', 1],
        ['up', 6],
      ]);
      const h = new LatencyHistogram();
      h.addSparse(byName.ok!.latency);
      expect(h.total).toBe(6);
      expect(h.percentile(0.5)).toBeGreaterThan(0);
      expect(h.percentile(0.5)).toBeLessThan(5000);
    });
  });
});

describe('in-process proxy plane', () => {
  afterEach(() => vi.useRealTimers());

  it('runs the aggregator only while someone listens, and hands each second to every listener', async () => {
    vi.useFakeTimers({ now: new Date('2025-01-01T00:00:00.000Z') });
    const { InProcessProxyPlane } = await import('../proxy/proxy-plane.js');
    const { ProxyServer } = await import('../proxy/proxy-server.js');
    const { MemoryLogger } = await import('../proxy/test-support/harness.js');
    const logger = new MemoryLogger();
    const agg = new LiveAggregator({ node: 'n1', breakers: () => [] });
    const plane = new InProcessProxyPlane(new ProxyServer({ trustedProxies: [], logger, nodeId: 'n1', observer: agg }), new Map(), logger as never, agg);
    const a: number[] = [];
    const b: number[] = [];
    const offA = plane.onLive((s) => a.push(s.second));
    const offB = plane.onLive((s) => b.push(s.second));
    vi.advanceTimersByTime(2000);
    expect(a).toHaveLength(2);
    expect(b).toEqual(a);
    offA();
    vi.advanceTimersByTime(1000);
    expect(a).toHaveLength(2);
    expect(b).toHaveLength(3);
    offB();
    expect(vi.getTimerCount()).toBe(0);
  });
});
