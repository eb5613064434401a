/**
 * The Lua script against a real redis-server: same decisions as the local algorithms, atomic under
 * concurrency, time from Redis, and a bounded decision when Redis is away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Decision, utcMonth, type WindowSpec } from './algorithms.js';
import { createRedisClient, waitReady } from './redis-client.js';
import { decodeDecision, LimitBatcher, RedisLimiterStore, RedisUnavailableError } from './redis-store.js';
import { LEASE_DIVISOR, LeaseTable } from './redis-lease.js';
import { startTestRedis, type TestRedis } from './test-support/redis-server.js';

const KIND = { gcra: 1, 'sliding-window': 2, 'quota-day': 3, 'quota-month': 4 } as const;
const quiet = { info() {}, warn() {}, error() {} };

let seq = 0;
/** One key, cost 1 (or `cost`), no lease unless `lease` = [divisor, cap]. */
function args(specs: WindowSpec[], id = `k${++seq}`, cost = 1, lease: [number, number] = [0, 0]): (string | number)[] {
  const a: (string | number)[] = [1, `t:{${id}}`, ...lease];
  for (const s of specs) a.push(KIND[s.kind], s.windowMs, s.limit);
  a.push(cost);
  return a;
}

const decode = (r: (number | string)[], n: number): Decision => decodeDecision(r, 0, n);

