import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
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

/** Opens a request and lets the caller drop the connection mid-request (a client going away). */
function openRequest(port: number, path: string, headers: Record<string, string>): { abort(): void; done: Promise<void> } {
  const req = request({ host: '127.0.0.1', port, path, headers, agent: false });
  const done = new Promise<void>((resolve) => {
    req.on('error', () => resolve());
    req.on('close', () => resolve());
  });
  req.end();
  return { abort: () => req.destroy(), done };
}

describe('concurrency-limit: clients that disconnect mid-request', () => {
  let up: Upstream;
  let gw: Gateway;
  let redis: TestRedis;
  let client: Redis;
  const held: ServerResponse[] = [];
  const releaseAll = () => {
    for (const r of held.splice(0)) if (!r.destroyed) r.end('done');
  };
  beforeAll(async () => {
    up = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      held.push(res);
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
          { name: 'concurrency-limit', route: 'shared', config: { max: 2, limit_by: ['ip'], policy: 'redis', redis_timeout_ms: 2_000 } },
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
    const deadline = Date.now() + 5_000;
    while (held.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${held.length} of ${n} requests reached the upstream`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Both slots of `ip` free: two requests can be in flight together again (a leaked slot answers 429 at once). */
  async function expectTwoSlotsFree(path: string, ip: string): Promise<void> {
    const h = { headers: { 'x-forwarded-for': ip } };
    const early: number[] = [];
    const again = [send(gw.port, path, h), send(gw.port, path, h)].map((p) =>
      p.then((r) => {
        early.push(r.status);
        return r.status;
      }),
    );
    const deadline = Date.now() + 5_000;
    while (held.length < 2 && early.length === 0 && Date.now() < deadline) await sleep(5);
    const refusedAtOnce = [...early];
    releaseAll();
    const statuses = await Promise.all(again);
    expect(refusedAtOnce).toEqual([]);
    expect(statuses).toEqual([200, 200]);
    await sleep(30);
  }

  it.each(['/local', '/shared'])('%s: requests dropped while upstream give their slots back', async (path) => {
    const ip = path === '/local' ? '10.3.0.1' : '10.3.0.2';
    const a = openRequest(gw.port, path, { 'x-forwarded-for': ip });
    const b = openRequest(gw.port, path, { 'x-forwarded-for': ip });
    await waitHeld(2);
    a.abort();
    b.abort();
    await Promise.all([a.done, b.done]);
    held.splice(0); // the gateway aborted its upstream exchanges; nothing to answer
    await sleep(50);
    await expectTwoSlotsFree(path, ip);
  });

  it('/shared: a request dropped while its Redis acquire is in flight does not keep the slot', async () => {
    const ip = '10.3.0.3';
    // A hung Redis (SIGSTOP) still buffers the acquire; it runs when Redis resumes, after the client left.
    redis.pause();
    let resumed = false;
    try {
      const a = openRequest(gw.port, '/shared', { 'x-forwarded-for': ip });
      await sleep(150); // the gateway has read the request and sent the acquire
      a.abort();
      await a.done;
      await sleep(100); // the gateway has seen the close (log phase ran)
      redis.resume();
      resumed = true;
      await sleep(150); // the acquire (and any release) completed
    } finally {
      if (!resumed) redis.resume();
    }
    expect(held).toHaveLength(0); // the dropped request never went upstream
    await expectTwoSlotsFree('/shared', ip);
  });
});
