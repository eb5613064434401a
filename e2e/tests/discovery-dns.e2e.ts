/**
 * DNS service discovery through the real gateway process: a real dnsmasq on a loopback port answers A
 * records for `api.test`; the upstreams listen on 127.0.0.2 and 127.0.0.3 (same port, as A records give
 * addresses only). The config is applied through the admin API into the embedded store, so the
 * `discovery` block also makes the round trip through the database.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';
import { startDnsmasq, type Dnsmasq } from '../../server/src/discovery/test-support/dnsmasq.js';

async function listen(name: string, host: string, port: number): Promise<Server> {
  const s = createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, resolve);
  });
  return s;
}

describe('DNS discovery (real gateway, real dnsmasq)', () => {
  let dns: Dnsmasq;
  let gw: Gateway;
  let port: number;
  const servers: Server[] = [];

  beforeAll(async () => {
    port = await freePort();
    servers.push(await listen('a', '127.0.0.2', port), await listen('b', '127.0.0.3', port));
    dns = await startDnsmasq({ hosts: ['127.0.0.2 api.test'], ttl: 1, probe: 'api.test' });
    gw = await startGateway({ env: { GATEHOUSE_DNS_SERVERS: dns.server } });
    const res = await gw.admin('/config', {
      method: 'PUT',
      body: JSON.stringify({
        _format_version: '1',
        upstreams: [{ name: 'api', discovery: { provider: 'dns', name: 'api.test', type: 'A', port, min_refresh: 200, max_refresh: 500, timeout: 300 } }],
        services: [{ name: 'api-svc', host: 'api' }],
        routes: [{ name: 'api-route', service: 'api-svc', paths: ['/api'] }],
      }),
    });
    expect(res.status, await res.text()).toBe(200);
  });
  afterAll(async () => {
    await gw?.stop();
    await dns?.close();
    for (const s of servers) await new Promise((r) => (s.closeAllConnections(), s.close(r)));
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
  const status = async () => (await (await gw.admin('/status')).json()) as { config_version: number };
  const discovery = async () => ((await (await gw.admin('/discovery')).json()) as { data: { upstream: string; state: string; error: string | null; targets: { target: string }[] }[]; applies: number });

  it('sends requests to the resolved address, listed with source dns, and keeps the block in the store', async () => {
    await expect.poll(call, { timeout: 5_000 }).toBe('a');
    const targets = (await (await gw.admin('/upstreams/api/targets')).json()) as { data: unknown[]; discovery: { state: string; provider: string } };
    expect(targets.data).toEqual([{ target: `127.0.0.2:${port}`, weight: 100, tags: [], source: 'dns' }]);
    expect(targets.discovery).toMatchObject({ state: 'ok', provider: 'dns' });
    const up = (await (await gw.admin('/upstreams/api')).json()) as { discovery: { name: string }; targets: unknown[] };
    expect(up.discovery.name).toBe('api.test');
    expect(up.targets).toEqual([]);
  });

  it('follows a changed answer without writing a config version', async () => {
    const before = (await status()).config_version;
    await dns.setHosts(['127.0.0.3 api.test']);
    await expect.poll(call, { timeout: 5_000 }).toBe('b');
    for (let i = 0; i < 10; i++) expect(await call()).toBe('b');
    expect((await status()).config_version).toBe(before);
    expect((await discovery()).applies).toBeGreaterThanOrEqual(1);
  });

  it('keeps serving the last known target while DNS is down, reports the error, and recovers', async () => {
    await dns.stop();
    await expect.poll(async () => (await discovery()).data[0]?.state, { timeout: 5_000 }).toBe('error');
    const d = (await discovery()).data[0]!;
    expect(d.error).toMatch(/^A api\.test: /);
    expect(d.targets.map((t) => t.target)).toEqual([`127.0.0.3:${port}`]);
    for (let i = 0; i < 5; i++) expect(await call()).toBe('b');
    await dns.start();
    await expect.poll(async () => (await discovery()).data[0]?.state, { timeout: 5_000 }).toBe('ok');
    await dns.setHosts(['127.0.0.2 api.test', '127.0.0.3 api.test']);
    // Status first, then the coalesced snapshot apply: poll the traffic until both addresses answer.
    const spread = async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 10; i++) seen.add(await call());
      return [...seen].sort();
    };
    await expect.poll(spread, { timeout: 5_000 }).toEqual(['a', 'b']);
    expect((await discovery()).data[0]?.targets.length).toBe(2);
  });
});
