/**
 * etcd service discovery through the real gateway process and a real etcd (Debian `etcd-server`) on
 * loopback ports: instances register as keys under a prefix; the gateway lists and watches the prefix
 * through etcd's HTTP/JSON gateway. Configured and discovered targets are listed with their source.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startEtcd, type Etcd } from '../../server/src/discovery/test-support/etcd.js';

async function listen(name: string): Promise<{ server: Server; address: string }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

describe('etcd discovery (real gateway, real etcd)', () => {
  let etcd: Etcd;
  let gw: Gateway;
  const ups: Record<'a' | 'b' | 'c' | 'drained', { server: Server; address: string }> = {} as never;

  beforeAll(async () => {
    for (const n of ['a', 'b', 'c', 'drained'] as const) ups[n] = await listen(n);
    etcd = await startEtcd();
    await etcd.put('/services/api/a', ups.a.address);
    gw = await startGateway({ env: { GATEHOUSE_ETCD_ENDPOINTS: etcd.endpoint } });
    const res = await gw.admin('/config', {
      method: 'PUT',
      body: JSON.stringify({
        _format_version: '1',
        // A configured, drained target beside the discovered ones: listed with source `config`, never called.
        upstreams: [{ name: 'api', targets: [{ target: ups.drained.address, weight: 0 }], discovery: { provider: 'etcd', prefix: '/services/api/' } }],
        services: [{ name: 'api-svc', host: 'api' }],
        routes: [{ name: 'api-route', service: 'api-svc', paths: ['/api'] }],
      }),
    });
    expect(res.status, await res.text()).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await etcd?.close();
    for (const u of Object.values(ups)) await new Promise((r) => (u.server.closeAllConnections(), u.server.close(r)));
  });

  const call = async () => {
    try {
      const r = await fetch(`${gw.proxyUrl}/api`);
      const body = await r.text();
      return r.status === 200 ? body : `status ${r.status}`;
    } catch (err) {
      return `error ${(err as Error).message}`;
    }
  };
  const spread = async (n = 12) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add(await call());
    return [...seen].sort();
  };
  const targets = async () => (await (await gw.admin('/upstreams/api/targets')).json()) as { data: { target: string; source: string }[]; discovery: { state: string; error: string | null } };
  const version = async () => ((await (await gw.admin('/status')).json()) as { config_version: number }).config_version;

  it('sends requests to the registered instance and lists targets with their source', async () => {
    await expect.poll(call, { timeout: 5_000 }).toBe('a');
    const t = await targets();
    expect(t.data.map((x) => [x.target, x.source])).toEqual([
      [ups.drained.address, 'config'],
      [ups.a.address, 'etcd'],
    ]);
    expect(t.discovery.state).toBe('ok');
  });

  it('follows registrations and deregistrations through the watch, without a config version', async () => {
    const v = await version();
    await etcd.put('/services/api/b', JSON.stringify({ address: ups.b.address, weight: 100 }));
    await expect.poll(() => spread(), { timeout: 5_000 }).toEqual(['a', 'b']);
    await etcd.del('/services/api/a');
    await expect.poll(() => spread(), { timeout: 5_000 }).toEqual(['b']);
    expect(await version()).toBe(v);
  });

  it('keeps the last known targets while etcd is down, reports the error, and re-lists when it is back', async () => {
    await etcd.stop();
    await expect.poll(async () => (await targets()).discovery.state, { timeout: 10_000 }).toBe('error');
    const t = await targets();
    expect(t.discovery.error).toMatch(/^etcd http:\/\/127\.0\.0\.1:\d+: /);
    expect(t.data.filter((x) => x.source === 'etcd').map((x) => x.target)).toEqual([ups.b.address]);
    expect(await spread(6)).toEqual(['b']);
    const listed = (await (await gw.admin('/discovery')).json()) as { data: { upstream: string; state: string }[] };
    expect(listed.data).toMatchObject([{ upstream: 'api', state: 'error' }]);

    await etcd.start();
    await etcd.put('/services/api/c', `http://${ups.c.address}`);
    await expect.poll(() => spread(), { timeout: 15_000 }).toEqual(['b', 'c']);
    expect((await targets()).discovery.state).toBe('ok');
  }, 45_000);
});
