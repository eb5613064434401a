/**
 * The production topology on loopback: three gateway processes sharing one PostgreSQL (config) and one Redis
 * (limit counters), behind nginx (deploy/nginx.conf) as the load balancer.
 *
 * PostgreSQL is a private instance this test starts, so that it can be stopped without touching the shared
 * test server. Node C keeps its data folder across its restart: its config cache lives there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startNginx, type Nginx } from '../support/nginx.js';
import { startLoad } from '../support/load.js';

const LIMIT = 30;

async function status(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown> }> {
  const res = await request(url, { headers, headersTimeout: 10_000 });
  await res.body.dump();
  return { status: res.statusCode, headers: res.headers };
}

describe('three nodes behind nginx, sharing PostgreSQL and Redis', () => {
  let pg: PostgresInstance;
  let redis: RedisServer;
  let upstream: Upstream;
  let nginx: Nginx;
  const nodes: Gateway[] = [];
  const dirC = mkdtempSync(path.join(tmpdir(), 'gh-e2e-node-c-'));
  const agent = new Agent({ connections: 128 });

  const envFor = (id: string) => ({
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    GATEHOUSE_NODE_ID: id,
    GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1',
    GATEHOUSE_ACCESS_LOG: 'off',
    // Set on every node, so a node started from its cache can still verify consumers' credentials.
    GATEHOUSE_CREDENTIAL_PEPPER: 'e2e-multi-node-pepper-0123456789abcdef',
    GATEHOUSE_SECRET_KEY: 'e2e-multi-node-secret-key-0123456789abcdef',
  });

  beforeAll(async () => {
    [pg, redis, upstream] = await Promise.all([startPostgresInstance(), startRedis(), startUpstream('multi')]);
    nodes.push(
      ...(await Promise.all([
        startGateway({ env: envFor('a') }),
        startGateway({ env: envFor('b') }),
        startGateway({ env: envFor('c'), dataDir: dirC }),
      ])),
    );
    nginx = await startNginx(nodes.map((n) => n.proxyPort));
    const [a] = nodes;
    expect((await a!.admin('/services', { method: 'POST', body: JSON.stringify({ name: 'mn', url: upstream.url }) })).status).toBe(201);
    expect((await a!.admin('/routes', { method: 'POST', body: JSON.stringify({ name: 'mn', service: 'mn', paths: ['/mn'] }) })).status).toBe(201);
    const limited = { name: 'limited', service: 'mn', paths: ['/limited'] };
    expect((await a!.admin('/routes', { method: 'POST', body: JSON.stringify(limited) })).status).toBe(201);
    const limit = { name: 'rate-limiting', route: 'limited', config: { limit_by: ['ip'], policy: 'redis', hour: LIMIT, redis_timeout_ms: 2_000, fault_policy: 'fail-closed' } };
    expect((await a!.admin('/plugins', { method: 'POST', body: JSON.stringify(limit) })).status).toBe(201);
    // Every node serves both routes before the tests start.
    for (const n of nodes) {
      for (let i = 0; i < 200; i++) {
        if ((await status(`${n.proxyUrl}/mn/ready`)).status === 200) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }, 180_000);

  afterAll(async () => {
    await agent.close();
    await nginx?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    await upstream?.close();
    await redis?.stop();
    pg?.destroy();
    rmSync(dirC, { recursive: true, force: true });
  });

  it('(a) applies a change made through one node on all three within a second', async () => {
    const plugin = { name: 'response-headers', route: 'mn', config: { add: { 'x-multi': 'v2' } } };
    expect((await nodes[1]!.admin('/plugins', { method: 'POST', body: JSON.stringify(plugin) })).status).toBe(201);
    const changed = Date.now();
    const seenAfter: number[] = [];
    await Promise.all(
      nodes.map(async (n, i) => {
        while (Date.now() - changed < 5_000) {
          const res = await status(`${n.proxyUrl}/mn/poll`);
          if (res.headers['x-multi'] === 'v2') {
            seenAfter[i] = Date.now() - changed;
            return;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      }),
    );
    expect(seenAfter.filter((ms) => ms !== undefined)).toHaveLength(3);
    for (const ms of seenAfter) expect(ms).toBeLessThan(1_000);
  });

  it('(b) holds a Redis rate limit exactly across the nodes behind nginx', async () => {
    const ip = '10.77.0.1';
    const answers = await Promise.all(
      Array.from({ length: LIMIT * 2 }, async () => {
        const res = await request(`${nginx.url}/limited/x`, { dispatcher: agent, headers: { 'x-forwarded-for': ip } });
        await res.body.dump();
        return res.statusCode;
      }),
    );
    expect(answers.filter((s) => s === 200)).toHaveLength(LIMIT);
    expect(answers.filter((s) => s === 429)).toHaveLength(LIMIT);
    // nginx spread them over all three nodes.
    const served = new Set(nginx.accessLog().filter((l) => l.uri === '/limited/x').flatMap((l) => l.upstreams));
    expect(served.size).toBe(3);
  });

  it('(c) loses no request beyond those in flight on a node killed under load', async () => {
    const CONNECTIONS = 16;
    const victim = nodes[2]!;
    const load = startLoad(`${nginx.url}/mn/steady`, CONNECTIONS);
    await new Promise((r) => setTimeout(r, 1_000));
    victim.process.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 2_000));
    const result = await load.stop();
    const failed = result.failures.length + Object.entries(result.byStatus).filter(([s]) => s !== '200').reduce((n, [, c]) => n + c, 0);
    // At most one request per load connection can have been on the killed node; nginx retries those too
    // (GET is idempotent, `proxy_next_upstream error timeout`), so none is expected in practice.
    expect(failed).toBeLessThanOrEqual(CONNECTIONS);
    expect(result.byStatus[200]).toBeGreaterThan(50);
    const retried = nginx.accessLog().filter((l) => l.uri === '/mn/steady' && l.upstreams.length > 1);
    expect(retried.every((l) => l.status === 200)).toBe(true);
    await victim.stop();
  });

  it('(d) serves the cached snapshot on a node restarted while PostgreSQL is down, then follows the store again', async () => {
    pg.stop('fast');
    // Node C comes back on the same data folder, the store unreachable: the admin API waits, the proxy serves.
    const c = await startGateway({ env: envFor('c'), dataDir: dirC, ready: 'proxy' });
    nodes[2] = c;
    expect(c.logs()).toMatch(/serving the cached snapshot/);
    const cached = await status(`${c.proxyUrl}/mn/from-cache`);
    expect(cached.status).toBe(200);
    expect(cached.headers['x-multi']).toBe('v2');
    expect((await status(`${c.proxyUrl}/limited/from-cache`, { 'x-forwarded-for': '10.77.0.2' })).status).toBe(200);

    pg.start();
    // Once the store answers, C opens its admin listener and follows changes made elsewhere.
    const deadline = Date.now() + 40_000;
    let ready = false;
    while (!ready && Date.now() < deadline) {
      ready = await fetch(`${c.adminUrl}/health/ready`).then((r) => r.ok, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ready).toBe(true);
    // The write may meet a pool still reconnecting (503 GW_ERR_STORE_UNAVAILABLE): retry it.
    let write = 0;
    for (let i = 0; i < 50 && write !== 201; i++) {
      write = (await nodes[0]!.admin('/routes', { method: 'POST', body: JSON.stringify({ name: 'after', service: 'mn', paths: ['/after'] }) })).status;
      if (write !== 201) await new Promise((r) => setTimeout(r, 200));
    }
    expect(write).toBe(201);
    let seen = false;
    for (let i = 0; i < 100 && !seen; i++) {
      seen = (await status(`${c.proxyUrl}/after/x`)).status === 200;
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toBe(true);
  }, 120_000);
});
