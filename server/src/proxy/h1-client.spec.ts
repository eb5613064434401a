// The gateway's HTTP/1.1 client against raw TCP upstreams: each answer is written byte for byte, so framing,
// reuse and refusal are tested on what real (and broken) servers send, not on what node:http would produce.
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Http1Pool } from './h1-client.js';

interface Upstream {
  server: Server;
  port: number;
  /** Raw requests received, in order, with the index of the connection they came on. */
  requests: { conn: number; text: string }[];
  connections: number;
}

/** A TCP server; `answer` gets each complete request head (and body when it has Content-Length or chunked). */
async function upstream(answer: (sock: Socket, req: string, n: number) => void): Promise<Upstream> {
  const up: Upstream = { server: undefined as unknown as Server, port: 0, requests: [], connections: 0 };
  up.server = createServer((sock) => {
    const conn = up.connections++;
    sock.on('error', () => undefined);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.slice(0, end + 4);
        let total = end + 4;
        const cl = /\r\ncontent-length: (\d+)/i.exec(head);
        if (cl) total += Number(cl[1]);
        else if (/\r\ntransfer-encoding: chunked/i.test(head)) {
          const last = buf.indexOf('\r\n0\r\n\r\n', end);
          if (last === -1) return;
          total = last + 7;
        }
        if (buf.length < total) return;
        const text = buf.slice(0, total);
        buf = buf.slice(total);
        up.requests.push({ conn, text });
        answer(sock, text, up.requests.length - 1);
      }
    });
  });
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  up.port = (up.server.address() as { port: number }).port;
  return up;
}

interface Result {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  trailers: Record<string, string | string[] | undefined>;
  interim: number[];
}

class Collect implements Dispatcher.DispatchHandler {
  r: Result = { status: 0, headers: {}, body: '', trailers: {}, interim: [] };
  controller: Dispatcher.DispatchController | undefined;
  promise: Promise<Result>;
  private resolve!: (r: Result) => void;
  private reject!: (e: Error) => void;
  constructor(private readonly hooks: { onHead?: (c: Dispatcher.DispatchController) => void; onData?: (c: Dispatcher.DispatchController) => void } = {}) {
    this.promise = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // Refusals arrive inside dispatch(), before the test can attach its handler.
    this.promise.catch(() => undefined);
  }
  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
  }
  onResponseStart(c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (status < 200) {
      this.r.interim.push(status);
      return;
    }
    this.r.status = status;
    this.r.headers = headers;
    this.hooks.onHead?.(c);
  }
  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.r.body += chunk.toString('latin1');
    this.hooks.onData?.(c);
  }
  onResponseEnd(_c: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    this.r.trailers = { ...trailers };
    this.resolve(this.r);
  }
  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.reject(err);
  }
}

const pools: Http1Pool[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
  for (const s of servers.splice(0)) s.close();
});

function pool(up: Upstream, o: Partial<{ connections: number; keepAliveTimeout: number; connectTimeout: number }> = {}): Http1Pool {
  const p = new Http1Pool({ host: '127.0.0.1', port: up.port, connections: 8, keepAliveTimeout: 10_000, connectTimeout: 2_000, ...o });
  pools.push(p);
  servers.push(up.server);
  return p;
}

function call(p: Http1Pool, opts: Partial<Dispatcher.DispatchOptions> = {}, hooks: ConstructorParameters<typeof Collect>[0] = {}): Collect {
  const h = new Collect(hooks);
  p.dispatch({ method: 'GET', path: '/', headers: ['host', 'example.test'], ...opts } as Dispatcher.DispatchOptions, h);
  return h;
}

const failure = (h: Collect): Promise<string> => h.promise.then(
  () => 'no error',
  (e: Error & { code?: string }) => e.code ?? e.message,
);

const OK = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

