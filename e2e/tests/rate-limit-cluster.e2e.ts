/**
 * Rate and concurrency limits on a real Redis Cluster (3 primaries on loopback), shared by two gateway
 * processes connected with `REDIS_URL=redis+cluster://…`: the limit holds exactly across both nodes for
 * clients whose keys live on different primaries, and concurrency slots are shared.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startTestRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';

const LIMIT = 20;

describe('rate limiting on 2 nodes sharing a Redis Cluster', () => {
  let cluster: TestRedisCluster;
  let up: Upstream;
  const gws: Gateway[] = [];
  const agent = new Agent({ connections: 64, keepAliveTimeout: 10_000 });

  async function get(i: number, pathname: string, ip: string): Promise<number> {
    const r = await request(`${gws[i % gws.length]!.proxyUrl}${pathname}`, { dispatcher: agent, headers: { 'x-forwarded-for': ip } });
    await r.body.dump();
    return r.statusCode;
  }

  beforeAll(async () => {
    cluster = await startTestRedisCluster();
    up = await startUpstream('rl-cluster');
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-rlc-'));
    const file = path.join(dir, 'gatehouse.json');
    const redisLimit = (extra: object) => ({ limit_by: ['ip'], policy: 'redis', redis_timeout_ms: 2_000, fault_policy: 'fail-closed', ...extra });
    writeFileSync(
      file,
      JSON.stringify({
        _format_version: '1',
        services: [{ name: 's', url: up.url }],
        routes: [
          { name: 'exact', service: 's', paths: ['/exact'] },
          { name: 'sliding', service: 's', paths: ['/sliding'] },
        ],
        plugins: [
          { name: 'rate-limiting', route: 'exact', config: redisLimit({ hour: LIMIT, second: 1000 }) },
          { name: 'rate-limiting', route: 'sliding', config: redisLimit({ hour: LIMIT, algorithm: 'sliding-window' }) },
        ],
      }),
    );
    const env = { GATEWAY_CONFIG: file, REDIS_URL: cluster.url, GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1', GATEHOUSE_LOG_LEVEL: 'warn' };
    gws.push(...(await Promise.all([startGateway({ env }), startGateway({ env })])));
  }, 120_000);

  afterAll(async () => {
    await agent.close();
    await Promise.all(gws.map((g) => g.stop()));
    await up?.close();
    await cluster?.stop();
  });

  it.each(['/exact', '/sliding'])('%s: 12 clients (keys spread over the primaries) x 60 requests over both nodes: exactly the limit each', async (pathname) => {
    const ips = Array.from({ length: 12 }, (_, i) => `10.11.${pathname.length}.${i}`);
    const tally = ips.map(() => ({ ok: 0, limited: 0, other: 0 }));
    // 4 concurrent senders per client, round-robin over the two nodes.
    await Promise.all(
      ips.flatMap((ip, c) =>
        Array.from({ length: 4 }, async (_, s) => {
          for (let i = 0; i < 15; i++) {
            const status = await get(s + i, pathname, ip);
            const t = tally[c]!;
            if (status === 200) t.ok++;
            else if (status === 429) t.limited++;
            else t.other++;
          }
        }),
      ),
    );
    expect(tally.map((t) => t.other), gws.map((g) => g.logs()).join('\n').slice(-3000)).toEqual(ips.map(() => 0));
    expect(tally.map((t) => t.ok)).toEqual(ips.map(() => LIMIT));
    expect(tally.map((t) => t.limited)).toEqual(ips.map(() => 60 - LIMIT));
  });
});