describe('redis limiter store (real redis-server)', () => {
  let redis: TestRedis;
  let client: Redis;
  let store: RedisLimiterStore;
  beforeAll(async () => {
    redis = await startTestRedis();
    client = createRedisClient(redis.url, quiet);
    expect(await waitReady(client, 5_000)).toBe(true);
    store = new RedisLimiterStore(client);
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it.each([
    { limit: 1, windowMs: 3_600_000 },
    { limit: 7, windowMs: 3_600_000 },
    { limit: 250, windowMs: 3_600_000 },
  ])('gcra admits exactly $limit of 3x concurrent calls', async ({ limit, windowMs }) => {
    const a = args([{ kind: 'gcra', name: 'hour', windowMs, limit }]);
    const replies = await Promise.all(Array.from({ length: limit * 3 }, () => store.limit(a.slice(), 1_000)));
    expect(replies.filter((r) => r[0] === 1)).toHaveLength(limit);
    const last = decode(replies.at(-1)!, 1);
    expect(last.allowed).toBe(false);
    expect(last.retryAfterMs).toBeGreaterThan(0);
    expect(last.retryAfterMs).toBeLessThanOrEqual(Math.ceil(windowMs / limit));
  });

  it('reports remaining and reset like the local algorithm', async () => {
    const a = args([{ kind: 'gcra', name: 'minute', windowMs: 60_000, limit: 4 }]);
    const d = decode(await store.limit(a, 1_000), 1);
    expect(d.remaining[0]).toBe(3);
    expect(d.resetMs[0]).toBe(15_000);
  });

  it('several windows: a refusal charges none', async () => {
    const specs: WindowSpec[] = [
      { kind: 'gcra', name: 'hour', windowMs: 3_600_000, limit: 2 },
      { kind: 'gcra', name: 'day', windowMs: 86_400_000, limit: 3 },
    ];
    const a = args(specs);
    const r = await Promise.all(Array.from({ length: 5 }, () => store.limit(a.slice(), 1_000)));
    expect(r.map((x) => x[0])).toEqual([1, 1, 0, 0, 0]);
    const d = decode(r[4]!, 2);
    expect(d.remaining).toEqual([0, 1]); // the day window was charged only twice
    expect(d.tightest).toBe(0);
  });

  it('sliding window is exact inside one window', async () => {
    const a = args([{ kind: 'sliding-window', name: 'day', windowMs: 86_400_000, limit: 20 }]);
    // A day window that started at 00:00 UTC: the previous window is empty (fresh key), so no weighting.
    const r = await Promise.all(Array.from({ length: 60 }, () => store.limit(a.slice(), 1_000)));
    expect(r.filter((x) => x[0] === 1)).toHaveLength(20);
  });

  it('quotas renew at the UTC day and month boundaries computed in Lua', async () => {
    const day = decode(await store.limit(args([{ kind: 'quota-day', name: 'quota-day', windowMs: 86_400_000, limit: 5 }]), 1_000), 1);
    const now = Date.now();
    expect(day.remaining[0]).toBe(4);
    expect(Math.abs(now + day.resetMs[0]! - (Math.floor(now / 86_400_000) + 1) * 86_400_000)).toBeLessThan(2_000);
    const month = decode(await store.limit(args([{ kind: 'quota-month', name: 'quota-month', windowMs: 0, limit: 5 }]), 1_000), 1);
    const id = utcMonth(now);
    const end = Date.UTC(Math.floor(id / 12), (id % 12) + 1, 1);
    expect(Math.abs(now + month.resetMs[0]! - end)).toBeLessThan(2_000);
  });

  it('batches one turn of requests into one script call, exact for repeated keys', async () => {
    const calls = async () => Number(/calls=(\d+)/.exec((await client.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha')) ?? 'calls=0')![1]);
    const b = new LimitBatcher(() => store, [0, 0, KIND.gcra, 3_600_000, 5], 1, 1_000);
    const before = await calls();
    const id = `b${++seq}`;
    const ds = await Promise.all([...Array.from({ length: 12 }, () => b.consume(`t:{${id}}`)), b.consume(`t:{${id}-other}`)]);
    expect(await calls()).toBe(before + 1);
    expect(ds.slice(0, 12).map((d) => d.allowed)).toEqual([...Array(5).fill(true), ...Array(7).fill(false)]);
    expect(ds.slice(0, 5).map((d) => d.remaining[0])).toEqual([4, 3, 2, 1, 0]);
    expect(ds[12]!.allowed).toBe(true);
    // Without Redis every waiter of the batch gets the error (the fault policy decides per request).
    const none = new LimitBatcher(() => undefined, [0, 0, KIND.gcra, 1_000, 1], 1, 50);
    await expect(none.consume('x')).rejects.toBeInstanceOf(RedisUnavailableError);
  });

  it('requests arriving while a call is outstanding go out together when it settles', async () => {
    const slow = await startTestRedis();
    const c = createRedisClient(slow.url, quiet);
    try {
      await waitReady(c, 5_000);
      let sent = 0;
      const s = new (class extends RedisLimiterStore {
        override limit(a: (string | number)[], ms: number) {
          sent++;
          return super.limit(a, ms);
        }
      })(c);
      const b = new LimitBatcher(() => s, [0, 0, KIND.gcra, 3_600_000, 100], 1, 5_000);
      slow.pause(); // the first call stays outstanding until resume
      const ds: Promise<Decision>[] = [b.consume('t:{w}')];
      await new Promise((r) => setImmediate(r));
      expect(sent).toBe(1);
      for (let turn = 0; turn < 5; turn++) {
        ds.push(b.consume('t:{w}'), b.consume('t:{w}'));
        await new Promise((r) => setImmediate(r));
      }
      expect(sent).toBe(1); // ten arrivals over five turns wait behind it...
      slow.resume();
      const got = await Promise.all(ds);
      expect(sent).toBe(2); // ...and go out as one call
      expect(got.map((d) => d.remaining[0])).toEqual(Array.from({ length: 11 }, (_, i) => 99 - i));
    } finally {
      c.disconnect();
      await slow.stop();
    }
  });

  it('a batch waiting behind a hung call is still decided within its own deadline', async () => {
    const hung = await startTestRedis();
    const c = createRedisClient(hung.url, quiet);
    try {
      await waitReady(c, 5_000);
      const s = new RedisLimiterStore(c);
      // Deadline 200 ms, second call 30 ms later: counted from its own arrival it ends near t1 + 200;
      // queued behind the first with a fresh deadline it would end near t1 + 370.
      const b = new LimitBatcher(() => s, [0, 0, KIND.gcra, 3_600_000, 5], 1, 200);
      hung.pause();
      const t0 = performance.now();
      const first = b.consume('t:{h}').catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 30));
      const t1 = performance.now();
      const second = b.consume('t:{h}').catch((e: unknown) => e);
      expect(await first).toBeInstanceOf(RedisUnavailableError);
      expect(await second).toBeInstanceOf(RedisUnavailableError);
      // The second waited behind the first, yet its deadline counted from its own arrival.
      expect(performance.now() - t1).toBeLessThan(200 + 120);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(199);
      hung.resume();
    } finally {
      c.disconnect();
      await hung.stop();
    }
  });

  it.each([
    { kind: 'gcra' as const, windowMs: 3_600_000 },
    { kind: 'sliding-window' as const, windowMs: 86_400_000 },
    { kind: 'quota-day' as const, windowMs: 86_400_000 },
  ])('$kind: a lease takes at most 1/8 of what is left (capped), and a give-back returns it', async ({ kind, windowMs }) => {
    const spec: WindowSpec[] = [{ kind, name: 'w', windowMs, limit: 1_000 }];
    const id = `lease${++seq}`;
    const first = decode(await store.limit(args(spec, id, 1, [LEASE_DIVISOR, 100]), 1_000), 1);
    expect(first.granted).toBe(1 + 100); // (1000 - 1) / 8 = 124, capped at 100
    expect(first.remaining[0]).toBe(1_000 - 101);
    const small = decode(await store.limit(args(spec, id, 1, [LEASE_DIVISOR, 10_000]), 1_000), 1);
    expect(small.granted).toBe(1 + Math.floor((899 - 1) / 8));
    const back = decode(await store.limit(args(spec, id, -(small.granted - 1)), 1_000), 1);
    expect(back.remaining[0]).toBe(899 - 1);
    // Giving back more than was taken never makes a fresh budget larger than the limit.
    const over = decode(await store.limit(args(spec, id, -5_000), 1_000), 1);
    expect(over.remaining[0]).toBeLessThanOrEqual(1_000);
    expect(decode(await store.limit(args(spec, id), 1_000), 1).remaining[0]).toBe(999);
  });

  it('near the limit a lease is empty, so the last units are decided one by one in Redis', async () => {
    const spec: WindowSpec[] = [{ kind: 'gcra', name: 'hour', windowMs: 3_600_000, limit: 100 }];
    const id = `near${++seq}`;
    const granted: number[] = [];
    for (let i = 0; i < 64; i++) granted.push(decode(await store.limit(args(spec, id, 1, [LEASE_DIVISOR, 100]), 1_000), 1).granted);
    // 99/8 → 12 extra, 86/8 → 10, 75/8 → 9, 65/8 → 8; with fewer than 8*8 units left after the request no
    // lease any more: single units down to the limit, then refusals.
    expect(granted).toEqual([13, 11, 10, 9, ...Array<number>(57).fill(1), 0, 0, 0]);
    expect(granted.reduce((a, b) => a + b, 0)).toBe(100);
  });

  it('never leases under a small limit: each unit is decided in Redis', async () => {
    const spec: WindowSpec[] = [{ kind: 'gcra', name: 'hour', windowMs: 3_600_000, limit: 30 }];
    const id = `small${++seq}`;
    const granted: number[] = [];
    for (let i = 0; i < 32; i++) granted.push(decode(await store.limit(args(spec, id, 1, [LEASE_DIVISOR, 100]), 1_000), 1).granted);
    expect(granted).toEqual([...Array<number>(30).fill(1), 0, 0]);
  });

  it('three nodes with leases under a flood admit exactly the limit, and give back what they did not use', async () => {
    const LIMIT = 500;
    const spec = [LEASE_DIVISOR, 50, KIND.gcra, 3_600_000, LIMIT];
    const key = `t:{flood${++seq}}`;
    const nodes = Array.from({ length: 3 }, () => {
      const b = new LimitBatcher(() => store, spec, 1, 5_000);
      return { b, leases: new LeaseTable(60_000, (k, u) => b.giveBack(k, u)) };
    });
    let allowed = 0;
    let fromLease = 0;
    // 20 clients, each sending its requests one after another to the nodes in turn.
    await Promise.all(
      Array.from({ length: 20 }, async (_, c) => {
        for (let i = 0; i < 75; i++) {
          const n = nodes[(c + i) % 3]!;
          if (n.leases.take(key, performance.now()) !== undefined) {
            allowed++;
            fromLease++;
            continue;
          }
          const d = await n.b.consume(key);
          if (d.allowed) {
            allowed++;
            n.leases.add(key, d, performance.now());
          }
        }
      }),
    );
    expect(allowed).toBe(LIMIT);
    expect(fromLease).toBeGreaterThan(LIMIT / 2); // most admissions never asked Redis
    // A node that still held units gives them back on close; the key's budget then shows them again.
    const probe = new LeaseTable(60_000, (k, u) => nodes[0]!.b.giveBack(k, u));
    const key2 = `t:{giveback${++seq}}`;
    const d = await nodes[0]!.b.consume(key2);
    probe.add(key2, d, performance.now());
    expect(d.granted).toBe(51);
    expect(d.remaining[0]).toBe(LIMIT - 1); // the client still has the leased units
    probe.close();
    for (const n of nodes) n.leases.close();
    await new Promise((r) => setTimeout(r, 50));
    const after = decode(await store.limit([1, key2, 0, 0, KIND.gcra, 3_600_000, LIMIT, 1], 1_000), 1);
    expect(after.remaining[0]).toBe(LIMIT - 2);
  });

  it('concurrency leases: at most max, released, expired leases reclaimed', async () => {
    const key = `cc:{${++seq}}`;
    const got = await Promise.all(['a', 'b', 'c'].map((m) => store.acquire(key, 2, 60_000, m, 1_000)));
    expect(got).toEqual([1, 1, 0]);
    await store.release(key, 'a');
    expect(await store.acquire(key, 2, 60_000, 'd', 1_000)).toBe(1);
    const k2 = `cc:{${++seq}}`;
    expect(await store.acquire(k2, 1, 1_000, 'x', 1_000)).toBe(1);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await store.acquire(k2, 1, 1_000, 'y', 1_000)).toBe(1);
  });

  it('a hung Redis turns into an error within the deadline', async () => {
    const hung = await startTestRedis();
    const c = createRedisClient(hung.url, quiet);
    try {
      await waitReady(c, 5_000);
      const s = new RedisLimiterStore(c);
      hung.pause(); // connected, but nothing answers
      const t0 = performance.now();
      await expect(s.limit(args([{ kind: 'gcra', name: 'hour', windowMs: 3_600_000, limit: 5 }]), 50)).rejects.toBeInstanceOf(RedisUnavailableError);
      expect(performance.now() - t0).toBeLessThan(500); // no deadline would hang until the test times out
      hung.resume();
      await hung.stop();
      // Disconnected: refused from the connection state, not queued until the deadline. The message
      // says which (a timeout reads "timed out"); timing it flaked on a loaded CI machine.
      for (let i = 0; i < 200 && s.ready; i++) await new Promise((r) => setTimeout(r, 10));
      expect(s.ready).toBe(false);
      await expect(s.limit(args([{ kind: 'gcra', name: 'hour', windowMs: 3_600_000, limit: 5 }]), 50)).rejects.toThrow(/redis unavailable: connection /);
    } finally {
      c.disconnect();
      await hung.stop();
    }
  });
});
