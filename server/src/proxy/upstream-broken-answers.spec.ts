// Upstreams that break HTTP/1.1 (raw answers node:http would never produce): undici's real errors must be
// classified as bad responses, and interim 1xx answers must not be taken for the response.
import { createServer, type Server } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startGateway, type Gateway } from './test-support/harness.js';
import { classifyUpstreamError } from './upstream-pool.js';

const ANSWERS: Record<string, string> = {
  '/te-with-cl': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  '/bad-status': 'SMTP 220 hello\r\n\r\n',
  '/huge-headers': `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n${Array.from({ length: 40 }, (_, i) => `X-F${i}: ${'a'.repeat(1000)}\r\n`).join('')}\r\nok`,
  '/dup-cl': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
  '/early-hints': 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
};

async function rawUpstream(): Promise<{ server: Server; port: number }> {
  const server = createServer((sock) => {
    sock.on('error', () => undefined);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      if (!buf.includes('\r\n\r\n')) return;
      const target = buf.split(' ')[1] ?? '/';
      sock.end(ANSWERS[target] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

/** The error undici really raises for a raw answer (no hand-made error objects). */
async function undiciErrorFor(port: number, path: string): Promise<Error> {
  const pool = new Pool(`http://127.0.0.1:${port}`);
  try {
    await pool.request({ path, method: 'GET' }).then((r) => r.body.text());
    throw new Error(`${path} did not fail`);
  } catch (err) {
    return err as Error;
  } finally {
    await pool.destroy();
  }
}

describe('classifyUpstreamError on real undici failures', () => {
  let up: { server: Server; port: number };
  beforeAll(async () => {
    up = await rawUpstream();
  });
  afterAll(() => new Promise<void>((r) => up.server.close(() => r())));

  it.each(['/te-with-cl', '/bad-status', '/huge-headers', '/dup-cl'])('%s is a bad response (502 GW_ERR_UPSTREAM_BAD_RESPONSE), never retried', async (path) => {
    const failure = classifyUpstreamError(await undiciErrorFor(up.port, path));
    expect(failure.code).toBe('GW_ERR_UPSTREAM_BAD_RESPONSE');
    expect(failure.retry).toBe('no');
  });
});

describe('ProxyServer with broken upstream answers', () => {
  let up: { server: Server; port: number };
  let gw: Gateway;
  beforeAll(async () => {
    up = await rawUpstream();
    gw = await startGateway({
      services: [{ name: 's', url: `http://127.0.0.1:${up.port}`, retries: 0 }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    });
  });
  afterAll(async () => {
    await gw.close();
    await new Promise<void>((r) => up.server.close(() => r()));
  });

  it('skips 103 Early Hints and relays the final answer', async () => {
    const r = await send(gw.port, '/early-hints');
    expect(r.status).toBe(201);
    expect(r.body).toBe('ok');
  });

  it('answers Content-Length with Transfer-Encoding as 502 GW_ERR_UPSTREAM_BAD_RESPONSE problem+json', async () => {
    const r = await send(gw.port, '/te-with-cl');
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(r.body).code).toBe('GW_ERR_UPSTREAM_BAD_RESPONSE');
  });

  it('answers oversized response headers as 502 GW_ERR_UPSTREAM_BAD_RESPONSE', async () => {
    const r = await send(gw.port, '/huge-headers');
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body).code).toBe('GW_ERR_UPSTREAM_BAD_RESPONSE');
  });
});
