/**
 * 100 whole-config reloads (PUT /config, two documents alternating, each moving the service to another
 * upstream) while eight clients keep sending: not one request may fail or see a half-applied config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { agent, call } from './resilience-helpers.js';

describe('100 whole-config reloads (PUT /config) under steady load', () => {
  let gw: Gateway;
  let blue: Upstream;
  let green: Upstream;
  let pg: PostgresInstance;
  beforeAll(async () => {
    blue = await startUpstream('blue');
    green = await startUpstream('green');
    // A private PostgreSQL: the embedded store's WASM start is too slow on a busy runner.
    pg = await startPostgresInstance();
    gw = await startGateway({ env: { DATABASE_URL: pg.url, GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_ACCESS_LOG: 'off' } });
  });
  afterAll(async () => {
    await gw?.stop();
    pg?.destroy();
    await agent.close().catch(() => undefined);
    await blue?.close();
    await green?.close();
  });

  it('alternating two documents loses no request', async () => {
    const doc = (u: Upstream, i: number) => ({
      _format_version: '1',
      services: [{ name: 'colour', url: u.url, tags: [`rev-${i}`] }],
      routes: [{ name: 'colour', service: 'colour', paths: ['/colour'], tags: [`rev-${i}`] }],
    });
    const first = await gw.admin('/config', { method: 'PUT', body: JSON.stringify(doc(blue, 0)) });
    expect(first.status, await first.text()).toBe(200);
    let stop = false;
    const failures: string[] = [];
    let sent = 0;
    const byUpstream: Record<string, number> = {};
    const load = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (!stop) {
          const r = await call(gw.proxyUrl, '/colour/x');
          sent++;
          if (r.status !== 200 || r.error) failures.push(`${r.status} ${r.error ?? ''} ${r.body.slice(0, 120)}`);
          else {
            const who = (JSON.parse(r.body) as { upstream: string }).upstream;
            byUpstream[who] = (byUpstream[who] ?? 0) + 1;
          }
        }
      }),
    );
    for (let i = 1; i <= 100; i++) {
      const res = await gw.admin('/config', { method: 'PUT', body: JSON.stringify(doc(i % 2 ? green : blue, i)) });
      expect(res.status, await res.text()).toBe(200);
    }
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(200);
    expect(byUpstream.blue).toBeGreaterThan(0);
    expect(byUpstream.green).toBeGreaterThan(0);
  }, 80_000);
});
