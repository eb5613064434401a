import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { io as connect, type Socket } from 'socket.io-client';
import { createHarness, ADMIN_TOKEN, ROOT, type Harness } from '../test-support/admin-harness.js';
import { LiveAggregator } from '../../observability/live-aggregates.js';
import type { LiveTick } from '../../observability/live-hub.js';
import type { ProxyRequest } from '../../proxy/proxy-request.js';
import { HISTORY_MIN_INTERVAL_MS, historySeconds, LIVE_PATH, type LiveHistoryReply } from './live-socket.js';

const JWT_SECRET = 'jwt-secret-for-tests';

function sign(sub: string, secret = JWT_SECRET, expiresIn = '1h'): Promise<string> {
  return new SignJWT({ sub, role: 'viewer' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));
}

describe('live stream socket', () => {
  let h: Harness;
  let url: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    h = await createHarness();
    await h.app.listen('127.0.0.1', 0);
    url = h.app.url();
    const admin = await h.login(ROOT.username, ROOT.password);
    const created = await h.request('POST', '/admin-users', { token: admin, body: { username: 'watcher', password: 'watcher-password', role: 'viewer' } });
    expect(created.statusCode, created.body).toBe(201);
    await h.store.adminUsers.create({ username: 'dev-pending', password_hash: 'x', role: 'developer-pending' });
    // A fresh PGlite store takes a while on a busy machine.
  }, 90_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await h.close();
  });

  function open(auth: Record<string, unknown> | undefined): Socket {
    const s = connect(url, { path: LIVE_PATH, transports: ['websocket'], reconnection: false, ...(auth ? { auth } : {}) });
    sockets.push(s);
    return s;
  }

  function outcome(s: Socket): Promise<{ ok: true } | { ok: false; message: string }> {
    return new Promise((resolve) => {
      s.once('connect', () => resolve({ ok: true }));
      s.once('connect_error', (err) => resolve({ ok: false, message: err.message }));
    });
  }

  it('refuses a handshake without a token', async () => {
    const r = await outcome(open(undefined));
    expect(r).toEqual({ ok: false, message: expect.stringContaining('token') });
  });

  it('refuses a bad token, a token signed with another secret, and an unknown user', async () => {
    expect(await outcome(open({ token: 'nonsense' }))).toMatchObject({ ok: false, message: 'invalid or expired token' });
    expect(await outcome(open({ token: await sign('watcher', 'another-secret') }))).toMatchObject({ ok: false, message: 'invalid or expired token' });
    expect(await outcome(open({ token: await sign('nobody') }))).toMatchObject({ ok: false, message: 'invalid or expired token' });
    expect(await outcome(open({ token: await sign('watcher', JWT_SECRET, '-1m') }))).toMatchObject({ ok: false, message: 'invalid or expired token' });
  });

  it('refuses roles below viewer (developer-portal accounts)', async () => {
    const r = await outcome(open({ token: await sign('dev-pending') }));
    expect(r).toMatchObject({ ok: false, message: expect.stringContaining("needs 'viewer'") });
  });

  it('lets a viewer’s login token in and pushes each second’s tick; the static admin token works too', async () => {
    const token = await h.login('watcher', 'watcher-password');
    const viewer = open({ token });
    expect(await outcome(viewer)).toEqual({ ok: true });
    const admin = open({ token: ADMIN_TOKEN });
    expect(await outcome(admin)).toEqual({ ok: true });

    const ticks = (s: Socket) => new Promise<LiveTick>((resolve) => s.once('tick', resolve));
    const forViewer = ticks(viewer);
    const forAdmin = ticks(admin);
    // The second as the proxy worker would post it, built by the real aggregator.
    const agg = new LiveAggregator({ node: 'local', breakers: () => [] });
    for (const ms of [5, 5, 5, 500]) {
      agg.end({ startedAt: 0, endedAt: ms, status: ms > 100 ? 504 : 200, upstreamFailure: undefined, route: { name: 'orders', service: 'shop', tags: [] }, serviceName: 'shop' } as unknown as ProxyRequest);
    }
    const second = Math.floor(Date.now() / 1000) - 1;
    h.runtime.emitLive(agg.flush(second));
    const [t, ta] = await Promise.all([forViewer, forAdmin]);
    expect(ta).toEqual(t);
    expect(t).toMatchObject({ at: second * 1000, nodes: 1, total: { rps: 4, errors: 1, limited: 0, error_rate: 0.25 } });
    expect(t.routes).toEqual([expect.objectContaining({ route: 'orders', rps: 4, errors: 1, error_rate: 0.25 })]);
    expect(t.routes[0]!.p50! / 5).toBeCloseTo(1, 1);
    expect(t.routes[0]!.p99! / 500).toBeCloseTo(1, 1);
    expect(t.services).toEqual([expect.objectContaining({ service: 'shop', rps: 4 })]);
    expect(t.breakers).toEqual([]);

    // A client that connects between two ticks gets the last one at once.
    const late = open({ token });
    const first = ticks(late);
    expect(await outcome(late)).toEqual({ ok: true });
    expect(await first).toEqual(t);
  });

  it('answers an ack-able `history` request with the remembered ticks, oldest first, and rate-limits it', async () => {
    const s = open({ token: ADMIN_TOKEN });
    expect(await outcome(s)).toEqual({ ok: true });
    const agg = new LiveAggregator({ node: 'local', breakers: () => [] });
    const now = Math.floor(Date.now() / 1000);
    // Three seconds the proxy reported (the hub drops one older than the newest it emitted, so these are newer).
    for (let k = 3; k >= 1; k--) {
      for (let i = 0; i < k; i++) agg.end({ startedAt: 0, endedAt: 2, status: i === 0 ? 429 : 200, upstreamFailure: undefined, route: { name: 'orders', service: 'shop', tags: [] }, serviceName: 'shop' } as unknown as ProxyRequest);
      h.runtime.emitLive(agg.flush(now + 10 - k));
    }
    const ask = (body: unknown) => s.timeout(2000).emitWithAck('history', body) as Promise<LiveHistoryReply>;
    const reply = await ask({ seconds: 3600 });
    expect('ticks' in reply).toBe(true);
    const ticks = (reply as { ticks: LiveTick[] }).ticks;
    const ours = ticks.filter((t) => t.at >= (now + 7) * 1000);
    expect(ours.map((t) => [t.at / 1000 - now, t.total.rps, t.total.limited])).toEqual([
      [7, 3, 1],
      [8, 2, 1],
      [9, 1, 1],
    ]);
    expect(ticks.every((t, i) => i === 0 || t.at > ticks[i - 1]!.at)).toBe(true);
    // Right away again: refused, not served.
    expect(await ask({ seconds: 60 })).toEqual({ error: expect.stringContaining('too many') });
    await new Promise((r) => setTimeout(r, HISTORY_MIN_INTERVAL_MS + 20));
    expect('ticks' in (await ask({ seconds: 1 }))).toBe(true);
  });

  it('reads the seconds a history request asks for', () => {
    expect(historySeconds({ seconds: 300 })).toBe(300);
    expect(historySeconds({ seconds: 0 })).toBe(1);
    expect(historySeconds({ seconds: 1e9 })).toBe(3600);
    expect(historySeconds({ seconds: 'all' })).toBe(3600);
    expect(historySeconds(undefined)).toBe(3600);
    expect(historySeconds({ seconds: 2.2 })).toBe(3);
  });

  it('the admin API keeps answering while sockets are open, and closing the app ends the sockets', async () => {
    const res = await fetch(`${url}/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
  });
});
