import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createRedisClient, waitReady } from './redis-client.js';
import { RedisThrottlerStorage } from './throttler-storage.js';
import { startTestRedis, type TestRedis } from './test-support/redis-server.js';

const quiet = { info() {}, warn() {}, error() {} };

describe('RedisThrottlerStorage (admin login throttler)', () => {
  let redis: TestRedis;
  let a: Redis;
  let b: Redis;
  beforeAll(async () => {
    redis = await startTestRedis();
    a = createRedisClient(redis.url, quiet);
    b = createRedisClient(redis.url, quiet);
    await Promise.all([waitReady(a, 5_000), waitReady(b, 5_000)]);
  });
  afterAll(async () => {
    a.disconnect();
    b.disconnect();
    await redis.stop();
  });

  it('two nodes share one budget; the hit after the limit is blocked for the block duration', async () => {
    const nodes = [new RedisThrottlerStorage(a), new RedisThrottlerStorage(b)];
    const blocked: boolean[] = [];
    for (let i = 0; i < 6; i++) blocked.push((await nodes[i % 2]!.increment('1.2.3.4', 60_000, 4, 30_000, 'login')).isBlocked);
    expect(blocked).toEqual([false, false, false, false, true, true]);
    const r = await nodes[0]!.increment('1.2.3.4', 60_000, 4, 30_000, 'login');
    expect(r.timeToBlockExpire).toBeGreaterThan(25);
    expect(r.timeToBlockExpire).toBeLessThanOrEqual(30);
    expect((await nodes[1]!.increment('5.6.7.8', 60_000, 4, 30_000, 'login')).isBlocked).toBe(false);
    for (const n of nodes) n.close();
  });

  it('falls back to per-node memory when Redis is down (login stays throttled)', async () => {
    const r2 = await startTestRedis();
    const c = createRedisClient(r2.url, quiet);
    await waitReady(c, 5_000);
    const s = new RedisThrottlerStorage(c);
    await r2.stop();
    await new Promise((r) => setTimeout(r, 100));
    const blocked: boolean[] = [];
    for (let i = 0; i < 3; i++) blocked.push((await s.increment('k', 60_000, 2, 60_000, 'login')).isBlocked);
    expect(blocked).toEqual([false, false, true]);
    s.close();
    c.disconnect();
  });
});
