import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'node:http';
import { loadEnv, EnvError } from '../config/env.js';
import { compile, MemoryLogger, send, sendRaw, startGateway, startUpstream, type Gateway, type Upstream } from './test-support/harness.js';
import { ProxyServer } from './proxy-server.js';
import { PoolRegistry } from './upstream-pool.js';

/** Status and parsed problem body of a raw HTTP/1.1 answer. */
function parseRaw(raw: string): { status: number; head: string; body: { code?: string; status?: number } } {
  const headEnd = raw.indexOf('\r\n\r\n');
  return { status: Number(raw.slice(9, 12)), head: raw.slice(0, headEnd).toLowerCase(), body: JSON.parse(raw.slice(headEnd + 4)) as { code?: string } };
}

/** Two requests over one keep-alive connection; reports each status and whether the socket was reused. */
async function twoOnOneConnection(port: number, first: string, second: string): Promise<{ status: number; reused: boolean; body: string }[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const one = (path: string) =>
    new Promise<{ status: number; reused: boolean; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket, body }));
      });
      req.on('error', reject);
      req.end();
    });
  try {
    return [await one(first), await one(second)];
  } finally {
    agent.destroy();
  }
}

const doc = (up: Upstream) => ({ services: [{ name: 's', url: `http://${up.address}` }], routes: [{ name: 'r', service: 's', paths: ['/'] }] });

describe('request size limits of the proxy listener', () => {
  let up: Upstream;
  let gw: Gateway;
  let custom: ProxyServer;
  let customPort: number;
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway(doc(up));
    const logger = new MemoryLogger();
    custom = new ProxyServer({ trustedProxies: [], logger, maxHeaderSize: 4096, maxUriLength: 512 });
    custom.swap(compile(doc(up), logger, new PoolRegistry()));
    await custom.listen('127.0.0.1', 0);
    customPort = custom.address().port;
  });
  afterAll(async () => {
    await gw.close();
    await custom.close(500);
    await up.close();
  });

  it('answers 431 problem+json to headers over the default 16 KiB, and keeps serving', async () => {
    const raw = await sendRaw(gw.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
    const r = parseRaw(raw);
    expect(r.status).toBe(431);
    expect(r.head).toContain('content-type: application/problem+json');
    expect(r.head).toContain('connection: close');
    expect(r.body).toMatchObject({ code: 'GW_ERR_HEADERS_TOO_LARGE', status: 431 });
    expect((await send(gw.port, '/ok')).status).toBe(200);
  });

  it('takes headers under the limit', async () => {
    const r = await send(gw.port, '/', { headers: { 'x-big': 'a'.repeat(12 * 1024) } });
    expect(r.status).toBe(200);
  });

  it('uses a configured header limit', async () => {
    const r = parseRaw(await sendRaw(customPort, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`));
    expect(r.status).toBe(431);
    expect(r.body.code).toBe('GW_ERR_HEADERS_TOO_LARGE');
    expect((await send(customPort, '/', { headers: { 'x-big': 'a'.repeat(3000) } })).status).toBe(200);
  });

  it('other malformed requests still get 400', async () => {
    const r = parseRaw(await sendRaw(gw.port, 'GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n'));
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('GW_ERR_BAD_REQUEST');
  });

  it('answers 414 problem+json to a target over the default 8 KiB, on a connection that stays usable', async () => {
    const hits = up.hits;
    const [long, next] = await twoOnOneConnection(gw.port, `/${'a'.repeat(8 * 1024)}`, '/after');
    expect(long!.status).toBe(414);
    expect(JSON.parse(long!.body)).toMatchObject({ code: 'GW_ERR_URI_TOO_LONG', status: 414 });
    expect(next).toMatchObject({ status: 200, reused: true });
    expect(up.hits).toBe(hits + 1); // only the second request reached the upstream
  });

  it('takes a target of exactly the limit, and applies a configured limit', async () => {
    expect((await send(gw.port, `/${'a'.repeat(8 * 1024 - 1)}`)).status).toBe(200);
    const r = await send(customPort, `/${'a'.repeat(512)}`);
    expect(r.status).toBe(414);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect((await send(customPort, `/${'a'.repeat(511)}`)).status).toBe(200);
  });
});

describe('size limit environment variables', () => {
  it('default to 16 KiB headers and 8 KiB targets', () => {
    const env = loadEnv({});
    expect(env.maxHeaderSize).toBe(16 * 1024);
    expect(env.maxUriLength).toBe(8 * 1024);
  });

  it('are read, and bad values name the variable', () => {
    const env = loadEnv({ GATEHOUSE_MAX_HEADER_SIZE: '32768', GATEHOUSE_MAX_URI_LENGTH: '2048' });
    expect(env.maxHeaderSize).toBe(32768);
    expect(env.maxUriLength).toBe(2048);
    for (const [name, value] of [
      ['GATEHOUSE_MAX_HEADER_SIZE', '16k'],
      ['GATEHOUSE_MAX_HEADER_SIZE', '10'],
      ['GATEHOUSE_MAX_URI_LENGTH', '-1'],
      ['GATEHOUSE_MAX_URI_LENGTH', '1.5'],
    ]) {
      expect(() => loadEnv({ [name!]: value })).toThrow(EnvError);
      expect(() => loadEnv({ [name!]: value })).toThrow(name!);
    }
  });
});
