import { connect, createServer, type ClientHttp2Session, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, deadPort, MemoryLogger } from './test-support/harness.js';
import { grpcMessageOf, grpcStatusOf, isGrpcContentType, takeGrpcStatus } from './grpc.js';
import { ProxyServer } from './proxy-server.js';
import { PoolRegistry } from './upstream-pool.js';

describe('grpc helpers', () => {
  it('recognises gRPC content types, not gRPC-Web or look-alikes', () => {
    for (const v of ['application/grpc', 'application/grpc+proto', 'Application/GRPC+json', 'application/grpc; charset=utf-8']) expect(isGrpcContentType(v)).toBe(true);
    for (const v of ['application/grpc-web', 'application/grpc-web+proto', 'application/grpcx', 'application/json', 'text/grpc']) expect(isGrpcContentType(v)).toBe(false);
  });

  it('maps the gateway answers to gRPC statuses', () => {
    expect(grpcStatusOf(401)).toBe(16);
    expect(grpcStatusOf(403)).toBe(7);
    expect(grpcStatusOf(404)).toBe(12);
    expect(grpcStatusOf(429)).toBe(8);
    expect(grpcStatusOf(502)).toBe(14);
    expect(grpcStatusOf(503)).toBe(14);
    expect(grpcStatusOf(504)).toBe(4);
    expect(grpcStatusOf(500)).toBe(13);
    expect(grpcStatusOf(418)).toBe(2);
  });

  it('prefixes the error code and percent-encodes only what grpc-message must not hold', () => {
    expect(grpcMessageOf('GW_ERR_RATE_LIMITED', 'slow down, 100% sure')).toBe('GW_ERR_RATE_LIMITED: slow down, 100%25 sure');
    expect(grpcMessageOf(undefined, 'naïve\nline')).toBe('na%C3%AFve%0Aline');
    expect(grpcMessageOf('GW_ERR_AUTH_MISSING', 'GW_ERR_AUTH_MISSING: x')).toBe('GW_ERR_AUTH_MISSING: x');
  });

  it('moves the status fields of a trailers-only head out of it', () => {
    const h: IncomingHttpHeaders = { 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'nope', 'x-other': '1' };
    expect(takeGrpcStatus(h)).toEqual({ 'grpc-status': '5', 'grpc-message': 'nope' });
    expect(h).toEqual({ 'content-type': 'application/grpc', 'x-other': '1' });
  });
});

interface Answer {
  headers: IncomingHttpHeaders;
  /** Whether the head ended the stream (a trailers-only answer). */
  headEnded: boolean;
  trailers: IncomingHttpHeaders | undefined;
  body: Buffer;
  chunksAt: number[];
}

function call(session: ClientHttp2Session, path: string, body: Buffer, extra: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    const a: Answer = { headers: {}, headEnded: false, trailers: undefined, body: Buffer.alloc(0), chunksAt: [] };
    s.on('response', (h, flags) => {
      a.headers = h;
      a.headEnded = (flags & 1) === 1;
    });
    s.on('trailers', (t) => (a.trailers = t));
    s.on('data', (c: Buffer) => {
      a.body = Buffer.concat([a.body, c]);
      a.chunksAt.push(Date.now());
    });
    s.on('close', () => resolve(a));
    s.on('error', reject);
    s.end(body);
  });
}

/** A gRPC-framed message: flag byte, 4-byte length, payload. */
const frame = (payload: string) => {
  const p = Buffer.from(payload);
  const b = Buffer.alloc(5 + p.length);
  b.writeUInt32BE(p.length, 1);
  p.copy(b, 5);
  return b;
};

