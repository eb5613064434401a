import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { attachRedis } from '../../limits/backends.js';
import { createRedisClient, waitReady } from '../../limits/redis-client.js';
import { startTestRedis, type TestRedis } from '../../limits/test-support/redis-server.js';

const quiet = { info() {}, warn() {}, error() {} };

describe('concurrency-limit', () => {
  let up: Upstream;
  let gw: Gateway;
  let redis: TestRedis;
  let client: Redis;
  /** Responses the slow upstream holds until the test lets them go. */
  const held: ServerResponse[] = [];
  const releaseAll = () => {
    for (const r of held.splice(0)) r.end('done');
  };
  beforeAll(async () => {
    up = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      if (req.url?.includes('fast')) res.end('fast');
      else held.push(res);
    });
    redis = await startTestRedis();
    client = createRedisClient(redis.url, quiet);
    await waitReady(client, 5_000);
    attachRedis(client);
    gw = await startGateway(
      {
        services: [{ name: 's', url: `http://${up.address}` }],
        routes: [
          { name: 'local', service: 's', paths: ['/local'] },
          { name: 'shared', service: 's', paths: ['/shared'] },
        ],
        plugins: [
          { name: 'concurrency-limit', route: 'local', config: { max: 2, limit_by: ['ip'] } },
          { name: 'concurrency-limit', route: 'shared', config: { max: 2, limit_by: ['ip'], policy: 'redis', redis_timeout_ms: 1_000 } },
        ],
      },
      ['127.0.0.1'],
    );
  });
  afterAll(async () => {
    releaseAll();
    await gw.close();
    attachRedis(undefined);
    client.disconnect();
    await redis.stop();
    await up.close();
  });

  const waitHeld = async (n: number) => {
    while (held.length < n) await new Promise((r) => setTimeout(r, 5));
  };

  it.each(['/local', '/shared'])('%s: the third request in flight is refused; finished requests give their slot back', async (path) => {
    const h = { headers: { 'x-forwarded-for': '10.2.0.1' } };
    const first = [send(gw.port, path, h), send(gw.port, path, h)];
    await waitHeld(2);
    const third = await send(gw.port, path, h);
    expect(third.status).toBe(429);
    expect(third.json()).toMatchObject({ code: 'GW_ERR_CONCURRENCY_LIMITED' });
    // Another key is not affected.
    const other = send(gw.port, path, { headers: { 'x-forwarded-for': '10.2.0.2' } });
    await waitHeld(3);
    releaseAll();
    expect((await Promise.all([...first, other])).map((r) => r.status)).toEqual([200, 200, 200]);
    await new Promise((r) => setTimeout(r, 20)); // the log phase runs after the response finished
    // Both slots are back (a leaked slot would refuse the second): two held in flight again.
    const again = [send(gw.port, path, h), send(gw.port, path, h)];
    await waitHeld(2);
    releaseAll();
    expect((await Promise.all(again)).map((r) => r.status)).toEqual([200, 200]);
    await new Promise((r) => setTimeout(r, 20));
  });
});