describe('Http1Pool', () => {
  it('writes the request as given and reuses one keep-alive socket for requests in sequence', async () => {
    const up = await upstream((s) => s.write(OK('hi')));
    const p = pool(up);
    const a = await call(p, { path: '/a?x=1', headers: ['host', 'svc.test', 'x-one', '1'] }).promise;
    const b = await call(p, { path: '/b' }).promise;
    expect([a.status, a.body, b.body]).toEqual([200, 'hi', 'hi']);
    expect(up.requests[0]!.text).toBe('GET /a?x=1 HTTP/1.1\r\nhost: svc.test\r\nx-one: 1\r\n\r\n');
    expect(up.requests.map((r) => r.conn)).toEqual([0, 0]);
  });

  it('sends the origin as Host when none or an empty one is given', async () => {
    const up = await upstream((s) => s.write(OK('')));
    const p = pool(up);
    await call(p, { headers: ['host', ''] }).promise;
    await call(p, { headers: [] }).promise;
    expect(up.requests[0]!.text).toContain(`\r\nhost: 127.0.0.1:${up.port}\r\n`);
    expect(up.requests[1]!.text).toBe(`GET / HTTP/1.1\r\nhost: 127.0.0.1:${up.port}\r\n\r\n`);
  });

  it('decodes a chunked body split across writes, with its trailers', async () => {
    const up = await upstream((s) => {
      const parts = ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', 'lo\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 42\r\n', '\r\n'];
      parts.forEach((p, i) => setTimeout(() => s.write(p), i * 5));
    });
    const p = pool(up);
    const r = await call(p).promise;
    expect(r.body).toBe('hello world');
    expect(r.trailers).toEqual({ 'x-sum': '42' });
    await call(p).promise;
    expect(up.requests.map((x) => x.conn)).toEqual([0, 0]);
  });

  it('parses a head sent one byte at a time', async () => {
    const up = await upstream((s) => {
      const bytes = OK('abc', 'X-Slow: yes\r\n');
      let i = 0;
      const t = setInterval(() => {
        s.write(bytes[i++]!);
        if (i === bytes.length) clearInterval(t);
      }, 1);
    });
    const r = await call(pool(up)).promise;
    expect([r.status, r.headers['x-slow'], r.body]).toEqual([200, 'yes', 'abc']);
  });

  it('reads a body without length until the upstream closes, and does not reuse that socket', async () => {
    const up = await upstream((s) => s.end('HTTP/1.1 200 OK\r\n\r\nuntil close'));
    const p = pool(up);
    expect((await call(p).promise).body).toBe('until close');
    expect((await call(p).promise).body).toBe('until close');
    expect(up.requests.map((x) => x.conn)).toEqual([0, 1]);
  });

  it('expects no body after HEAD, 204 and 304 whatever Content-Length says', async () => {
    const up = await upstream((s, req) => {
      if (req.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n');
      else if (req.includes(' /204 ')) s.write('HTTP/1.1 204 No Content\r\n\r\n');
      else s.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n');
    });
    const p = pool(up);
    const head = await call(p, { method: 'HEAD' }).promise;
    expect([head.status, head.headers['content-length'], head.body]).toEqual([200, '5', '']);
    expect((await call(p, { path: '/204' }).promise).status).toBe(204);
    expect((await call(p, { path: '/304' }).promise).status).toBe(304);
    expect(new Set(up.requests.map((x) => x.conn)).size).toBe(1);
  });

  it('reports 1xx answers as interim and relays the final one', async () => {
    const up = await upstream((s) => s.write('HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n' + OK('final')));
    const r = await call(pool(up)).promise;
    expect([r.interim, r.status, r.body]).toEqual([[102, 103], 200, 'final']);
  });

  it('never reads bytes after a complete answer as the next request\'s answer (response smuggling)', async () => {
    const up = await upstream((s, _req, n) => s.write(n === 0 ? OK('first') + OK('smuggled') : OK('second')));
    const p = pool(up);
    expect((await call(p).promise).body).toBe('first');
    await new Promise((r) => setTimeout(r, 20));
    expect((await call(p).promise).body).toBe('second');
    expect(up.requests.map((x) => x.conn)).toEqual([0, 1]);
  });

  it.each([
    ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['conflicting Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['a repeated Content-Length, even the same', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['an unsolicited 100 Continue', 'HTTP/1.1 100 Continue\r\n\r\n' + 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'UND_ERR_INFO'],
    ['a non-numeric Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a control character in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a non-HTTP status line', 'SMTP 220 hello\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['a short status code', 'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['a short status code ending the head', 'HTTP/1.1 20\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['junk after a chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 zz\r\nabc\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['eleven interim answers', 'HTTP/1.1 103 Early Hints\r\n\r\n'.repeat(11) + 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'UND_ERR_INFO'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['chunk data without its CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n', 'HPE_STRICT'],
    ['a head over 16 KiB', `HTTP/1.1 200 OK\r\n${'X-Big: ' + 'a'.repeat(17_000)}\r\nContent-Length: 0\r\n\r\n`, 'UND_ERR_HEADERS_OVERFLOW'],
    ['101 to a request that asked for no upgrade', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', 'UND_ERR_INFO'],
  ])('refuses %s', async (_name, answer, code) => {
    const up = await upstream((s) => s.write(answer));
    expect(await failure(call(pool(up)))).toBe(code);
  });

  it('refuses to send a header value or path that could split the request, and sends nothing', async () => {
    const up = await upstream((s) => s.write(OK('')));
    const p = pool(up);
    expect(await failure(call(p, { headers: ['x-a', 'v\r\nx-injected: 1'] }))).toBe('UND_ERR_INVALID_ARG');
    expect(await failure(call(p, { headers: ['bad name', 'v'] }))).toBe('UND_ERR_INVALID_ARG');
    expect(await failure(call(p, { path: '/a b' }))).toBe('UND_ERR_INVALID_ARG');
    expect(await failure(call(p, { headers: ['transfer-encoding', 'chunked'] }))).toBe('UND_ERR_INVALID_ARG');
    expect(await failure(call(p, { body: Buffer.from('abc'), headers: ['content-length', '5'] }))).toBe('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
    expect(await failure(call(p, { body: null, headers: ['content-length', '5'] }))).toBe('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
    expect(await failure(call(p, { body: Buffer.from('abc'), headers: ['content-length', '3', 'Content-Length', '3'] }))).toBe('UND_ERR_INVALID_ARG');
    expect(up.requests).toHaveLength(0);
  });

  it('sends a Buffer body with its length, and Content-Length: 0 for a POST without one', async () => {
    const up = await upstream((s) => s.write(OK('')));
    const p = pool(up);
    await call(p, { method: 'POST', body: Buffer.from('hello') }).promise;
    await call(p, { method: 'POST', body: null }).promise;
    expect(up.requests[0]!.text).toBe('POST / HTTP/1.1\r\nhost: example.test\r\ncontent-length: 5\r\n\r\nhello');
    expect(up.requests[1]!.text).toBe('POST / HTTP/1.1\r\nhost: example.test\r\ncontent-length: 0\r\n\r\n');
  });

  it('streams a body chunked when its length is unknown, and as is when Content-Length is given', async () => {
    const up = await upstream((s) => s.write(OK('')));
    const p = pool(up);
    const sent: number[] = [];
    const h = new Collect();
    const origBodySent = (h as Dispatcher.DispatchHandler).onBodySent;
    (h as Dispatcher.DispatchHandler).onBodySent = (chunk: Buffer) => {
      sent.push(chunk.length);
      origBodySent?.call(h, chunk);
    };
    p.dispatch({ method: 'PUT', path: '/', headers: ['host', 'h'], body: Readable.from([Buffer.from('abc'), Buffer.from('defgh')]) }, h);
    await h.promise;
    await call(p, { method: 'PUT', headers: ['host', 'h', 'content-length', '4'], body: Readable.from([Buffer.from('wxyz')]) }).promise;
    expect(up.requests[0]!.text).toBe('PUT / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n');
    expect(up.requests[1]!.text).toBe('PUT / HTTP/1.1\r\nhost: h\r\ncontent-length: 4\r\n\r\nwxyz');
    expect(sent).toEqual([3, 5]);
  });

  it('gives undici\'s codes to timeouts, refusals and premature closes', async () => {
    const silent = await upstream(() => undefined);
    expect(await failure(call(pool(silent), { headersTimeout: 100 }))).toBe('UND_ERR_HEADERS_TIMEOUT');
    const stalls = await upstream((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(await failure(call(pool(stalls), { headersTimeout: 100, bodyTimeout: 100 }))).toBe('UND_ERR_BODY_TIMEOUT');
    const cut = await upstream((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(await failure(call(pool(cut)))).toBe('UND_ERR_SOCKET');
    const closes = await upstream((s) => s.destroy());
    expect(await failure(call(pool(closes)))).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
    const gone = await upstream(() => undefined);
    await new Promise<void>((r) => gone.server.close(() => r()));
    expect(await failure(call(pool(gone)))).toBe('ECONNREFUSED');
  });

  it('holds the answer while paused, then delivers the rest and its end even after the upstream closed', async () => {
    const up = await upstream((s, _req, n) => (n === 0 ? s.end(OK('0123456789')) : s.end('HTTP/1.1 200 OK\r\n\r\nclose-delimited')));
    const p = pool(up);
    for (let i = 0; i < 2; i++) {
      let paused: Dispatcher.DispatchController | undefined;
      const h = call(p, {}, { onHead: (c) => { c.pause(); paused = c; } });
      await new Promise((r) => setTimeout(r, 50));
      expect(h.r.body).toBe('');
      paused!.resume();
      expect((await h.promise).body).toBe(i === 0 ? '0123456789' : 'close-delimited');
    }
  });

  it('holds the end of a complete answer while its handler is paused at the head (an async response plugin)', async () => {
    const up = await upstream((s, req) => s.write(req.includes(' /204 ') ? 'HTTP/1.1 204 No Content\r\n\r\n' : OK('')));
    const p = pool(up);
    for (const path of ['/204', '/empty']) {
      let paused: Dispatcher.DispatchController | undefined;
      let ended = false;
      const h = call(p, { path }, { onHead: (c) => { c.pause(); paused = c; } });
      void h.promise.then(() => (ended = true));
      await new Promise((r) => setTimeout(r, 30));
      expect(ended).toBe(false);
      paused!.resume();
      await h.promise;
    }
    expect(up.requests.map((x) => x.conn)).toEqual([0, 0]);
  });

  it('fails a stream body longer or shorter than its Content-Length, and lets go of a body the answer came before', async () => {
    const up = await upstream((s) => s.write(OK('')));
    const p = pool(up);
    const long = Readable.from([Buffer.from('abcdef')]);
    expect(await failure(call(p, { method: 'PUT', headers: ['host', 'h', 'content-length', '4'], body: long }))).toBe('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
    const short = Readable.from([Buffer.from('ab')]);
    expect(await failure(call(p, { method: 'PUT', headers: ['host', 'h', 'content-length', '4'], body: short }))).toBe('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
    // An upstream that refuses at once (413) while the client is still uploading.
    const early = await upstream(() => undefined);
    early.server.removeAllListeners('connection');
    early.server.on('connection', (sock) => sock.once('data', () => sock.end('HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n')));
    const body = new Readable({ read() {} });
    body.push(Buffer.from('first'));
    const r = await call(pool(early), { method: 'PUT', headers: ['host', 'h'], body }).promise;
    expect(r.status).toBe(413);
    expect(body.listenerCount('data')).toBe(0);
    expect(body.isPaused()).toBe(false);
    body.push(null);
  });

  it('turns a handler\'s exception into that request\'s error instead of crashing, and closes the socket', async () => {
    const up = await upstream((s) => s.write(OK('x')));
    const p = pool(up);
    const boom = new Error('handler bug');
    const h = call(p, {}, { onHead: () => { throw boom; } });
    await expect(h.promise).rejects.toBe(boom);
    await new Promise((r) => setTimeout(r, 20));
    expect(p.stats.connected).toBe(0);
  });

  it('does not time out a paused handler: it waits for its client, not for the upstream', async () => {
    const up = await upstream((s) => s.write(OK('0123456789')));
    const p = pool(up);
    let paused: Dispatcher.DispatchController | undefined;
    const h = call(p, { headersTimeout: 200, bodyTimeout: 200 }, { onHead: (c) => { c.pause(); paused = c; } });
    await new Promise((r) => setTimeout(r, 500));
    paused!.resume();
    expect((await h.promise).body).toBe('0123456789');
  });

  it('aborts with the caller\'s reason and closes that socket', async () => {
    const up = await upstream((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc'));
    const p = pool(up);
    const reason = new Error('client went away');
    const h = call(p, {}, { onData: (c) => c.abort(reason) });
    await expect(h.promise).rejects.toBe(reason);
    await new Promise((r) => setTimeout(r, 20));
    expect(p.stats.connected).toBe(0);
  });

  it('queues requests beyond `connections` and serves them as sockets free up', async () => {
    const up = await upstream((s) => setTimeout(() => s.write(OK('x')), 20));
    const p = pool(up, { connections: 1 });
    const all = await Promise.all([call(p).promise, call(p).promise, call(p).promise]);
    expect(all.map((r) => r.body)).toEqual(['x', 'x', 'x']);
    expect(up.connections).toBe(1);
  });

  it('keeps hop-by-hop fields, and those Connection names, out of the headers it hands on', async () => {
    const up = await upstream((s, _req, n) =>
      s.write(
        n === 0
          ? 'HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\nX-Secret: s\r\nTransfer-Encoding: chunked\r\nX-B: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n'
          : OK('k', 'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n'),
      ),
    );
    const p = pool(up);
    const first = await call(p).promise;
    expect(first.body).toBe('ok');
    expect(first.headers).toEqual({ 'x-a': '1', 'x-b': '2' });
    const second = await call(p).promise;
    expect(second.headers).toEqual({ 'content-length': '1' });
    // Both answers kept the connection open, as their Connection fields said.
    expect(up.requests.map((x) => x.conn)).toEqual([0, 0]);
  });

  it('does not keep a socket the upstream says it will close soon, nor one answered with Connection: close', async () => {
    const up = await upstream((s, _req, n) => s.write(OK('k', n === 0 ? 'Keep-Alive: timeout=1\r\n' : 'Connection: close\r\n')));
    const p = pool(up);
    await call(p).promise;
    await call(p).promise;
    await call(p).promise;
    expect(up.requests.map((x) => x.conn)).toEqual([0, 1, 2]);
  });

  it('closes an idle socket after the keep-alive timeout', async () => {
    const up = await upstream((s) => s.write(OK('')));
    const p = pool(up, { keepAliveTimeout: 50 });
    await call(p).promise;
    expect(p.stats.idle).toBe(1);
    await new Promise((r) => setTimeout(r, 150));
    expect(p.stats.connected).toBe(0);
  });

  it('checks long read and idle timeouts by a sweep, within a sweep period of the deadline', async () => {
    const silent = await upstream(() => undefined);
    const started = performance.now();
    expect(await failure(call(pool(silent), { headersTimeout: 1000 }))).toBe('UND_ERR_HEADERS_TIMEOUT');
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(990);
    expect(took).toBeLessThan(1600);
    const up = await upstream((s) => s.write(OK('')));
    const p = pool(up, { keepAliveTimeout: 1000 });
    await call(p).promise;
    await new Promise((r) => setTimeout(r, 700));
    expect(p.stats.idle).toBe(1);
    await new Promise((r) => setTimeout(r, 700));
    expect(p.stats.connected).toBe(0);
  });

  it('close() lets requests in flight finish; destroy() fails them', async () => {
    const up = await upstream((s) => setTimeout(() => s.write(OK('late')), 50));
    const p = pool(up);
    const inflight = call(p);
    await new Promise((r) => setTimeout(r, 10));
    const closed = p.close();
    expect(await failure(call(p))).toBe('UND_ERR_CLOSED');
    expect((await inflight.promise).body).toBe('late');
    await closed;
    const q = pool(up);
    const doomed = failure(call(q));
    await new Promise((r) => setTimeout(r, 10));
    await q.destroy();
    expect(await doomed).toBe('UND_ERR_DESTROYED');
  });
});
