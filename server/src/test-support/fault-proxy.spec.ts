import { createServer, type Server } from 'node:http';
import { createConnection } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy } from './fault-proxy.js';

const BIG = 'x'.repeat(1000);

let upstream: Server;
let upstreamPort = 0;
let upstreamRequests = 0;
let proxy: FaultProxy;
let agent: Agent;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    upstreamRequests++;
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      const body = req.url === '/big' ? BIG : `ok ${req.method} ${req.url} ${size}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as { port: number }).port;
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

beforeEach(async () => {
  upstreamRequests = 0;
  proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: upstreamPort } });
  // One keep-alive socket, so a second request is a reuse of the first one's connection.
  agent = new Agent({ connections: 1, pipelining: 1, keepAliveTimeout: 10_000 });
});

afterEach(async () => {
  await agent.destroy();
  await proxy.close();
});

function get(path = '/', opts: { headersTimeout?: number } = {}) {
  return request(`${proxy.url}${path}`, { dispatcher: agent, ...opts });
}

/** A plain TCP connection to the proxy and a promise of its close. */
async function rawConnection() {
  const socket = createConnection({ host: '127.0.0.1', port: proxy.port });
  socket.on('error', () => {});
  // Drained, or a socket with unread bytes never reaches 'end' and 'close'.
  socket.resume();
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return { socket, closed };
}

/** The error code a failed undici request carries, wherever it sits. */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    return e.code ?? e.cause?.code ?? String(err);
  }
  throw new Error('expected the request to fail');
}

describe('FaultProxy', () => {
  it('passes requests through and counts connections and request heads, bodies included', async () => {
    const a = await request(`${proxy.url}/a`, { dispatcher: agent, method: 'POST', body: 'hello' });
    expect(await a.body.text()).toBe('ok POST /a 5');
    const b = await get('/b');
    expect(await b.body.text()).toBe('ok GET /b 0');
    const c = await request(`${proxy.url}/c`, { dispatcher: agent, method: 'PUT', body: 'x'.repeat(70_000) });
    expect(await c.body.text()).toBe('ok PUT /c 70000');
    expect(proxy.connections).toBe(1);
    expect(proxy.requests).toBe(3);
    expect(proxy.injected).toBe(0);
    proxy.reset();
    expect([proxy.connections, proxy.requests, proxy.injected]).toEqual([0, 0, 0]);
  });

  it('resolves a function target for each new upstream connection', async () => {
    await proxy.close();
    let calls = 0;
    proxy = await FaultProxy.start({ target: () => (calls++, { host: '127.0.0.1', port: upstreamPort }) });
    expect((await get()).statusCode).toBe(200);
    expect(calls).toBe(1);
  });

  it('latency delays the response by at least ms', async () => {
    proxy.setFault({ kind: 'latency', ms: 150 });
    const t0 = performance.now();
    const res = await get('/big');
    expect(await res.body.text()).toBe(BIG);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
    expect(proxy.injected).toBe(1);
  });

  it('stall reads the request and never answers', async () => {
    proxy.setFault({ kind: 'stall' });
    expect(await failure(get('/', { headersTimeout: 200 }))).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(proxy.requests).toBe(1);
    expect(upstreamRequests).toBe(0);
  });

  it('reset-before-headers resets the client before any response byte', async () => {
    proxy.setFault({ kind: 'reset-before-headers' });
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(await failure(get()));
    expect(upstreamRequests).toBe(0);
    expect(proxy.injected).toBe(1);
  });

  it('reset-after-headers delivers the head, then the body fails', async () => {
    proxy.setFault({ kind: 'reset-after-headers' });
    const res = await get('/big');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('1000');
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(await failure(res.body.text()));
    expect(upstreamRequests).toBe(1);
  });

  it('slow-body delivers the whole body, no faster than the dribble rate', async () => {
    proxy.setFault({ kind: 'slow-body', bytesPerTick: 100, tickMs: 20 });
    const t0 = performance.now();
    const res = await get('/big');
    expect(res.statusCode).toBe(200);
    const headAt = performance.now() - t0;
    expect(await res.body.text()).toBe(BIG);
    const elapsed = performance.now() - t0;
    // 1000 bytes at 100 per 20 ms: ten ticks, the head ahead of all of them.
    expect(headAt).toBeLessThan(100);
    expect(elapsed).toBeGreaterThanOrEqual(190);
  });

  it('close-on-reuse serves the first request, then closes the connection when the second starts', async () => {
    proxy.setFault({ kind: 'close-on-reuse' });
    expect(await (await get('/one')).body.text()).toBe('ok GET /one 0');
    // undici does not replay a request on a reused socket that closes under it.
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(await failure(get('/two')));
    expect(proxy.injected).toBe(1);
    expect(upstreamRequests).toBe(1);
    // A fresh connection is served again.
    expect(await (await get('/three')).body.text()).toBe('ok GET /three 0');
    expect(proxy.connections).toBe(2);
  });

  it('status answers without contacting the target, keeping the connection alive', async () => {
    proxy.setFault({ kind: 'status', status: 503 });
    const a = await get();
    expect(a.statusCode).toBe(503);
    expect(await a.body.text()).toBe('fault-proxy: 503\n');
    proxy.setFault({ kind: 'status', status: 502, body: 'bad' });
    const b = await get();
    expect([b.statusCode, await b.body.text()]).toEqual([502, 'bad']);
    expect(upstreamRequests).toBe(0);
    expect(proxy.connections).toBe(1);
  });

  it('a fault switch applies to the next request on an existing keep-alive connection', async () => {
    expect((await get()).statusCode).toBe(200);
    proxy.setFault({ kind: 'status', status: 503 });
    expect((await get()).statusCode).toBe(503);
    proxy.setFault({ kind: 'reset-before-headers' });
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(await failure(get()));
    proxy.setFault({ kind: 'none' });
    expect((await get()).statusCode).toBe(200);
    expect(proxy.connections).toBe(2);
  });

  it('down refuses connects and closes open connections; up listens again on the same port', async () => {
    expect((await get()).statusCode).toBe(200);
    const open = await rawConnection();
    const port = proxy.port;
    await proxy.down();
    await open.closed;
    // A fresh dispatcher: the pooled socket may not have seen its FIN yet and would fail differently.
    const fresh = new Agent();
    try {
      expect(await failure(request(proxy.url, { dispatcher: fresh }))).toBe('ECONNREFUSED');
    } finally {
      await fresh.destroy();
    }
    await proxy.up();
    expect(proxy.port).toBe(port);
    expect((await get()).statusCode).toBe(200);
  });

  it('close leaves no socket open: held connections end and connects are refused', async () => {
    proxy.setFault({ kind: 'stall' });
    const held = await rawConnection();
    held.socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    await expect.poll(() => proxy.requests).toBe(1);
    await proxy.close();
    await held.closed;
    expect(await failure(get())).toBe('ECONNREFUSED');
  });
});
