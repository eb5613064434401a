import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import { createRedisConnection, parseClusterUrl, seedNodeUrl, waitReady, type RedisConnection } from './redis-client.js';
import { LimitBatcher, RedisLimiterStore } from './redis-store.js';
import { startTestRedisCluster, type TestRedisCluster } from './test-support/redis-cluster.js';

const quiet = { info() {}, warn() {}, error() {} };

describe('Redis Cluster URLs', () => {
  it('parses seed nodes, credentials and TLS', () => {
    expect(parseClusterUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001/')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(parseClusterUrl('rediss+cluster://app:p%40ss@redis-a.internal:6380,[::1]:7000')).toEqual({
      nodes: [
        { host: 'redis-a.internal', port: 6380 },
        { host: '::1', port: 7000 },
      ],
      username: 'app',
      password: 'p@ss',
      tls: true,
    });
    expect(parseClusterUrl('redis+cluster://:secret@h:1').password).toBe('secret');
  });

  it('refuses what is not a list of host:port', () => {
    expect(() => parseClusterUrl('redis://h:1')).toThrow(/redis\+cluster/);
    expect(() => parseClusterUrl('redis+cluster://h')).toThrow(/host:port/);
    expect(() => parseClusterUrl('redis+cluster://h:1,h:99999')).toThrow(/host:port/);
    expect(() => parseClusterUrl('redis+cluster://h:1/2')).toThrow(/database/);
  });

  it('gives single-connection users (pub/sub) the first seed node', () => {
    expect(seedNodeUrl('redis://h:1/2')).toBe('redis://h:1/2');
    expect(seedNodeUrl('rediss+cluster://u:p%3A@[::1]:7000,h:7001')).toBe('rediss://u:p%3A@[::1]:7000');
  });
});

const GCRA = 1;
const SLIDING = 2;
const HOUR = 3_600_000;
const LIMIT = 10;

describe('limits on a real 3-primary Redis Cluster, two limiter instances (two gateway nodes)', () => {
  let cluster: TestRedisCluster;
  let a: RedisConnection;
  let b: RedisConnection;
  let storeA: RedisLimiterStore;
  let storeB: RedisLimiterStore;

  beforeAll(async () => {
    cluster = await startTestRedisCluster();
    a = createRedisConnection(cluster.url, quiet, { commandTimeoutMs: 5_000 });
    b = createRedisConnection(cluster.url, quiet, { commandTimeoutMs: 5_000 });
    expect(await waitReady(a, 10_000)).toBe(true);
    expect(await waitReady(b, 10_000)).toBe(true);
    storeA = new RedisLimiterStore(a);
    storeB = new RedisLimiterStore(b);
  }, 60_000);

  afterAll(async () => {
    a?.disconnect();
    b?.disconnect();
    await cluster?.stop();
  });

  it('connects as a cluster client', () => {
    expect(a.isCluster).toBe(true);
    expect(storeA.cluster).toBe(true);
    expect(storeA.ready).toBe(true);
  });

  it('a script call carrying keys of two slots is refused by the cluster (why batches are split per key)', async () => {
    const k1 = 'gh:rl:{g|i=10.8.0.1}:1:3600000';
    const k2 = 'gh:rl:{g|i=10.8.0.2}:1:3600000';
    const slot = (k: string) => (a as Cluster).cluster('KEYSLOT', k) as Promise<number>;
    expect(await slot(k1)).not.toBe(await slot(k2));
    await expect(storeA.limit([2, k1, k2, 0, 0, GCRA, HOUR, LIMIT, 1, 1], 5_000)).rejects.toThrow(/CROSSSLOT|same slot/);
  });

  it('the hash tag keeps all of one client\'s keys in one slot whatever follows it', async () => {
    const slot = (k: string) => (a as Cluster).cluster('KEYSLOT', k) as Promise<number>;
    const tag = 'g|c=alice';
    const s = await slot(tag);
    expect(await slot(`gh:rl:{${tag}}:1:1000,1:60000`)).toBe(s);
    expect(await slot(`gh:rl:{${tag}}:2:3600000`)).toBe(s);
  });

  it.each([
    ['gcra', GCRA],
    ['sliding-window', SLIDING],
  ])('%s: many clients, keys on every primary, two instances in the same turns: exactly the limit per key', async (name, kind) => {
    const keys = Array.from({ length: 30 }, (_, i) => `gh:rl:{t-${name}|i=10.9.${kind}.${i}}:${kind}:${HOUR}`);
    const spec = [0, 0, kind, HOUR, LIMIT];
    const batchA = new LimitBatcher(() => storeA, spec, 1, 5_000);
    const batchB = new LimitBatcher(() => storeB, spec, 1, 5_000);
    // 25 requests per key, alternating instances, all issued before any flush: every batch mixes slots.
    const calls = [];
    for (let r = 0; r < 25; r++) for (let k = 0; k < keys.length; k++) calls.push((r % 2 === 0 ? batchA : batchB).consume(keys[k]!).then((d) => [k, d.allowed] as const));
    const results = await Promise.all(calls);
    const allowed = new Array<number>(keys.length).fill(0);
    for (const [k, ok] of results) if (ok) allowed[k]!++;
    expect(allowed).toEqual(new Array(keys.length).fill(LIMIT));
    // The keys really are spread over the three primaries.
    const holders = await Promise.all((a as Cluster).nodes('master').map((n) => n.keys(`gh:rl:{t-${name}|*`).then((ks) => ks.length)));
    expect(holders).toHaveLength(3);
    for (const n of holders) expect(n).toBeGreaterThan(0);
  });

  it('concurrency leases are shared by both instances', async () => {
    const key = 'gh:cc:{r:reports|i=10.9.9.9}';
    const tries = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? storeA : storeB).acquire(key, 3, 60_000, `m${i}`, 5_000));
    const got = await Promise.all(tries);
    expect(got.filter((x) => x === 1)).toHaveLength(3);
    const holder = got.findIndex((x) => x === 1);
    expect(await storeB.release(key, `m${holder}`)).toBe(1);
    expect(await storeA.acquire(key, 3, 60_000, 'late', 5_000)).toBe(1);
    expect(await storeB.acquire(key, 3, 60_000, 'later', 5_000)).toBe(0);
  });
});
