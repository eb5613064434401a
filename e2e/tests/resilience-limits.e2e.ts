/**
 * Proxy cache, load shedding and size limits through the real gateway process: what a client sees, what
 * reaches the upstream, and the admin API's cache purge.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../support/fault-proxy.js';
import { ADMIN_TOKEN } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { agent, call, missing, problemOf, sleep, startFileGateway, upstreamOf, type FileGateway } from './resilience-helpers.js';

const MAX_URI = 1_024;
const MAX_HEADERS = 4_096;
const BODY_LIMIT = 1_024;

/** A chunked request body (no Content-Length): `n` chunks of `size` bytes, a little apart. */
function chunked(n: number, size: number): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < n; i++) {
        yield Buffer.alloc(size, 0x61 + (i % 26));
        await sleep(5);
      }
    })(),
  );
}

describe('proxy cache, load shedding and size limits (real gateway)', () => {
  let up: Upstream;
  let slowUp: Upstream;
  let slow: FaultProxy;
  let gw: FileGateway;

  beforeAll(async () => {
    up = await startUpstream('origin');
    slowUp = await startUpstream('slow');
    slow = await FaultProxy.start({ target: { host: '127.0.0.1', port: slowUp.port } });
    gw = await startFileGateway(
      {
        services: [
          { name: 'origin', url: up.url },
          { name: 'slow', url: slow.url },
        ],
        routes: [
          { name: 'cache', service: 'origin', paths: ['/cache'] },
          { name: 'size', service: 'origin', paths: ['/size'] },
          { name: 'size-strict', service: 'origin', paths: ['/strict'] },
          { name: 'plain', service: 'origin', paths: ['/plain'] },
          { name: 'shed', service: 'slow', paths: ['/shed'] },
        ],
        plugins: [
          { name: 'proxy-cache', route: 'cache', config: { ttl: 60, expose_key: true } },
          { name: 'request-size-limiting', route: 'size', config: { allowed_payload_size: BODY_LIMIT } },
          { name: 'request-size-limiting', route: 'size-strict', config: { allowed_payload_size: BODY_LIMIT, require_content_length: true } },
          { name: 'load-shedding', route: 'shed', config: { max_concurrent_requests: 2, retry_after_seconds: 3 } },
        ],
      },
      { GATEHOUSE_MAX_URI_LENGTH: String(MAX_URI), GATEHOUSE_MAX_HEADER_SIZE: String(MAX_HEADERS) },
    );
  }, 90_000);

  afterAll(async () => {
    await gw?.cleanup();
    await agent.close();
    await slow?.close();
    await up?.close();
    await slowUp?.close();
  });

  const get = (p: string, init?: Parameters<typeof call>[2]) => call(gw.proxyUrl, p, init);
  // Like curl -X DELETE: no body and no Content-Type (gw.admin always sends application/json, and the admin
  // API refuses a JSON content type with an empty body).
  const del = (p: string) => fetch(`${gw.adminUrl}${p}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

  it('proxy-cache: miss then hit without the upstream, HEAD from the GET entry, no-store bypasses', async () => {
    const before = up.requests;
    const miss = await get('/cache/a?v=1');
    expect(miss.status).toBe(200);
    expect(miss.headers['x-cache-status']).toBe('Miss');
    await sleep(50); // the entry is stored when the body has been read to its end
    const hit = await get('/cache/a?v=1');
    expect(hit.status).toBe(200);
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.body).toBe(miss.body);
    expect(String(hit.headers.age)).toMatch(/^\d+$/);
    expect(hit.headers['x-cache-key']).toBe(miss.headers['x-cache-key']);
    expect(up.requests - before).toBe(1);

    const head = await get('/cache/a?v=1', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['x-cache-status']).toBe('Hit');
    expect(head.body).toBe('');
    expect(up.requests - before).toBe(1);

    // Another query is another entry.
    expect((await get('/cache/a?v=2')).headers['x-cache-status']).toBe('Miss');
    expect(up.requests - before).toBe(2);

    const bypass = await get('/cache/a?v=1', { headers: { 'cache-control': 'no-store' } });
    expect(bypass.headers['x-cache-status']).toBe('Bypass');
    expect(bypass.body).not.toBe(miss.body);
    expect(up.requests - before).toBe(3);
  });

  it('proxy-cache: the admin API purges one key and then everything', async () => {
    const a = await get('/cache/p1');
    const b = await get('/cache/p2');
    await sleep(50);
    expect((await get('/cache/p1')).headers['x-cache-status']).toBe('Hit');
    expect((await get('/cache/p2')).headers['x-cache-status']).toBe('Hit');

    const stats = await gw.admin('/proxy-cache');
    if (stats.status === 404) {
      // TODO(lead): switch to the endpoint once it is in every build; until then the purge is untested here.
      missing('GET /proxy-cache');
      return;
    }
    const s = (await stats.json()) as { hits: number; entries: number };
    expect(s.hits).toBeGreaterThanOrEqual(2);
    expect(s.entries).toBeGreaterThanOrEqual(2);

    const key = String(a.headers['x-cache-key']);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const one = await del(`/proxy-cache/${key}`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as { purged: number }).purged).toBeGreaterThanOrEqual(1);
    expect((await get('/cache/p1')).headers['x-cache-status']).toBe('Miss');
    expect((await get('/cache/p2')).headers['x-cache-status']).toBe('Hit');
    expect((await del(`/proxy-cache/${'0'.repeat(64)}`)).status).toBe(404);
    expect((await del('/proxy-cache/not-a-key')).status).toBe(400);

    const all = await del('/proxy-cache');
    expect(all.status).toBe(200);
    expect(((await all.json()) as { purged: number }).purged).toBeGreaterThanOrEqual(2);
    expect((await get('/cache/p2')).headers['x-cache-status']).toBe('Miss');
    expect(b.status).toBe(200);
  });

  it('load-shedding: over max_concurrent_requests in flight the route answers 503 GW_ERR_OVERLOADED with Retry-After', async () => {
    slow.setFault({ kind: 'latency', ms: 400 });
    slow.reset();
    const replies = await Promise.all(Array.from({ length: 6 }, () => get('/shed/x')));
    const ok = replies.filter((r) => upstreamOf(r) === 'slow');
    const shed = replies.filter((r) => r.status === 503);
    expect(ok.length).toBe(2);
    expect(shed.length).toBe(4);
    for (const r of shed) {
      expect(problemOf(r).code).toBe('GW_ERR_OVERLOADED');
      expect(r.headers['retry-after']).toBe('3');
      expect(r.ms).toBeLessThan(300);
    }
    expect(slow.requests).toBe(2);
    slow.setFault({ kind: 'none' });
    // The slots are given back when the requests end.
    const after = await Promise.all([get('/shed/x'), get('/shed/x')]);
    expect(after.map(upstreamOf)).toEqual(['slow', 'slow']);
  });

  it('request-size-limiting: 413 on a declared Content-Length over the limit, without contacting the upstream', async () => {
    const before = up.requests;
    const r = await get('/size/x', { method: 'POST', body: Buffer.alloc(BODY_LIMIT + 1, 0x61), headers: { 'content-type': 'application/octet-stream' } });
    expect(r.status).toBe(413);
    expect(problemOf(r).code).toBe('GW_ERR_BODY_TOO_LARGE');
    expect(up.requests).toBe(before);
    const fits = await get('/size/x', { method: 'POST', body: Buffer.alloc(BODY_LIMIT, 0x61) });
    expect(fits.status).toBe(200);
    expect((JSON.parse(fits.body) as { body_bytes: number }).body_bytes).toBe(BODY_LIMIT);
  });

  it('request-size-limiting: a chunked body is counted as it streams (413 once over), a small one passes whole', async () => {
    const small = await get('/size/x', { method: 'POST', body: chunked(3, 200) });
    expect(small.status).toBe(200);
    expect((JSON.parse(small.body) as { body_bytes: number }).body_bytes).toBe(600);

    const big = await get('/size/x', { method: 'POST', body: chunked(10, 300) });
    expect(big.status, `${big.error ?? ''} ${big.body}`).toBe(413);
    expect(problemOf(big).code).toBe('GW_ERR_BODY_TOO_LARGE');

    // Strict route: no Content-Length, no body.
    const strict = await get('/strict/x', { method: 'POST', body: chunked(1, 10) });
    expect(strict.status).toBe(411);
    expect(problemOf(strict).code).toBe('GW_ERR_LENGTH_REQUIRED');
    // The gateway still serves on.
    expect((await get('/plain/x')).status).toBe(200);
  });

  it('proxy limits: 414 for a request target over GATEHOUSE_MAX_URI_LENGTH, 431 for headers over GATEHOUSE_MAX_HEADER_SIZE', async () => {
    const before = up.requests;
    const long = await get(`/plain/${'a'.repeat(MAX_URI)}`);
    expect(long.status).toBe(414);
    expect(problemOf(long).code).toBe('GW_ERR_URI_TOO_LONG');
    expect(up.requests).toBe(before);
    const fits = await get(`/plain/${'a'.repeat(MAX_URI - 200)}`);
    expect(fits.status).toBe(200);

    const big = await get('/plain/x', { headers: { 'x-big': 'b'.repeat(MAX_HEADERS + 100) } });
    expect(big.status).toBe(431);
    expect(problemOf(big).code).toBe('GW_ERR_HEADERS_TOO_LARGE');
    expect(up.requests).toBe(before + 1);
    const ok = await get('/plain/x', { headers: { 'x-big': 'b'.repeat(MAX_HEADERS / 2) } });
    expect(ok.status).toBe(200);
  });
});
