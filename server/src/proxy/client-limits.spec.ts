import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { EnvError, loadEnv } from '../config/env.js';
import { DEFAULT_CLIENT_LIMITS } from './client-limits.js';
import { compile, MemoryLogger, send, sendRaw, startUpstream, type EchoBody, type Upstream } from './test-support/harness.js';
import { ProxyServer } from './proxy-server.js';
import { PoolRegistry } from './upstream-pool.js';

const doc = (up: Upstream) => ({ services: [{ name: 's', url: `http://${up.address}` }], routes: [{ name: 'r', service: 's', paths: ['/'], strip_path: false }] });

async function server(up: Upstream, limits: ConstructorParameters<typeof ProxyServer>[0]['clientLimits'], trusted: string[] = []): Promise<{ proxy: ProxyServer; port: number }> {
  const logger = new MemoryLogger();
  const proxy = new ProxyServer({ trustedProxies: trusted, logger, clientLimits: limits });
  proxy.swap(compile(doc(up), logger, new PoolRegistry()));
  await proxy.listen('127.0.0.1', 0);
  return { proxy, port: proxy.address().port };
}

function open(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with how long the server took to close the socket (or `limit` if it did not). */
function closedWithin(s: Socket, limit: number): Promise<{ ms: number; data: string }> {
  const t = Date.now();
  let data = '';
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ms: limit, data }), limit);
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - t, data });
    });
  });
}

