/**
 * The traffic admin API against the real process: mirror and traffic-split run in the proxy's worker
 * thread, so /shadow, /shadow/samples and the traffic families of /metrics go through the worker protocol.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('traffic admin API (worker data plane)', () => {
  let gw: Gateway;
  let primary: Upstream;
  let shadow: Upstream;
  const json = { 'content-type': 'application/json' };
  const post = async (p: string, body: object) => {
    const res = await gw.admin(p, { method: 'POST', headers: json, body: JSON.stringify(body) });
    expect(res.status, await res.clone().text()).toBe(201);
  };

  beforeAll(async () => {
    primary = await startUpstream('primary');
    shadow = await startUpstream('shadow');
    gw = await startGateway();
    await post('/services', { name: 'primary', url: primary.url });
    await post('/services', { name: 'shadow', url: shadow.url });
    await post('/routes', { name: 'mirrored', service: 'primary', paths: ['/mirrored'] });
    await post('/routes', { name: 'split', service: 'primary', paths: ['/split'] });
    await post('/plugins', { name: 'mirror', route: 'mirrored', config: { service: 'shadow', compare: { enabled: true } } });
    await post('/plugins', { name: 'traffic-split', route: 'split', config: { targets: [{ service: 'shadow', weight: 1 }, { service: 'primary', weight: 0 }] } });
  });
  afterAll(async () => {
    await gw?.stop();
    await primary?.close();
    await shadow?.close();
  });

  it('reads and clears shadow records, and reports split and mirror counters', async () => {
    for (let i = 0; i < 3; i++) expect((await fetch(`${gw.proxyUrl}/mirrored/${i}`)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect(((await (await fetch(`${gw.proxyUrl}/split`)).json()) as { upstream: string }).upstream).toBe('shadow');

    // The upstreams answer their own name: every comparison differs in the body.
    const samples = async () => ((await (await gw.admin('/shadow/samples?route=mirrored')).json()) as { data: { route: string; differences: { kind: string }[] }[] }).data;
    await until('three shadow records', async () => (await samples()).length === 3);
    expect((await samples())[0]).toMatchObject({ route: 'mirrored', shadow_service: 'shadow', differences: expect.arrayContaining([expect.objectContaining({ kind: 'body' })]) });

    const view = (await (await gw.admin('/shadow')).json()) as { split: unknown[]; shadow: unknown[] };
    expect(view.split).toContainEqual({ scope: 'split', service: 'shadow', requests: 2, unavailable: 0 });
    expect(view.shadow).toContainEqual(expect.objectContaining({ route: 'mirrored', mirrored: 3, compared: 3, mismatched: 3 }));
    expect(((await (await gw.admin('/resilience')).json()) as { traffic: unknown }).traffic).toEqual(view);

    const text = await (await gw.admin('/metrics')).text();
    expect(text).toContain('gatehouse_mirror_requests_total{route="mirrored",shadow_service="shadow"} 3\n');
    expect(text).toContain('gatehouse_traffic_split_requests_total{scope="split",service="shadow"} 2\n');

    const missing = await gw.admin('/shadow/samples?route=nowhere');
    expect(missing.status).toBe(404);
    // No content-type on a body-less DELETE (gw.admin sets application/json, which Fastify wants a body for).
    const cleared = await fetch(`${gw.adminUrl}/shadow/samples?route=mirrored`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(cleared.status).toBe(200);
    expect(await cleared.json()).toEqual({ cleared: 3 });
    expect(await samples()).toEqual([]);
  });
});