describe('ProxyServer: gRPC over h2c to an h2c upstream', () => {
  let upstream: Http2Server;
  let proxy: ProxyServer;
  let client: ClientHttp2Session;
  let seen: IncomingHttpHeaders | undefined;
  let seenBody: Buffer | undefined;

  beforeAll(async () => {
    // A stand-in gRPC server: node:http2, speaking only HTTP/2 in clear text (as grpc-go/grpc-js servers do).
    upstream = createServer();
    upstream.on('stream', (stream: ServerHttp2Stream, headers) => {
      seen = headers;
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => {
        seenBody = Buffer.concat(parts);
        const path = headers[':path'];
        if (path === '/demo.Echo/TrailersOnly') {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'no%20such%20thing' }, { endStream: true });
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-cost': '3' }));
        if (path === '/demo.Echo/Stream') {
          let i = 0;
          const t = setInterval(() => {
            stream.write(frame(`m${i}`));
            if (++i === 3) {
              clearInterval(t);
              stream.end();
            }
          }, 30);
          return;
        }
        stream.end(seenBody);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upPort = (upstream.address() as { port: number }).port;
    const logger = new MemoryLogger();
    proxy = new ProxyServer({ trustedProxies: [], logger, h2c: { host: '127.0.0.1', port: 0 } });
    proxy.swap(
      compile(
        {
          services: [
            { name: 'echo', protocol: 'grpc', host: '127.0.0.1', port: upPort },
            { name: 'down', protocol: 'grpc', host: '127.0.0.1', port: await deadPort() },
          ],
          routes: [
            { name: 'echo', service: 'echo', paths: ['/demo.Echo/'], strip_path: false },
            { name: 'down', service: 'down', paths: ['/demo.Down/'], strip_path: false },
          ],
        },
        logger,
        new PoolRegistry(),
      ),
    );
    await proxy.listen('127.0.0.1', 0);
    client = connect(`http://127.0.0.1:${proxy.h2cAddress()!.port}`);
  });

  afterAll(async () => {
    client?.close();
    await proxy?.close(200);
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  it('sends te: trailers and the body over HTTP/2 and passes the trailers back', async () => {
    const a = await call(client, '/demo.Echo/Say', frame('hello'));
    expect(seen?.te).toBe('trailers');
    expect(seen?.['content-type']).toBe('application/grpc');
    expect(seenBody).toEqual(frame('hello'));
    expect(a.headers[':status']).toBe(200);
    expect(a.body).toEqual(frame('hello'));
    expect(a.trailers?.['grpc-status']).toBe('0');
    expect(a.trailers?.['x-cost']).toBe('3');
  });

  it('streams server messages as they come', async () => {
    const a = await call(client, '/demo.Echo/Stream', Buffer.alloc(0));
    expect(a.body).toEqual(Buffer.concat([frame('m0'), frame('m1'), frame('m2')]));
    expect(a.chunksAt.length).toBeGreaterThanOrEqual(2);
    expect(a.chunksAt.at(-1)! - a.chunksAt[0]!).toBeGreaterThanOrEqual(30);
    expect(a.trailers?.['grpc-status']).toBe('0');
  });

  it("re-sends an upstream's trailers-only status as trailers", async () => {
    const a = await call(client, '/demo.Echo/TrailersOnly', frame('x'));
    expect(a.headers['grpc-status']).toBeUndefined();
    expect(a.trailers?.['grpc-status']).toBe('5');
    expect(a.trailers?.['grpc-message']).toBe('no%20such%20thing');
  });

  it('answers a dead upstream with a trailers-only UNAVAILABLE', async () => {
    const a = await call(client, '/demo.Down/Say', frame('x'));
    expect(a.headEnded).toBe(true);
    expect(a.headers[':status']).toBe(200);
    expect(a.headers['content-type']).toBe('application/grpc');
    expect(a.headers['grpc-status']).toBe('14');
    expect(decodeURIComponent(String(a.headers['grpc-message']))).toMatch(/^GW_ERR_UPSTREAM_UNAVAILABLE: /);
  });

  it('answers an unknown method (no route) with UNIMPLEMENTED', async () => {
    const a = await call(client, '/demo.Nothing/Say', frame('x'));
    expect(a.headers['grpc-status']).toBe('12');
  });

  it('leaves non-gRPC requests with problem+json', async () => {
    const a = await call(client, '/demo.Down/Say', Buffer.from('{}'), { 'content-type': 'application/json' });
    expect(a.headers[':status']).toBe(502);
    expect(a.headers['content-type']).toBe('application/problem+json');
  });
});
