import { request, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { brotliDecompressSync, gunzipSync, gzipSync, createGunzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import type { BodySink } from '../types.js';
import plugin, { CompressFilter, Compression, Encoding, MediaTypes, negotiate } from './plugin.js';

const BR_GZIP = [Encoding.Br, Encoding.Gzip];
const deps = { logger: console, scope: 'global' as const, route: undefined };

/** Text that compresses (repeated words) but not to nothing (a counter in every line). */
function text(size: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  let len = 0;
  while (len < size) {
    const l = `{"id":${n++},"name":"item ${(n * 7919) % 10007}","tags":["alpha","beta"]}\n`;
    lines.push(l);
    len += l.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function decode(r: RawReply): Buffer {
  const ce = r.headers['content-encoding'];
  if (ce === 'gzip') return gunzipSync(r.body);
  if (ce === 'br') return brotliDecompressSync(r.body);
  return r.body;
}

const BIG = 8 * 1024 * 1024;

describe('compression: negotiation', () => {
  it('prefers br on equal q, honours q-values, x-gzip and *', () => {
    expect(negotiate('gzip, deflate, br, zstd', BR_GZIP)).toBe(Encoding.Br);
    expect(negotiate('gzip', BR_GZIP)).toBe(Encoding.Gzip);
    expect(negotiate('x-gzip', BR_GZIP)).toBe(Encoding.Gzip);
    expect(negotiate('br;q=0.5, gzip;q=0.8', BR_GZIP)).toBe(Encoding.Gzip);
    expect(negotiate('br;q=1.0, gzip;q=0.999', BR_GZIP)).toBe(Encoding.Br);
    expect(negotiate('GZIP ; Q=0.3 , BR;q=0.2', BR_GZIP)).toBe(Encoding.Gzip);
    expect(negotiate('*', BR_GZIP)).toBe(Encoding.Br);
    expect(negotiate('*;q=0.5, br;q=0', BR_GZIP)).toBe(Encoding.Gzip);
    expect(negotiate('gzip', [Encoding.Gzip, Encoding.Br])).toBe(Encoding.Gzip);
    expect(negotiate('br, gzip', [Encoding.Gzip, Encoding.Br])).toBe(Encoding.Gzip);
    expect(negotiate('br', [Encoding.Gzip])).toBe(Encoding.None);
  });

  it('none, identity and refusals', () => {
    expect(negotiate(undefined, BR_GZIP)).toBe(Encoding.None);
    expect(negotiate('', BR_GZIP)).toBe(Encoding.None);
    expect(negotiate('identity', BR_GZIP)).toBe(Encoding.None);
    expect(negotiate('deflate', BR_GZIP)).toBe(Encoding.None);
    expect(negotiate('br;q=0, gzip;q=0', BR_GZIP)).toBe(Encoding.None);
    expect(negotiate('*;q=0', BR_GZIP)).toBe(Encoding.None);
    // The client prefers identity over gzip.
    expect(negotiate('gzip;q=0.5, identity', BR_GZIP)).toBe(Encoding.None);
    // identity refused: compress whatever is acceptable.
    expect(negotiate('identity;q=0, gzip', BR_GZIP)).toBe(Encoding.Gzip);
    expect(negotiate('gzip;q=2', BR_GZIP)).toBe(Encoding.None);
    expect(negotiate('gzip;q=0.1234', BR_GZIP)).toBe(Encoding.None);
  });

  it('media types: exact, type/*, +suffix; event streams never', () => {
    const t = new MediaTypes(['text/*', 'application/json', '*/*+json']);
    expect(t.has('text/html; charset=utf-8')).toBe(true);
    expect(t.has('Application/JSON')).toBe(true);
    expect(t.has('application/problem+json')).toBe(true);
    expect(t.has('image/png')).toBe(false);
    expect(t.has('application/octet-stream')).toBe(false);
    expect(t.has('text/event-stream')).toBe(false);
    expect(() => new MediaTypes(['*/*'])).toThrow();
  });
});

describe('compression: filter lifecycle', () => {
  it('abort destroys the zlib stream and writes nothing more', async () => {
    const got: Buffer[] = [];
    let ended = false;
    const sink: BodySink = { write: (c) => got.push(c), end: () => (ended = true), destroy: () => {}, pause: () => {}, resume: () => {} };
    const c = plugin.create(
      { encodings: ['gzip'], types: ['text/*'], min_length: 0, gzip_level: 6, brotli_quality: 4 },
      deps,
    ) as Compression;
    const f = new CompressFilter(c, Encoding.Gzip);
    const headers = { 'content-type': 'text/plain', 'content-length': '10', etag: '"abc"', 'accept-ranges': 'bytes' };
    expect(f.start(200, headers, sink)).toBe(true);
    expect(headers).toEqual({ 'content-type': 'text/plain', 'content-encoding': 'gzip', etag: 'W/"abc"' });
    f.data(text(100_000));
    const z = f.stream!;
    f.abort();
    expect(z.destroyed).toBe(true);
    expect(f.stream).toBeUndefined();
    const before = got.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(got.length).toBe(before);
    expect(ended).toBe(false);
  });
});

describe('compression: backpressure', () => {
  it('pauses the upstream while zlib is behind and resumes it when zlib drains', async () => {
    let paused = 0;
    let resumed = 0;
    let ended = false;
    const out: Buffer[] = [];
    const sink: BodySink = { write: (c) => void out.push(c), end: () => void (ended = true), destroy: () => {}, pause: () => void paused++, resume: () => void resumed++ };
    const c = plugin.create({ encodings: ['gzip'], types: ['text/*'], min_length: 0, gzip_level: 6, brotli_quality: 4 }, deps) as Compression;
    const f = new CompressFilter(c, Encoding.Gzip);
    expect(f.start(200, { 'content-type': 'text/plain' }, sink)).toBe(true);
    // A fast upstream: 4 MiB handed over in one go, faster than zlib can take it.
    for (let i = 0; i < 64; i++) f.data(text(64 * 1024));
    expect(paused).toBeGreaterThan(0);
    const until = (cond: () => boolean) =>
      new Promise<void>((r) => {
        const t = setInterval(() => {
          if (cond()) {
            clearInterval(t);
            r();
          }
        }, 5);
      });
    // The proxy would send nothing more until resumed, and the end only after the rest of the body.
    await until(() => resumed > 0);
    f.end();
    await until(() => ended);
    expect(gunzipSync(Buffer.concat(out)).length).toBe(64 * 64 * 1024);
  });
});

describe('compression through the proxy', () => {
  let up: Upstream;
  let gw: Gateway;
  const closed: string[] = [];
  const json = text(50_000);

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      const path = req.url!.split('?')[0]!;
      res.on('close', () => {
        if (!res.writableFinished) closed.push(path);
      });
      switch (path) {
        case '/c/json':
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': json.length, etag: '"v1"', vary: 'Accept-Language' });
          return void res.end(json);
        case '/c/small':
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': 100 });
          return void res.end(json.subarray(0, 100));
        case '/c/encoded': {
          const gz = gzipSync(json);
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': gz.length });
          return void res.end(gz);
        }
        case '/c/png':
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': json.length });
          return void res.end(json);
        case '/c/notransform':
          res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, no-transform' });
          return void res.end(json);
        case '/c/304':
          res.writeHead(304, { etag: '"v1"' });
          return void res.end();
        case '/c/big':
          return bigBody(res, BIG);
        case '/c/stream':
          // First line now, the rest only after the test saw it: proves per-chunk flushing.
          res.writeHead(200, { 'content-type': 'application/x-ndjson-text', 'content-type-note': 'x' });
          res.write('{"first":true}\n');
          streamWaiters.push(() => res.end('{"last":true}\n'));
          return;
        case '/c/endless':
          return endless(res);
        default:
          res.writeHead(200, { 'content-type': 'text/plain' });
          return void res.end(json);
      }
    });
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [
        { name: 'c', service: 's', paths: ['/c'], strip_path: false },
        { name: 'gz', service: 's', paths: ['/gz'], strip_path: false },
      ],
      plugins: [
        { name: 'compression', route: 'c', config: { types: ['text/*', 'application/json', 'application/x-ndjson-text'] } },
        { name: 'compression', route: 'gz', config: { encodings: ['gzip'], gzip_level: 1 } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  const streamWaiters: (() => void)[] = [];

  function bigBody(res: ServerResponse, size: number): void {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = text(64 * 1024);
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  }

  function endless(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = text(16 * 1024);
    const timer = setInterval(() => res.write(chunk), 5);
    res.on('close', () => clearInterval(timer));
  }

  it('gzip round trip: headers set, body decompresses to the upstream body', async () => {
    const r = await get(gw.port, '/c/json', { 'accept-encoding': 'gzip' });
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.headers['content-length']).toBeUndefined();
    expect(r.headers.vary).toBe('Accept-Language, Accept-Encoding');
    expect(r.headers.etag).toBe('W/"v1"');
    expect(r.body.length).toBeLessThan(json.length / 3);
    expect(decode(r).equals(json)).toBe(true);
  });

  it('brotli round trip, preferred when the client accepts both equally', async () => {
    const r = await get(gw.port, '/c/json', { 'accept-encoding': 'gzip, deflate, br' });
    expect(r.headers['content-encoding']).toBe('br');
    expect(decode(r).equals(json)).toBe(true);
  });

  it('q-values decide; encodings restricts the offer', async () => {
    expect((await get(gw.port, '/c/json', { 'accept-encoding': 'br;q=0.2, gzip;q=0.9' })).headers['content-encoding']).toBe('gzip');
    const r = await get(gw.port, '/gz/json', { 'accept-encoding': 'br' });
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.body.equals(json)).toBe(true);
    expect(r.headers.vary).toBe('Accept-Encoding');
  });

  it('no Accept-Encoding: identity body, but Vary: Accept-Encoding for caches', async () => {
    const r = await get(gw.port, '/c/json');
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.headers['content-length']).toBe(String(json.length));
    expect(r.headers.etag).toBe('"v1"');
    expect(r.headers.vary).toBe('Accept-Language, Accept-Encoding');
    expect(r.body.equals(json)).toBe(true);
  });

  it('skips: small body, already encoded, non-compressible type, no-transform, HEAD, 304', async () => {
    const ae = { 'accept-encoding': 'gzip, br' };
    const small = await get(gw.port, '/c/small', ae);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.body.length).toBe(100);

    const enc = await get(gw.port, '/c/encoded', ae);
    expect(enc.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(enc.body).equals(json)).toBe(true);
    expect(enc.headers.vary).toBeUndefined();

    const png = await get(gw.port, '/c/png', ae);
    expect(png.headers['content-encoding']).toBeUndefined();
    expect(png.body.equals(json)).toBe(true);
    expect(png.headers.vary).toBeUndefined();

    const nt = await get(gw.port, '/c/notransform', ae);
    expect(nt.headers['content-encoding']).toBeUndefined();
    expect(nt.body.equals(json)).toBe(true);

    const head = await get(gw.port, '/c/json', ae, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-encoding']).toBeUndefined();
    expect(head.headers.vary).toBe('Accept-Language, Accept-Encoding');
    expect(head.body.length).toBe(0);

    const nm = await get(gw.port, '/c/304', ae);
    expect(nm.status).toBe(304);
    expect(nm.headers['content-encoding']).toBeUndefined();
  });

  it('compresses a chunked multi-MB body as a stream of chunks', async () => {
    let compressed = 0;
    let chunks = 0;
    let plain = 0;
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/c/big', headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
        expect(res.headers['content-encoding']).toBe('gzip');
        expect(res.headers['transfer-encoding']).toBe('chunked');
        const gunzip = createGunzip();
        res.on('data', (c: Buffer) => {
          chunks++;
          compressed += c.length;
        });
        res.pipe(gunzip);
        gunzip.on('data', (c: Buffer) => (plain += c.length));
        gunzip.on('end', resolve);
        gunzip.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(plain).toBe(BIG);
    expect(compressed).toBeLessThan(BIG / 3);
    // Output leaves as zlib produces it, not as one buffer at the end.
    expect(chunks).toBeGreaterThan(20);
  });

  it('flushes per upstream chunk: a streamed first line arrives before the upstream ends', async () => {
    const first = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/c/stream', headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
        expect(res.headers['content-encoding']).toBe('gzip');
        const gunzip = createGunzip();
        res.pipe(gunzip);
        let out = '';
        gunzip.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n') && streamWaiters.length > 0) {
            streamWaiters.shift()!();
            resolve(out);
          }
        });
        gunzip.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(first).toBe('{"first":true}\n');
  });

  it('a client abort mid-stream tears the response down and releases the upstream', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/c/endless', headers: { 'accept-encoding': 'br' }, agent: false }, (res) => {
        expect(res.headers['content-encoding']).toBe('br');
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 1000) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
      req.end();
    });
    for (let i = 0; i < 100 && !closed.includes('/c/endless'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed).toContain('/c/endless');
  });
});