describe('client limits of the proxy listener', () => {
  let up: Upstream;
  let a: { proxy: ProxyServer; port: number };
  beforeAll(async () => {
    up = await startUpstream();
    a = await server(up, { headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 600, keepAliveTimeoutMs: 300, maxConnectionsPerIp: 3, maxHeadersCount: 20 });
  });
  afterAll(async () => {
    await a.proxy.close(200);
    await up.close();
  });

  it('a head not complete within the headers timeout gets 408 problem+json and the connection closes', async () => {
    const s = await open(a.port);
    s.write('GET / HTTP/1.1\r\nHost: a\r\n');
    const r = await closedWithin(s, 3000);
    expect(r.ms).toBeLessThan(1500);
    expect(r.data).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.data).toContain('GW_ERR_REQUEST_TIMEOUT');
  });

  it('a body not complete within the request timeout gets 408', async () => {
    const s = await open(a.port);
    s.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc');
    // A byte every 200 ms keeps the idle timeout (600 ms) from firing first.
    const drip = setInterval(() => s.writable && s.write('x'), 200);
    const r = await closedWithin(s, 3000);
    clearInterval(drip);
    expect(r.ms).toBeLessThan(2000);
    expect(r.data).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const s = await open(a.port);
    s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const r = await closedWithin(s, 3000);
    expect(r.data).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.ms).toBeLessThan(2500);
  });

  it('more header fields than the cap → 431, not a silently shortened request', async () => {
    let many = '';
    for (let i = 0; i < 25; i++) many += `X-H${i}: ${i}\r\n`;
    const raw = await sendRaw(a.port, `GET / HTTP/1.1\r\nHost: a\r\n${many}\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    expect(raw).toContain('GW_ERR_HEADERS_TOO_LARGE');
    const ok: Record<string, string> = {};
    for (let i = 0; i < 15; i++) ok[`x-h${i}`] = String(i);
    expect((await send(a.port, '/', { headers: ok })).status).toBe(200);
  });

  it('Transfer-Encoding on HTTP/1.0 → 400 and the connection closes, the upstream is not called', async () => {
    const hits = up.hits;
    const raw = await sendRaw(a.port, 'POST / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    // Nor the request pipelined after it: its framing cannot be trusted either.
    await new Promise((r) => setTimeout(r, 100));
    expect(up.hits).toBe(hits);
  });

  it('an h2c upgrade is served as a plain request: no Upgrade, HTTP2-Settings or Connection upstream', async () => {
    const raw = await sendRaw(a.port, 'GET /h HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    const seen = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as EchoBody;
    expect(seen.headers.upgrade).toBeUndefined();
    expect(seen.headers['http2-settings']).toBeUndefined();
    expect(String(seen.headers.connection ?? '')).not.toMatch(/upgrade/i);
  });

  it('X-Real-IP from the client is replaced by the address the gateway resolved', async () => {
    const r = await send(a.port, '/', { headers: { 'x-real-ip': '10.9.9.9' } });
    expect(r.json().headers['x-real-ip']).toBe('127.0.0.1');
  });

  it('a paused reader of a large response is dropped at the idle timeout', async () => {
    const big = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': 32 * 1024 * 1024 });
      res.end(Buffer.alloc(32 * 1024 * 1024));
    });
    const b = await server(big, { idleTimeoutMs: 500 });
    try {
      const s = await open(b.port);
      s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      s.pause();
      await new Promise((r) => setTimeout(r, 1500));
      let got = 0;
      s.on('data', (c: Buffer) => (got += c.length));
      s.resume();
      await closedWithin(s, 3000);
      expect(got).toBeLessThan(32 * 1024 * 1024);
    } finally {
      await b.proxy.close(100);
      await big.close();
    }
  });

  it('the per-address cap drops the connection over it, not other addresses', async () => {
    const held = await Promise.all([open(a.port, '127.0.0.2'), open(a.port, '127.0.0.2'), open(a.port, '127.0.0.2')]);
    try {
      const over = await open(a.port, '127.0.0.2');
      const r = await closedWithin(over, 1000);
      expect(r.ms).toBeLessThan(1000);
      expect(r.data).toBe('');
      expect((await send(a.port, '/')).status).toBe(200);
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('trusted proxies are exempt from the per-address cap', async () => {
    const t = await server(up, { maxConnectionsPerIp: 1 }, ['127.0.0.0/8']);
    try {
      const held = await open(t.port);
      expect((await send(t.port, '/')).status).toBe(200);
      held.destroy();
    } finally {
      await t.proxy.close(100);
    }
  });
});

describe('malformed bytes behind a response in progress', () => {
  it('close the connection without writing a second status line into the body', async () => {
    const slow = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': 10 });
      res.write('12345');
      setTimeout(() => res.end('67890'), 400);
    });
    const g = await server(slow, {});
    try {
      const s = await open(g.port);
      let data = '';
      s.on('data', (c: Buffer) => (data += c.toString()));
      s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      for (let i = 0; i < 40 && !data.includes('12345'); i++) await new Promise((r) => setTimeout(r, 25));
      expect(data).toContain('12345');
      s.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
      await closedWithin(s, 3000);
      expect(data.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200']);
    } finally {
      await g.proxy.close(100);
      await slow.close();
    }
  });
});

describe('client limit environment variables', () => {
  it('default to the documented values', () => {
    expect(loadEnv({}).clientLimits).toEqual(DEFAULT_CLIENT_LIMITS);
    expect(DEFAULT_CLIENT_LIMITS).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 300_000, idleTimeoutMs: 300_000, maxHeadersCount: 100, strictPaths: true, underscoreHeaders: 'drop' });
  });

  it('are read, and bad values name the variable', () => {
    const l = loadEnv({
      GATEHOUSE_HEADERS_TIMEOUT_MS: '2000',
      GATEHOUSE_REQUEST_TIMEOUT_MS: '5000',
      GATEHOUSE_IDLE_TIMEOUT_MS: '0',
      GATEHOUSE_KEEPALIVE_TIMEOUT_MS: '1000',
      GATEHOUSE_MAX_CONNECTIONS: '50',
      GATEHOUSE_MAX_CONNECTIONS_PER_IP: '5',
      GATEHOUSE_MAX_HEADERS_COUNT: '64',
      GATEHOUSE_STRICT_PATHS: 'false',
      GATEHOUSE_UNDERSCORE_HEADERS: ' Reject ',
    }).clientLimits;
    expect(l).toEqual({ headersTimeoutMs: 2000, requestTimeoutMs: 5000, idleTimeoutMs: 0, keepAliveTimeoutMs: 1000, maxConnections: 50, maxConnectionsPerIp: 5, maxHeadersCount: 64, strictPaths: false, underscoreHeaders: 'reject' });
    for (const [name, value] of [
      ['GATEHOUSE_HEADERS_TIMEOUT_MS', '10s'],
      ['GATEHOUSE_MAX_CONNECTIONS', '-1'],
      ['GATEHOUSE_MAX_HEADERS_COUNT', '2'],
      ['GATEHOUSE_STRICT_PATHS', 'maybe'],
      ['GATEHOUSE_UNDERSCORE_HEADERS', 'ignore'],
    ]) {
      expect(() => loadEnv({ [name!]: value })).toThrow(EnvError);
      expect(() => loadEnv({ [name!]: value })).toThrow(name!);
    }
    expect(() => loadEnv({ GATEHOUSE_HEADERS_TIMEOUT_MS: '6000', GATEHOUSE_REQUEST_TIMEOUT_MS: '5000' })).toThrow('GATEHOUSE_HEADERS_TIMEOUT_MS');
  });
});

describe('strict paths', () => {
  let up: Upstream;
  let strict: { proxy: ProxyServer; port: number };
  let lax: { proxy: ProxyServer; port: number };
  beforeAll(async () => {
    up = await startUpstream();
    strict = await server(up, {});
    lax = await server(up, { strictPaths: false });
  });
  afterAll(async () => {
    await strict.proxy.close(100);
    await lax.proxy.close(100);
    await up.close();
  });

  it.each(['/a%2Fb', '/a;b', '/a%5Cb', '/a%3Bb'])('%s → 400 GW_ERR_BAD_PATH by default, passed on unchanged when off', async (p) => {
    const r = await send(strict.port, p);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'GW_ERR_BAD_PATH' });
    const l = await send(lax.port, p);
    expect(l.status).toBe(200);
    expect(l.json().url).toBe(p.replace('%3B', '%3B'));
  });

  it('repeated slashes are merged before routing, in both modes', async () => {
    expect((await send(strict.port, '//a///b')).json().url).toBe('/a/b');
    expect((await send(lax.port, '//a///b')).json().url).toBe('/a/b');
  });
});

describe('header names with underscores', () => {
  let up: Upstream;
  const modes = {} as Record<'drop' | 'reject' | 'allow', { proxy: ProxyServer; port: number }>;
  beforeAll(async () => {
    up = await startUpstream();
    modes.drop = await server(up, {});
    modes.reject = await server(up, { underscoreHeaders: 'reject' });
    modes.allow = await server(up, { underscoreHeaders: 'allow' });
  });
  afterAll(async () => {
    for (const m of Object.values(modes)) await m.proxy.close(100);
    await up.close();
  });
  // CGI-style upstreams read X_Real_IP and X-Real-IP as the same variable: the spoof the default prevents.
  const headers = { 'X_Real_IP': '6.6.6.6', 'x_consumer_username': 'admin', 'X-Tenant': 'a' };

  it('are not forwarded by default; other client headers are', async () => {
    const r = await send(modes.drop.port, '/a', { headers });
    expect(r.status).toBe(200);
    const got = r.json<{ headers: Record<string, string> }>().headers;
    expect(Object.keys(got).filter((k) => k.includes('_'))).toEqual([]);
    expect(got['x-tenant']).toBe('a');
    expect(got['x-real-ip']).toBe('127.0.0.1');
  });

  it('are refused with 400 problem+json in reject mode, naming the field', async () => {
    const r = await send(modes.reject.port, '/a', { headers });
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.json()).toMatchObject({ code: 'GW_ERR_BAD_REQUEST', detail: "header field name with an underscore: 'X_Real_IP'" });
    expect((await send(modes.reject.port, '/a', { headers: { 'X-Tenant': 'a' } })).status).toBe(200);
  });

  it('are forwarded as sent in allow mode', async () => {
    const got = (await send(modes.allow.port, '/a', { headers })).json<{ headers: Record<string, string> }>().headers;
    expect(got).toMatchObject({ x_real_ip: '6.6.6.6', x_consumer_username: 'admin', 'x-tenant': 'a', 'x-real-ip': '127.0.0.1' });
  });
});
