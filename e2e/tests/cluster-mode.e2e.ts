/**
 * Cluster mode (GATEHOUSE_WORKERS=2): one primary supervising two gateway processes that share the proxy
 * port. Both serve, both follow the config store, SIGHUP restarts them one at a time without losing a request,
 * and a worker that dies is replaced.
 *
 * Which worker served a request is read from the access log (stdout): each line carries the worker's node id
 * (`<node>-w<slot>`) and the request id the client got back in `X-Request-Id`.
 */
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { children, servedBy, waitFor } from '../support/cluster.js';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres.js';

describe('cluster mode (GATEHOUSE_WORKERS=2)', () => {
  let pg: PostgresInstance;
  let gw: Gateway;
  let upstream: Upstream;
  // A fresh connection per request: the kernel then picks a worker for every request.
  const agent = new Agent({ pipelining: 0 });

  async function get(path: string): Promise<{ status: number; requestId: string; rev: string | undefined }> {
    const res = await request(`${gw.proxyUrl}${path}`, { dispatcher: agent, reset: true, headersTimeout: 10_000 });
    await res.body.dump();
    return { status: res.statusCode, requestId: String(res.headers['x-request-id']), rev: res.headers['x-rev'] as string | undefined };
  }

  beforeAll(async () => {
    pg = await startPostgresInstance();
    upstream = await startUpstream('clustered');
    gw = await startGateway({ env: { DATABASE_URL: pg.url, GATEHOUSE_WORKERS: '2', GATEHOUSE_NODE_ID: 'c' } });
    await waitFor('both workers', () => /cluster primary: 2 gateway workers/.test(gw.logs()), 30_000);
    expect((await gw.admin('/services', { method: 'POST', body: JSON.stringify({ name: 's', url: upstream.url }) })).status).toBe(201);
    expect((await gw.admin('/routes', { method: 'POST', body: JSON.stringify({ name: 'r', service: 's', paths: ['/s'] }) })).status).toBe(201);
  }, 180_000);
  afterAll(async () => {
    await agent.close();
    const code = await gw?.stop();
    expect(code).toBe(0);
    await upstream?.close();
    pg?.destroy();
  });

  it('serves from both workers, and a config change reaches both', async () => {
    // The route was created through worker 1's admin API; worker 2 learns of it from the store.
    await waitFor('the route on every worker', async () => {
      const answers = await Promise.all(Array.from({ length: 8 }, () => get('/s/warmup')));
      return answers.every((a) => a.status === 200);
    }, 5_000);

    const plugin = { name: 'response-headers', config: { add: { 'x-rev': '2' } } };
    expect((await gw.admin('/plugins', { method: 'POST', body: JSON.stringify(plugin) })).status).toBe(201);
    const changed = Date.now();
    const answers: Awaited<ReturnType<typeof get>>[] = [];
    const nodes = new Set<string>();
    await waitFor('the new header from both workers', async () => {
      const batch = await Promise.all(Array.from({ length: 8 }, () => get('/s/after')));
      answers.push(...batch);
      const served = servedBy(gw.logs());
      for (const a of batch) if (a.rev === '2' && served.has(a.requestId)) nodes.add(served.get(a.requestId)!);
      return nodes.size === 2;
    }, 10_000);
    expect([...nodes].sort()).toEqual(['c-w1', 'c-w2']);
    // Once both had it, every later answer carries it.
    const late = await Promise.all(Array.from({ length: 16 }, () => get('/s/later')));
    expect(late.map((a) => `${a.status} ${a.rev}`)).toEqual(Array(16).fill('200 2'));
    expect(Date.now() - changed).toBeLessThan(5_000);
  });

  it('restarts the workers one at a time on SIGHUP without losing a request', async () => {
    const before = children(gw.process.pid!);
    expect(before).toHaveLength(2);
    let running = true;
    const counts = { sent: 0, ok: 0, failures: [] as string[] };
    const clients = Array.from({ length: 4 }, async () => {
      while (running) {
        counts.sent++;
        try {
          const a = await get('/s/rolling');
          if (a.status === 200) counts.ok++;
          else counts.failures.push(`status ${a.status}`);
        } catch (err) {
          counts.failures.push((err as Error).message);
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    gw.process.kill('SIGHUP');
    await waitFor('the rolling restart', () => /rolling restart done/.test(gw.logs()), 110_000);
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await Promise.all(clients);
    expect(counts.failures).toEqual([]);
    expect(counts.ok).toBe(counts.sent);
    expect(counts.sent).toBeGreaterThan(50);
    const after = children(gw.process.pid!);
    expect(after).toHaveLength(2);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    expect(gw.logs().match(/worker replaced/g)).toHaveLength(2);
    // Each worker starts in a few seconds on an idle machine; the bound leaves room for a loaded CI host.
  }, 120_000);

  it('replaces a worker that was killed', async () => {
    const [victim] = children(gw.process.pid!);
    process.kill(victim!, 'SIGKILL');
    await waitFor('a replacement worker', () => {
      const now = children(gw.process.pid!);
      return now.length === 2 && !now.includes(victim!);
    }, 15_000);
    expect(gw.logs()).toMatch(/gateway worker exited; restarting it/);
    // The survivor served meanwhile; once the replacement listens (it logs so), both serve again.
    await waitFor('the replacement to listen', () => (gw.logs().match(/shared cluster socket/g) ?? []).length >= 5, 60_000);
    const answers = await Promise.all(Array.from({ length: 16 }, () => get('/s/after-crash')));
    expect(answers.map((a) => a.status)).toEqual(Array(16).fill(200));
  }, 90_000);
});
