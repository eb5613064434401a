/**
 * The HTTPS and h2c listeners on sockets bound by someone else (the cluster primary, runtime/cluster.ts), and
 * their drain: HTTP/2 clients are told to go away (GOAWAY) while their in-flight streams finish.
 *
 * In cluster mode each worker holds its own copy of the descriptor; here the ProxyServer gets the primary's
 * own (it closes it on close()), which is the same listen() path.
 */
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeCredentialKeys } from '../auth/secrets.js';
import { sealCertificate } from '../tls/certificates.js';
import { selfSigned } from '../tls/test-support.js';
import { bindSocket } from '../runtime/cluster.js';
import { ProxyServer } from './proxy-server.js';
import { compile, MemoryLogger, startUpstream, type Upstream } from './test-support/harness.js';
import { PoolRegistry } from './upstream-pool.js';

const CERT = selfSigned('a.test');

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

function httpsGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername: 'a.test', rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function h2get(session: ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':authority': 'a.test' });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS and h2c listeners on inherited sockets (cluster mode)', () => {
  let up: Upstream;
  let proxy: ProxyServer;
  const logger = new MemoryLogger();
  const pools = new PoolRegistry();
  // The handles own nothing once the proxy listens on their descriptors; kept so they are not collected meanwhile.
  let tls: Awaited<ReturnType<typeof bindSocket>>;
  let h2c: Awaited<ReturnType<typeof bindSocket>>;
  /** Requests to /slow wait for this to be called. */
  let releaseSlow: () => void = () => {};

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      const answer = () => res.end(`served ${req.url}`);
      if (req.url === '/slow') releaseSlow = answer;
      else answer();
    });
    tls = await bindSocket('127.0.0.1', 0, 'HTTPS listener');
    h2c = await bindSocket('127.0.0.1', 0, 'h2c listener');
    proxy = new ProxyServer({
      trustedProxies: [],
      logger,
      tls: { host: '127.0.0.1', port: tls.port, mode: 'auto', fd: tls.fd },
      h2c: { host: '127.0.0.1', port: h2c.port, fd: h2c.fd },
    });
    proxy.swap(compile({ services: [{ name: 's', url: `http://${up.address}` }], routes: [{ name: 'r', service: 's', paths: ['/'] }] }, logger, pools));
    await proxy.listen('127.0.0.1', 0);
  });
  afterAll(async () => {
    await proxy.close(200);
    await up.close();
  });

  it('in auto mode the bound HTTPS socket refuses connections until a certificate exists, then serves HTTP/1.1 and HTTP/2 on it', async () => {
    expect(proxy.tlsAddress()).toBeUndefined();
    expect(await refused(tls.port)).toBe('ECONNREFUSED');
    expect(await proxy.setCertificates([{ ...sealCertificate(activeCredentialKeys(), { name: 'a', cert: CERT.cert, key: CERT.key }), default: true }])).toEqual([]);
    // The listener is on the primary's socket, not a port of its own.
    expect(proxy.tlsAddress()).toEqual({ port: tls.port });
    expect(await httpsGet(tls.port, '/h1')).toEqual({ status: 200, body: 'served /h1' });
    const session = h2connect(`https://127.0.0.1:${tls.port}`, { servername: 'a.test', rejectUnauthorized: false });
    try {
      expect(await h2get(session, '/h2')).toEqual({ status: 200, body: 'served /h2' });
    } finally {
      session.close();
    }
  });

  it('listens for h2c on its inherited socket', async () => {
    expect(proxy.h2cAddress()).toEqual({ port: h2c.port });
    const session = h2connect(`http://127.0.0.1:${h2c.port}`);
    try {
      expect(await h2get(session, '/h2c')).toEqual({ status: 200, body: 'served /h2c' });
    } finally {
      session.close();
    }
  });

  it('on drain stops accepting, serves streams still arriving on open HTTP/2 sessions and sends their GOAWAY with them', async () => {
    const session = h2connect(`https://127.0.0.1:${tls.port}`, { servername: 'a.test', rejectUnauthorized: false });
    session.on('error', () => {});
    const goaways: { code: number; lastStreamID: number }[] = [];
    session.on('goaway', (code, lastStreamID) => goaways.push({ code, lastStreamID }));
    expect(await h2get(session, '/warm')).toEqual({ status: 200, body: 'served /warm' }); // stream 1
    const hits = up.hits;
    const slow = h2get(session, '/slow'); // stream 3
    while (up.hits === hits) await new Promise((r) => setTimeout(r, 10));
    const closing = proxy.close(5_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(await refused(tls.port)).toBe('ECONNREFUSED');
    // Nothing refused yet: a client's next request on its session is served, and answered with GOAWAY.
    expect(goaways).toEqual([]);
    expect(await h2get(session, '/during')).toEqual({ status: 200, body: 'served /during' }); // stream 5
    expect(goaways).toEqual([{ code: 0, lastStreamID: 5 }]);
    // The session takes no new stream now; the one in flight still finishes.
    releaseSlow();
    expect(await slow).toEqual({ status: 200, body: 'served /slow' });
    await closing;
    expect(session.closed || session.destroyed).toBe(true);
  });
});
