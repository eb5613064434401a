/**
 * A node that loses its PostgreSQL store keeps serving the last good snapshot, reports the store as
 * unreachable, refuses writes with a clear error, and picks changes up again once the store is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres.js';

describe('store loss', () => {
  let pg: PostgresInstance;
  let gw: Gateway;
  let upstream: Upstream;

  beforeAll(async () => {
    pg = await startPostgresInstance();
    upstream = await startUpstream('survivor');
    gw = await startGateway({ env: { DATABASE_URL: pg.url } });
    await gw.admin('/services', { method: 'POST', body: JSON.stringify({ name: 's', url: upstream.url }) });
    await gw.admin('/routes', { method: 'POST', body: JSON.stringify({ name: 'r', service: 's', paths: ['/s'] }) });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.close();
    pg?.destroy();
  });

  it('serves the last good snapshot while PostgreSQL is down and recovers after', async () => {
    expect((await fetch(`${gw.proxyUrl}/s/1`)).status).toBe(200);
    pg.stop('immediate');
    for (let i = 0; i < 20; i++) expect((await fetch(`${gw.proxyUrl}/s/${i}`)).status).toBe(200);

    const write = await gw.admin('/routes', { method: 'POST', body: JSON.stringify({ name: 'r2', service: 's', paths: ['/t'] }) });
    expect(write.status).toBe(503);
    expect(write.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await write.json()) as { code: string }).code).toBe('GW_ERR_STORE_UNAVAILABLE');
    expect((await fetch(`${gw.proxyUrl}/s/again`)).status).toBe(200);

    pg.start();
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      const res = await gw.admin('/routes', { method: 'POST', body: JSON.stringify({ name: 'r2', service: 's', paths: ['/t'] }) });
      ok = res.status === 201;
      if (!ok) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ok).toBe(true);
    expect((await fetch(`${gw.proxyUrl}/t/1`)).status).toBe(200);
    const status = (await (await gw.admin('/status')).json()) as { store_reachable: boolean };
    expect(status.store_reachable).toBe(true);
  });
});
