// The OpenAPI document fetcher against real loopback HTTP servers: limits, errors, cache.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../proxy/test-support/harness.js';
import { OpenApiDocuments } from './openapi-documents.js';

describe('OpenApiDocuments', () => {
  let up: Upstream;
  let base: string;
  beforeAll(async () => {
    up = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/doc.yaml') res.writeHead(200, { 'content-type': 'application/yaml' }).end('openapi: 3.0.0\ninfo: { title: Y, version: "1" }\npaths: {}\n');
      else if (req.url === '/not-openapi') res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}');
      else if (req.url === '/chunked-big') {
        // No content-length: the cap must hold while reading.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"openapi":"3.0.0","pad":"');
        res.end(`${'x'.repeat(5000)}"}`);
      } else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('{}'), 2_000).unref();
      else res.writeHead(500).end();
    });
    base = `http://${up.address}`;
  });
  afterAll(() => up.close());

  it('reads YAML documents and refuses what is not OpenAPI', async () => {
    const d = new OpenApiDocuments();
    expect(await d.get(`${base}/doc.yaml`)).toEqual({ document: { openapi: '3.0.0', info: { title: 'Y', version: '1' }, paths: {} } });
    expect(await d.get(`${base}/not-openapi`)).toEqual({ error: 'the document is not an OpenAPI 3.x or Swagger 2.0 document' });
    expect(await d.get(`${base}/missing`)).toEqual({ error: 'the document URL answered 500' });
  });

  it('caps the size while streaming, and times out', async () => {
    const d = new OpenApiDocuments({ maxBytes: 1000, timeoutMs: 200 });
    expect(await d.get(`${base}/chunked-big`)).toEqual({ error: 'the document is larger than 1000 bytes' });
    expect(await d.get(`${base}/slow`)).toEqual({ error: 'the document URL did not answer within 200 ms' });
  });

  it('caches per URL, failures for a shorter time, and shares one fetch in flight', async () => {
    let now = 0;
    const d = new OpenApiDocuments({ ttlMs: 1000, errorTtlMs: 100, now: () => now });
    await Promise.all([d.get(`${base}/doc.yaml`), d.get(`${base}/doc.yaml`)]);
    expect(d.fetches).toBe(1);
    now = 999;
    await d.get(`${base}/doc.yaml`);
    expect(d.fetches).toBe(1);
    now = 1000;
    await d.get(`${base}/doc.yaml`);
    expect(d.fetches).toBe(2);
    await d.get(`${base}/missing`);
    now = 1099;
    await d.get(`${base}/missing`);
    expect(d.fetches).toBe(3);
    now = 1100;
    await d.get(`${base}/missing`);
    expect(d.fetches).toBe(4);
  });
});
