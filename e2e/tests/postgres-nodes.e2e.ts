/**
 * Production mode: two gateway processes share one PostgreSQL store. A change made through one node's
 * admin API is served by the other within a second (LISTEN/NOTIFY), and 100 config changes applied
 * while a load generator runs lose no request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { createDatabase, type Database } from '../support/postgres.js';
import { startLoad } from '../support/load.js';

describe('two nodes on PostgreSQL', () => {
  let db: Database;
  let a: Gateway;
  let b: Gateway;
  let blue: Upstream;
  let green: Upstream;

  beforeAll(async () => {
    db = await createDatabase();
    blue = await startUpstream('blue');
    green = await startUpstream('green');
    // Start both nodes at once: migrations must be applied exactly once under the advisory lock.
    [a, b] = await Promise.all([startGateway({ env: { DATABASE_URL: db.url, GATEHOUSE_NODE_ID: 'a' } }), startGateway({ env: { DATABASE_URL: db.url, GATEHOUSE_NODE_ID: 'b' } })]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([blue?.close(), green?.close()]);
    await db?.drop();
  });

  it('serves on node B, within a second, a route created through node A', async () => {
    expect((await a.admin('/services', { method: 'POST', body: JSON.stringify({ name: 'colour', url: blue.url }) })).status).toBe(201);
    const created = Date.now();
    expect((await a.admin('/routes', { method: 'POST', body: JSON.stringify({ name: 'colour', service: 'colour', paths: ['/colour'] }) })).status).toBe(201);
    let seenAt = 0;
    while (Date.now() - created < 3_000) {
      const res = await fetch(`${b.proxyUrl}/colour`);
      if (res.status === 200) {
        seenAt = Date.now();
        break;
      }
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seenAt).toBeGreaterThan(0);
    expect(seenAt - created).toBeLessThan(1_000);
    const statusA = (await (await a.admin('/status')).json()) as { config_version: number };
    const statusB = (await (await b.admin('/status')).json()) as { config_version: number };
    expect(statusB.config_version).toBe(statusA.config_version);
  });

  it('loses no request while 100 config changes are applied under load', async () => {
    const load = startLoad(`${a.proxyUrl}/colour/x`, 16);
    for (let i = 0; i < 100; i++) {
      // Alternate the service between two upstreams and touch the route, so both pools and routes are rebuilt.
      const url = i % 2 ? green.url : blue.url;
      const res = await a.admin('/services/colour', { method: 'PUT', body: JSON.stringify({ name: 'colour', url, tags: [`rev-${i}`] }) });
      expect(res.status).toBe(200);
    }
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    expect(Object.keys(result.byStatus)).toEqual(['200']);
    expect(result.sent).toBeGreaterThan(200);
    expect(blue.requests).toBeGreaterThan(0);
    expect(green.requests).toBeGreaterThan(0);
    const versions = (await (await a.admin('/versions?limit=1')).json()) as { data: { version: number }[] };
    expect(versions.data[0]?.version).toBeGreaterThanOrEqual(102);
  });
});
