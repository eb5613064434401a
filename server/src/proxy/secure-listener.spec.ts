import { connect as h2connect, constants as h2 } from 'node:http2';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeCredentialKeys } from '../auth/secrets.js';
import type { CertificateConfig } from '../config/schema.js';
import { sealCertificate } from '../tls/certificates.js';
import { selfSigned } from '../tls/test-support.js';
import { ProxyServer } from './proxy-server.js';
import { compile, MemoryLogger, startUpstream, type EchoBody, type Upstream } from './test-support/harness.js';
import { PoolRegistry } from './upstream-pool.js';

const A = selfSigned('a.test');
const B = selfSigned('b.test');
const C = selfSigned('c.test');
const seal = (name: string, c: { cert: string; key: string }, extra: Partial<CertificateConfig> = {}): CertificateConfig => ({
  ...sealCertificate(activeCredentialKeys(), { name, cert: c.cert, key: c.key }),
  ...extra,
});

/** Handshakes and returns the CN of the certificate served, or the handshake error. */
function handshake(port: number, opts: ConnectionOptions = {}): Promise<{ cn?: string; protocol?: string | null; error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
      const cn = s.getPeerCertificate().subject?.CN;
      const protocol = s.getProtocol();
      s.end();
      resolve({ cn: Array.isArray(cn) ? cn[0] : cn, protocol });
    });
    s.on('error', (error) => resolve({ error }));
  });
}

describe('HTTPS listener (SNI, hot swap, TLS policy, HTTP/2)', () => {
  let up: Upstream;
  let proxy: ProxyServer;
  let tlsPort = 0;
  let plainPort = 0;
  const logger = new MemoryLogger();
  const pools = new PoolRegistry();

  beforeAll(async () => {
    up = await startUpstream();
    proxy = new ProxyServer({ trustedProxies: [], logger, tls: { host: '127.0.0.1', port: 0, mode: 'auto' }, h2c: { host: '127.0.0.1', port: 0 } });
    proxy.swap(
      compile(
        {
          services: [{ name: 's', url: `http://${up.address}` }],
          routes: [
            { name: 'r', service: 's', paths: ['/'] },
            { name: 'keep', service: 's', paths: ['/keep'], preserve_host: true },
          ],
        },
        logger,
        pools,
      ),
    );
    await proxy.listen('127.0.0.1', 0);
    plainPort = proxy.address().port;
  });
  afterAll(async () => {
    await proxy.close(200);
    await up.close();
  });

  it('in auto mode starts only once a certificate exists, then serves each SNI name its own certificate', async () => {
    expect(proxy.tlsAddress()).toBeUndefined();
    expect(await proxy.setCertificates([seal('a', A), seal('b', B)])).toEqual([]);
    tlsPort = proxy.tlsAddress()!.port;
    expect(tlsPort).toBeGreaterThan(0);
    expect((await handshake(tlsPort, { servername: 'a.test' })).cn).toBe('a.test');
    expect((await handshake(tlsPort, { servername: 'B.TEST' })).cn).toBe('b.test');
  });

  it('fails a handshake that matches no name when there is no default, and serves the default otherwise', async () => {
    const none = await handshake(tlsPort, { servername: 'unknown.test' });
    expect(none.error).toBeDefined();
    expect(none.cn).toBeUndefined();
    await proxy.setCertificates([seal('a', A), seal('b', B, { default: true })]);
    expect((await handshake(tlsPort, { servername: 'unknown.test' })).cn).toBe('b.test');
    // No SNI at all (an IP address): the default too.
    expect((await handshake(tlsPort)).cn).toBe('b.test');
  });

  it('a certificate added by a config change serves the next handshake; open connections keep theirs', async () => {
    const before = await handshake(tlsPort, { servername: 'c.test' });
    expect(before.cn).toBe('b.test'); // the default, for now
    await proxy.setCertificates([seal('a', A), seal('b', B, { default: true }), seal('c', C)]);
    expect((await handshake(tlsPort, { servername: 'c.test' })).cn).toBe('c.test');
    // Removing it takes effect the same way.
    await proxy.setCertificates([seal('a', A), seal('b', B, { default: true })]);
    expect((await handshake(tlsPort, { servername: 'c.test' })).cn).toBe('b.test');
  });

  it('speaks TLS 1.2 and 1.3 only: a TLS 1.1 client is refused by the server', async () => {
    expect((await handshake(tlsPort, { servername: 'a.test', maxVersion: 'TLSv1.2' })).protocol).toBe('TLSv1.2');
    expect((await handshake(tlsPort, { servername: 'a.test' })).protocol).toBe('TLSv1.3');
    // SECLEVEL=0 lets this client offer TLS 1.1 at all, so the refusal below is the server's.
    const old = await handshake(tlsPort, { servername: 'a.test', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(old.error?.code).toMatch(/ALERT_PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/);
  });

  it('proxies HTTP/2 to an HTTP/1.1 upstream: no pseudo-headers upstream, :authority as Host, cookies joined, a body without content-length', async () => {
    const session = h2connect(`https://127.0.0.1:${tlsPort}`, { servername: 'a.test', rejectUnauthorized: false });
    try {
      const call = (headers: Record<string, string | string[]>, body?: string) =>
        new Promise<{ status: number; headers: Record<string, unknown>; echo: EchoBody }>((resolve, reject) => {
          const req = session.request(headers, { endStream: body === undefined });
          let data = '';
          let head: Record<string, unknown> = {};
          req.on('response', (h) => (head = h));
          req.on('data', (c: Buffer) => (data += c.toString()));
          req.on('end', () => resolve({ status: Number(head[h2.HTTP2_HEADER_STATUS]), headers: head, echo: JSON.parse(data) as EchoBody }));
          req.on('error', reject);
          if (body !== undefined) req.end(body);
        });
      const r = await call({ ':method': 'GET', ':path': '/keep/x?q=1', ':authority': 'a.test', cookie: ['a=1', 'b=2'] });
      expect(r.status).toBe(200);
      expect(r.headers['x-request-id']).toBeTruthy();
      expect(r.echo.url).toBe('/x?q=1');
      expect(r.echo.headers.host).toBe('a.test');
      expect(r.echo.rawHeaders.filter((_, i) => i % 2 === 0).some((n) => n.startsWith(':'))).toBe(false);
      expect(r.echo.headers.cookie).toBe('a=1; b=2');
      expect(r.echo.headers['x-forwarded-proto']).toBe('https');
      expect(r.echo.headers['x-forwarded-host']).toBe('a.test');
      const post = await call({ ':method': 'POST', ':path': '/up', ':authority': 'a.test', 'content-type': 'text/plain' }, 'hello over h2');
      expect(post.echo.method).toBe('POST');
      expect(post.echo.bodyBytes).toBe('hello over h2'.length);
      expect(post.echo.headers.host).toBe(up.address);
    } finally {
      session.close();
    }
  });

  it('serves HTTP/1.1 on the same port to clients that do not offer h2', async () => {
    const r = await new Promise<{ status: number; body: string; alpn: string | false | null }>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: tlsPort, path: '/one', servername: 'a.test', rejectUnauthorized: false, agent: false, ALPNProtocols: ['http/1.1'], headers: { host: 'a.test' } } as RequestOptions, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body, alpn: (res.socket as TLSSocket).alpnProtocol }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(r.status).toBe(200);
    expect(r.alpn).toBe('http/1.1');
    expect((JSON.parse(r.body) as EchoBody).headers['x-forwarded-proto']).toBe('https');
  });

  it('serves prior-knowledge h2c on its own port; the plain port stays HTTP/1.1', async () => {
    const session = h2connect(`http://127.0.0.1:${proxy.h2cAddress()!.port}`);
    try {
      const echo = await new Promise<EchoBody>((resolve, reject) => {
        const req = session.request({ ':method': 'GET', ':path': '/c', ':authority': 'h2c.test' });
        let data = '';
        req.on('data', (c: Buffer) => (data += c.toString()));
        req.on('end', () => resolve(JSON.parse(data) as EchoBody));
        req.on('error', reject);
      });
      expect(echo.url).toBe('/c');
      expect(echo.headers['x-forwarded-proto']).toBe('http');
      expect(echo.headers['x-forwarded-host']).toBe('h2c.test');
    } finally {
      session.close();
    }
    expect(plainPort).not.toBe(proxy.h2cAddress()!.port);
  });
});

