import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from './test-support/harness.js';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

describe('ProxyServer: WebSocket, SSE, large bodies', () => {
  let up: Upstream;
  let gw: Gateway;
  let releaseSse: () => void = () => {};
  const MB = 1024 * 1024;

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: first\n\n');
        releaseSse = () => res.end('data: last\n\n');
        return;
      }
      if (req.url === '/upload') {
        let n = 0;
        req.on('data', (c: Buffer) => (n += c.length));
        req.on('end', () => res.end(String(n)));
        return;
      }
      if (req.url === '/download') {
        const chunk = Buffer.alloc(64 * 1024, 1);
        let left = 200 * MB;
        res.writeHead(200, { 'content-length': String(left) });
        const pump = () => {
          while (left > 0) {
            left -= chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      res.end('plain');
    });
    // A minimal WebSocket handshake: answer 101 with the accept key, then echo every byte back.
    up.server.on('upgrade', (req, socket, head) => {
      const key = req.headers['sec-websocket-key'];
      const accept = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Seen-Via: ${req.headers.via}\r\nX-Seen-Path: ${req.url}\r\n\r\n`);
      if (head.length) socket.write(head);
      socket.pipe(socket);
    });
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }, { name: 'ws', service: 's', paths: ['/ws'] }],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('proxies a WebSocket handshake and echoes frames both ways', async () => {
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const sock = connect(gw.port, '127.0.0.1');
    let buf = '';
    const gotHead = new Promise<void>((resolve) =>
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        if (buf.includes('\r\n\r\n')) resolve();
      }),
    );
    sock.write(`GET /ws/chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await gotHead;
    expect(buf).toMatch(/^HTTP\/1.1 101/);
    expect(buf).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(buf).toContain('X-Seen-Via: 1.1 gatehouse');
    expect(buf).toContain('X-Seen-Path: /chat');
    buf = '';
    // A masked text frame "hello"; the test upstream echoes raw bytes, which proves both pipe directions.
    const frame = Buffer.from([0x81, 0x85, 1, 2, 3, 4, ...Buffer.from('hello').map((b, i) => b ^ [1, 2, 3, 4][i % 4]!)]);
    const echoed = new Promise<Buffer>((resolve) => sock.once('data', (d) => resolve(d)));
    sock.write(frame);
    expect(Buffer.compare(await echoed, frame)).toBe(0);
    sock.destroy();
  });

  it('answers a WebSocket request for an unknown route with a 404 problem', async () => {
    const other = await startGateway({ services: [], routes: [] });
    const sock = connect(other.port, '127.0.0.1');
    let out = '';
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.on('data', (d) => (out += d.toString()));
    sock.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: a2V5\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await closed;
    expect(out).toMatch(/^HTTP\/1.1 404/);
    expect(out).toContain('GW_ERR_ROUTE_NOT_FOUND');
    await other.close();
  });

  it('streams server-sent events without buffering', async () => {
    const first = await new Promise<{ chunk: string; rest: Promise<string> }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/sse', agent: false }, (res) => {
        res.setEncoding('utf8');
        let all = '';
        const rest = new Promise<string>((r) => res.on('end', () => r(all)));
        res.once('data', (c: string) => {
          all += c;
          res.on('data', (d: string) => (all += d));
          resolve({ chunk: c, rest });
        });
      });
      req.on('error', reject);
      req.end();
    });
    // The upstream has not ended the stream yet: the event arrived on its own.
    expect(first.chunk).toBe('data: first\n\n');
    releaseSse();
    expect(await first.rest).toBe('data: first\n\ndata: last\n\n');
  });

  it('streams a 200 MB upload and a 200 MB download with little memory', async () => {
    // Collect garbage while sampling, so the measure is what the transfer keeps alive (buffered data),
    // not how lazily V8 frees the chunks it already forwarded.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sample = setInterval(() => {
      gc();
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const uploaded = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/upload', method: 'POST', agent: false, headers: { 'content-length': String(200 * MB) } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 2);
      let left = 200 * MB;
      const pump = () => {
        while (left > 0) {
          left -= chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(uploaded).toBe(String(200 * MB));
    const peakUpload = peak - rss0;
    const downloaded = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/download', agent: false }, (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => (n += d.length));
        res.on('end', () => resolve(n));
      });
      req.on('error', reject);
      req.end();
    });
    clearInterval(sample);
    expect(downloaded).toBe(200 * MB);
    console.log(`rss growth: upload ${(peakUpload / MB).toFixed(1)} MB, overall ${((peak - rss0) / MB).toFixed(1)} MB`);
    expect(peak - rss0).toBeLessThan(80 * MB);
  }, 60_000);
});

describe('ProxyServer: snapshot swap', () => {
  it('finishes in-flight requests on the old snapshot and routes new ones with the new config', async () => {
    let releaseSlow: () => void = () => {};
    const v1 = await startUpstream((req, res) => {
      if (req.url === '/slow') {
        res.writeHead(200);
        res.write('v1-');
        releaseSlow = () => res.end('done');
        return;
      }
      res.end('v1');
    });
    const v2 = await startUpstream((_req, res) => res.end('v2'));
    const gw = await startGateway({ services: [{ name: 's', url: `http://${v1.address}` }], routes: [{ name: 'r', service: 's', paths: ['/'], strip_path: false }] });
    const old = gw.proxy.snapshot;
    const slow = new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/slow', agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
          if (body === 'v1-') started();
        });
        res.on('end', () => resolve(body));
      });
      req.end();
    });
    let started: () => void = () => {};
    await new Promise<void>((r) => (started = r));
    gw.apply({ services: [{ name: 's', url: `http://${v2.address}` }], routes: [{ name: 'r', service: 's', paths: ['/'], strip_path: false }] });
    expect((await send(gw.port, '/fresh')).body).toBe('v2');
    expect(old.inFlight).toBe(1);
    expect(gw.pools.size).toBe(2);
    releaseSlow();
    expect(await slow).toBe('v1-done');
    await new Promise((r) => setTimeout(r, 50));
    expect(old.inFlight).toBe(0);
    // The retired snapshot released its pool once its last request ended.
    expect(gw.pools.size).toBe(1);
    await gw.close();
    await v1.close();
    await v2.close();
  });
});
