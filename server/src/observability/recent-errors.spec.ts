// Error tracking on a real ProxyServer: dead, failing and slow upstreams.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadPort, send, startGateway, startUpstream, type Gateway, type Upstream } from '../proxy/test-support/harness.js';
import { RecentErrors } from './recent-errors.js';

describe('recent errors', () => {
  let ok: Upstream;
  let failing: Upstream;
  let slow: Upstream;
  let resetting: Upstream;
  let gw: Gateway;
  let dead: number;
  const store = new RecentErrors(3);
  const held: Socket[] = [];

  beforeAll(async () => {
    ok = await startUpstream((_req, res) => res.end('fine'));
    failing = await startUpstream((_req, res) => {
      res.statusCode = 500;
      res.end('broken');
    });
    slow = await startUpstream((req) => held.push(req.socket));
    resetting = await startUpstream((req) => req.socket.destroy());
    dead = await deadPort();
    gw = await startGateway(
      {
        services: [
          { name: 'ok', url: `http://${ok.address}` },
          { name: 'failing', url: `http://${failing.address}` },
          { name: 'slow', url: `http://${slow.address}`, read_timeout: 100, retries: 0 },
          { name: 'resetting', url: `http://${resetting.address}`, retries: 0 },
          { name: 'gone', url: `http://127.0.0.1:${dead}` },
        ],
        routes: [
          { name: 'ok', service: 'ok', paths: ['/ok'] },
          { name: 'failing', service: 'failing', paths: ['/failing'] },
          { name: 'slow', service: 'slow', paths: ['/slow'] },
          { name: 'resetting', service: 'resetting', paths: ['/resetting'] },
          { name: 'gone', service: 'gone', paths: ['/gone'] },
        ],
      },
      [],
      { observer: store },
    );
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await gw?.close();
    for (const u of [ok, failing, slow, resetting]) await u?.close();
  });

  const settle = () => new Promise((r) => setTimeout(r, 30));

  it('records a 502 from a dead upstream with route, target, code, timings and request id', async () => {
    const res = await send(gw.port, '/gone/x?token=secret');
    expect(res.status).toBe(502);
    await settle();
    const v = store.view();
    expect(v.total).toBe(1);
    expect(v.counts).toEqual({ GW_ERR_UPSTREAM_UNAVAILABLE: 1 });
    const e = v.data[0]!;
    expect(e).toMatchObject({
      request_id: res.headers['x-request-id'],
      code: 'GW_ERR_UPSTREAM_UNAVAILABLE',
      status: 502,
      route: 'gone',
      service: 'gone',
      method: 'GET',
      path: '/gone/x',
      target: `127.0.0.1:${dead}`,
      upstream_failure: 'connect',
      consumer: null,
    });
    expect(e.timings_ms.total).toBeGreaterThan(0);
    expect(e.timings_ms.upstream_start).not.toBeNull();
    expect(e.timings_ms.upstream_head).toBeNull();
    expect(new Date(e.at).toISOString()).toBe(e.at);
  });

  it('ignores successes and client errors, and records upstream 5xx, timeouts and resets', async () => {
    expect((await send(gw.port, '/ok')).status).toBe(200);
    expect((await send(gw.port, '/nowhere')).status).toBe(404);
    await settle();
    expect(store.view().total).toBe(1);
    expect((await send(gw.port, '/failing')).status).toBe(500);
    expect((await send(gw.port, '/slow')).status).toBe(504);
    expect((await send(gw.port, '/resetting')).status).toBe(502);
    await settle();
    const v = store.view();
    expect(v.total).toBe(4);
    expect(v.counts).toEqual({ GW_ERR_UPSTREAM_UNAVAILABLE: 2, upstream_5xx: 1, GW_ERR_UPSTREAM_TIMEOUT: 1 });
    // Capacity 3: the oldest (the dead upstream) is gone; newest first.
    expect(v.data.map((e) => [e.route, e.code, e.upstream_failure])).toEqual([
      ['resetting', 'GW_ERR_UPSTREAM_UNAVAILABLE', 'reset'],
      ['slow', 'GW_ERR_UPSTREAM_TIMEOUT', 'timeout'],
      ['failing', 'upstream_5xx', null],
    ]);
    expect(v.data[2]!.timings_ms.upstream_head).not.toBeNull();
  });

  it('filters by route and limits the answer', async () => {
    expect(store.view('slow').data.map((e) => e.route)).toEqual(['slow']);
    expect(store.view('gone').data).toEqual([]);
    expect(store.view(undefined, 2).data).toHaveLength(2);
    store.clear();
    expect(store.view()).toEqual({ total: 0, capacity: 3, counts: {}, data: [] });
  });
});