describe('HTTPS listener hardening: the client limits of the plain listener apply over TLS (HTTP/1.1 and HTTP/2)', () => {
  let up: Upstream;
  let proxy: ProxyServer;
  let port = 0;
  const logger = new MemoryLogger();
  const pools = new PoolRegistry();
  const limits = { headersTimeoutMs: 400, requestTimeoutMs: 1_500, idleTimeoutMs: 800, keepAliveTimeoutMs: 250, maxHeadersCount: 20 };

  beforeAll(async () => {
    up = await startUpstream();
    proxy = new ProxyServer({ trustedProxies: [], logger, maxHeaderSize: 2048, clientLimits: limits, tls: { host: '127.0.0.1', port: 0, mode: 'auto' } });
    proxy.swap(compile({ services: [{ name: 's', url: `http://${up.address}` }], routes: [{ name: 'r', service: 's', paths: ['/'] }] }, logger, pools));
    await proxy.listen('127.0.0.1', 0);
    await proxy.setCertificates([seal('a', A, { default: true })]);
    port = proxy.tlsAddress()!.port;
  });
  afterAll(async () => {
    await proxy.close(200);
    await up.close();
  });

  /**
   * HTTP/1.1 over TLS with raw bytes: writes `first`, then `trickle` every 100 ms until the server answers
   * or closes. Resolves with what came back and when the connection closed (ms after the first write).
   */
  function raw1(first: string, trickle?: string): Promise<{ text: string; closedAfter: number }> {
    return new Promise((resolve, reject) => {
      const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
        const t0 = Date.now();
        let text = '';
        s.write(first);
        const timer = trickle === undefined ? undefined : setInterval(() => s.writable && s.write(trickle), 100);
        s.on('data', (c: Buffer) => {
          text += c.toString();
          clearInterval(timer);
        });
        s.on('close', () => {
          clearInterval(timer);
          resolve({ text, closedAfter: Date.now() - t0 });
        });
      });
      s.on('error', () => {});
      setTimeout(() => reject(new Error('the server never closed the connection')), 5_000).unref();
    });
  }

  function h2request(headers: Record<string, string>): Promise<{ status: number } | { error: string }> {
    const session = h2connect(`https://127.0.0.1:${port}`, { servername: 'a.test', rejectUnauthorized: false });
    session.on('error', () => {});
    return new Promise<{ status: number } | { error: string }>((resolve) => {
      const req = session.request({ ':method': 'GET', ':path': '/h', ':authority': 'a.test', ...headers });
      req.on('response', (h) => resolve({ status: Number(h[h2.HTTP2_HEADER_STATUS]) }));
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
      req.on('close', () => resolve({ error: `closed with code ${req.rstCode}` }));
      req.resume();
      req.end();
    }).finally(() => session.close());
  }

  it('GATEHOUSE_HEADERS_TIMEOUT_MS: a head still incomplete after it → 408 (HTTP/1.1 over TLS)', async () => {
    const r = await raw1('GET /slow HTTP/1.1\r\nHost: a.test\r\n', 'x-slow: 1\r\n');
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.text).toContain('GW_ERR_REQUEST_TIMEOUT');
    expect(r.closedAfter).toBeGreaterThanOrEqual(350);
    expect(r.closedAfter).toBeLessThan(1_200);
  });

  it('GATEHOUSE_REQUEST_TIMEOUT_MS: a body still incomplete after it → 408, even though bytes keep coming', async () => {
    const r = await raw1('POST /slow HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1000\r\n\r\n', 'a');
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.closedAfter).toBeGreaterThanOrEqual(1_300);
    expect(r.closedAfter).toBeLessThan(2_800);
  });

  it('GATEHOUSE_IDLE_TIMEOUT_MS: a connection with no byte moving is closed (HTTP/1.1 mid-request, and an idle HTTP/2 session)', async () => {
    const r = await raw1('POST /idle HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\nab');
    expect(r.closedAfter).toBeGreaterThanOrEqual(700);
    expect(r.closedAfter).toBeLessThan(1_450);
    const session = h2connect(`https://127.0.0.1:${port}`, { servername: 'a.test', rejectUnauthorized: false });
    session.on('error', () => {});
    const t0 = Date.now();
    await new Promise((r2) => session.once('close', r2));
    const after = Date.now() - t0;
    expect(after).toBeGreaterThanOrEqual(700);
    expect(after).toBeLessThan(2_000);
  });

  it('GATEHOUSE_KEEPALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after it (not after Node\'s 5 s default)', async () => {
    const r = await raw1('GET /ka HTTP/1.1\r\nHost: a.test\r\n\r\n');
    expect(r.text).toMatch(/^HTTP\/1\.1 200 /);
    // Node 24 adds keepAliveTimeoutBuffer (1 s) to the timeout, on the plain listener too.
    expect(r.closedAfter).toBeGreaterThanOrEqual(200);
    expect(r.closedAfter).toBeLessThan(2_500);
  });

  it('GATEHOUSE_MAX_HEADER_SIZE: a larger head → 431 over HTTP/1.1; HTTP/2 advertises it and refuses a larger header list', async () => {
    const big = 'x'.repeat(3_000);
    const r = await raw1(`GET /big HTTP/1.1\r\nHost: a.test\r\nx-big: ${big}\r\n\r\n`);
    expect(r.text).toMatch(/^HTTP\/1\.1 431 /);
    const session = h2connect(`https://127.0.0.1:${port}`, { servername: 'a.test', rejectUnauthorized: false });
    session.on('error', () => {});
    const settings = await new Promise<{ maxHeaderListSize?: number }>((r2) => session.once('remoteSettings', r2));
    session.close();
    expect(settings.maxHeaderListSize).toBe(2048);
    const hits = up.hits;
    expect(await h2request({ 'x-big': big })).toEqual({ status: 431 });
    expect(up.hits).toBe(hits);
    expect(await h2request({ 'x-small': 'y' })).toEqual({ status: 200 });
  });

  it('GATEHOUSE_MAX_HEADERS_COUNT: more header fields → 431 over HTTP/1.1 and HTTP/2; up to the cap passes', async () => {
    const fields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, '1']));
    const lines = (n: number) => Object.keys(fields(n)).map((k) => `${k}: 1\r\n`).join('');
    const over1 = await raw1(`GET /many HTTP/1.1\r\nHost: a.test\r\n${lines(25)}\r\n`);
    expect(over1.text).toMatch(/^HTTP\/1\.1 431 /);
    expect(over1.text).toContain('GW_ERR_HEADERS_TOO_LARGE');
    const ok1 = await raw1(`GET /many HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n${lines(15)}\r\n`);
    expect(ok1.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(await h2request(fields(25))).toEqual({ status: 431 });
    expect(await h2request(fields(15))).toEqual({ status: 200 });
  });
});
