/**
 * The embedded quick start as a new user meets it: demo route answers, errors are problem+json, the
 * admin API changes live config, and the PGlite store keeps it across a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { freePort } from '../support/ports.js';

describe('embedded quick start', () => {
  let gw: Gateway;
  let upstream: Upstream;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gh-e2e-quick-'));

  beforeAll(async () => {
    upstream = await startUpstream('orders');
    gw = await startGateway({ dataDir, env: { GATEHOUSE_DEMO: 'true', GATEHOUSE_DEMO_UPSTREAM_PORT: String(await freePort()) } });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers the demo route through the demo upstream', async () => {
    const res = await fetch(`${gw.proxyUrl}/demo/hello?x=1`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { url: string; headers: Record<string, string> };
    expect(body.url).toBe('/hello?x=1');
    expect(body.headers['via']).toMatch(/gatehouse/);
    expect(body.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(res.headers.get('x-request-id')).toBe(body.headers['x-request-id']);
  });

  it('answers an unknown route with 404 problem+json', async () => {
    const res = await fetch(`${gw.proxyUrl}/no/such/route`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 404, code: 'GW_ERR_ROUTE_NOT_FOUND' });
  });

  it('refuses the admin API without credentials', async () => {
    const res = await fetch(`${gw.adminUrl}/services`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('serves health, status and the OpenAPI document', async () => {
    expect((await fetch(`${gw.adminUrl}/health/live`)).status).toBe(200);
    const status = (await (await gw.admin('/status')).json()) as { config_version: number; routes: number };
    expect(status.config_version).toBeGreaterThan(0);
    expect(status.routes).toBe(1);
    const openapi = (await (await fetch(`${gw.adminUrl}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toContain('/routes');
  });

  it('puts a new service and route live before the admin call returns', async () => {
    let res = await gw.admin('/services', { method: 'POST', body: JSON.stringify({ name: 'orders', url: upstream.url }) });
    expect(res.status).toBe(201);
    res = await gw.admin('/routes', { method: 'POST', body: JSON.stringify({ name: 'orders', service: 'orders', paths: ['/orders'] }) });
    expect(res.status).toBe(201);
    const proxied = await fetch(`${gw.proxyUrl}/orders/42`);
    expect(proxied.status).toBe(200);
    expect(await proxied.json()).toMatchObject({ upstream: 'orders', url: '/42' });
  });

  it('names the failing field of an invalid entity and keeps serving', async () => {
    const res = await gw.admin('/routes', { method: 'POST', body: JSON.stringify({ name: 'bad', service: 'orders', paths: ['~/x/(unclosed'] }) });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as { code: string; errors: { path: string }[] };
    expect(body.code).toBe('GW_ERR_ADMIN_VALIDATION');
    expect(body.errors[0]?.path).toBe('/paths/0');
    const missing = await gw.admin('/routes', { method: 'POST', body: JSON.stringify({ name: 'ghost', service: 'nope', paths: ['/ghost'] }) });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe('/service');
    expect((await fetch(`${gw.proxyUrl}/orders/1`)).status).toBe(200);
  });

  it('keeps the configuration in ./data across a restart', async () => {
    await gw.stop();
    gw = await startGateway({ dataDir, env: { GATEHOUSE_DEMO: 'true', GATEHOUSE_DEMO_UPSTREAM_PORT: String(await freePort()) } });
    const proxied = await fetch(`${gw.proxyUrl}/orders/7`);
    expect(proxied.status).toBe(200);
    const routes = (await (await gw.admin('/routes')).json()) as { data: { name: string }[] };
    expect(routes.data.map((r) => r.name).sort()).toEqual(['demo', 'orders']);
  });
});
