/**
 * The access log and error tracking against the real process: the proxy worker writes the access log
 * to a rotated file and to an HTTP collector, and `GET /errors` reads its error store through the
 * worker protocol.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type Line = Record<string, unknown>;
const SECRETS = ['AUTHSECRET', 'COOKIESECRET', 'QUERYSECRET', 'HEADERSECRET'];

describe('access log and error tracking (worker data plane)', () => {
  let gw: Gateway;
  let up: Upstream;
  let collector: Server;
  const batches: { lines: string[]; headers: IncomingMessage['headers'] }[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-e2e-access-'));
  const file = path.join(dir, 'access.log');
  const json = { 'content-type': 'application/json' };
  const post = async (p: string, body: object) => {
    const res = await gw.admin(p, { method: 'POST', headers: json, body: JSON.stringify(body) });
    expect(res.status, await res.clone().text()).toBe(201);
  };
  /** Every line of the file and its rotated siblings, oldest first. */
  const fileLines = (): string[] => {
    const rotated = readdirSync(dir)
      .filter((f) => /^access\.log\.\d+$/.test(f))
      .map((f) => Number(f.split('.').pop()))
      .sort((a, b) => b - a)
      .map((n) => path.join(dir, `access.log.${n}`));
    return [...rotated, file].flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
  };
  const collected = (): string[] => batches.flatMap((b) => b.lines);

  beforeAll(async () => {
    collector = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        batches.push({ lines: body.split('\n').filter(Boolean), headers: req.headers });
        res.end();
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    up = await startUpstream('orders');
    gw = await startGateway({
      env: {
        GATEHOUSE_ACCESS_LOG: file,
        GATEHOUSE_ACCESS_LOG_MAX_SIZE: '4096',
        GATEHOUSE_ACCESS_LOG_MAX_FILES: '100',
        GATEHOUSE_ACCESS_LOG_HTTP_URL: `http://127.0.0.1:${(collector.address() as { port: number }).port}/ingest`,
        GATEHOUSE_ACCESS_LOG_HTTP_AUTHORIZATION: 'Bearer collector-token',
      },
    });
    await post('/services', { name: 'orders', url: up.url });
    await post('/services', { name: 'gone', url: `http://127.0.0.1:${await freePort()}` });
    await post('/routes', { name: 'orders', service: 'orders', paths: ['/orders'] });
    await post('/routes', { name: 'gone', service: 'gone', paths: ['/gone'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    await new Promise<void>((r) => (collector ? collector.close(() => r()) : r()));
  });

  it('writes a line per request to the file and the collector, with no secret anywhere', async () => {
    const res = await fetch(`${gw.proxyUrl}/orders/42?apikey=QUERYSECRET&page=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer AUTHSECRET', cookie: 'session=COOKIESECRET', 'x-api-key': 'HEADERSECRET', 'content-type': 'application/json' },
      body: '{"qty":3}',
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');
    await res.arrayBuffer();
    const find = (lines: string[]): Line | undefined => lines.map((l) => JSON.parse(l) as Line).find((l) => l.request_id === requestId);
    await until('the line in the file', () => find(fileLines()) !== undefined);
    const line = find(fileLines())!;
    expect(line).toMatchObject({ type: 'access', route: 'orders', service: 'orders', method: 'POST', path: '/orders/42', status: 200, bytes_in: 9, client_ip: '127.0.0.1', upstream: `127.0.0.1:${up.port}` });
    expect(line.latency_ms as number).toBeGreaterThanOrEqual(line.upstream_latency_ms as number);
    expect(line).not.toHaveProperty('query');
    // Batches leave at most 1 s after their first line.
    await until('the line at the collector', () => find(collected()) !== undefined, 5_000);
    expect(find(collected())).toEqual(line);
    expect(batches[0]!.headers).toMatchObject({ 'content-type': 'application/x-ndjson', authorization: 'Bearer collector-token' });
    for (const s of SECRETS) {
      expect(fileLines().join('\n')).not.toContain(s);
      expect(collected().join('\n')).not.toContain(s);
    }
    // Application logs share stdout; access lines went to the file only.
    expect(gw.logs()).not.toContain('"type":"access"');
  });

  it('rotates the file under a small max size without losing lines', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await fetch(`${gw.proxyUrl}/orders/${i}`);
      await r.arrayBuffer();
      ids.push(r.headers.get('x-request-id')!);
    }
    await until('60 lines in the files', () => {
      const seen = new Set(fileLines().map((l) => (JSON.parse(l) as Line).request_id));
      return ids.every((id) => seen.has(id));
    });
    expect(readdirSync(dir).filter((f) => /^access\.log\.\d+$/.test(f)).length).toBeGreaterThanOrEqual(2);
    const lines = fileLines().map((l) => JSON.parse(l) as Line);
    // Order kept across the files, and each line whole.
    const positions = ids.map((id) => lines.findIndex((l) => l.request_id === id));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    await until('60 lines at the collector', () => {
      const seen = new Set(collected().map((l) => (JSON.parse(l) as Line).request_id));
      return ids.every((id) => seen.has(id));
    });
  });

  it('GET /errors shows the 502 of a dead upstream, with its line in the access log', async () => {
    const res = await fetch(`${gw.proxyUrl}/gone/x`);
    expect(res.status).toBe(502);
    const requestId = res.headers.get('x-request-id');
    await res.arrayBuffer();
    await until('the error recorded', async () => ((await (await gw.admin('/errors?route=gone')).json()) as { data: unknown[] }).data.length === 1);
    const body = (await (await gw.admin('/errors?route=gone')).json()) as { total: number; counts: Record<string, number>; data: Line[] };
    expect(body.counts).toMatchObject({ GW_ERR_UPSTREAM_UNAVAILABLE: 1 });
    expect(body.data[0]).toMatchObject({ request_id: requestId, route: 'gone', status: 502, code: 'GW_ERR_UPSTREAM_UNAVAILABLE', upstream_failure: 'connect', path: '/gone/x' });
    expect((body.data[0]!.timings_ms as { total: number }).total).toBeGreaterThan(0);
    await until('the 502 line', () => fileLines().some((l) => (JSON.parse(l) as Line).request_id === requestId));
    const line = fileLines().map((l) => JSON.parse(l) as Line).find((l) => l.request_id === requestId);
    expect(line).toMatchObject({ status: 502, error_code: 'GW_ERR_UPSTREAM_UNAVAILABLE', upstream_error: 'connect' });
    expect((await gw.admin('/errors?route=nope')).status).toBe(404);
  });
});
