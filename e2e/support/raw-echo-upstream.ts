/**
 * A byte-level upstream for framing tests: a bare net.Server (no HTTP library that could hide a desync)
 * that records every byte each connection delivered, parses the stream strictly by Content-Length /
 * chunked framing, and answers each request head it parsed with a small valid response. A gateway that
 * re-frames a hostile request wrongly shows up here as more request heads than the client sent, or as
 * bytes the parser could not frame.
 *
 * The response body is JSON: { conn, seq, method, target, version, headers, body } (body as latin1).
 * A target starting with `/big` answers `bytes=N` bytes (default 4 MiB) instead, streamed as the socket
 * takes them, for slow-read tests.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface RawRequest {
  conn: number;
  seq: number;
  method: string;
  target: string;
  version: string;
  /** Header lines in arrival order, names as sent. */
  headers: [string, string][];
  body: Buffer;
}

export interface RawConnection {
  id: number;
  /** Everything the gateway wrote on this connection, concatenated. */
  bytes(): Buffer;
  requests: RawRequest[];
  /** Framing the parser rejected (the connection is then closed); empty when all bytes framed cleanly. */
  errors: string[];
  closed: boolean;
}

export interface RawEchoUpstream {
  url: string;
  port: number;
  connections: RawConnection[];
  /** All parsed requests, across connections, in arrival order. */
  requests(): RawRequest[];
  /** Request heads seen in total. */
  heads(): number;
  /** Framing errors across connections. */
  errors(): string[];
  close(): Promise<void>;
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

class ConnState implements RawConnection {
  requests: RawRequest[] = [];
  errors: string[] = [];
  closed = false;
  private chunks: Buffer[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private seq = 0;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly all: RawRequest[],
  ) {}

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  feed(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const r = this.parseOne();
      if (r === 'more') return;
      if (r === 'error') {
        this.socket.destroy();
        return;
      }
    }
  }

  private fail(msg: string): 'error' {
    this.errors.push(msg);
    return 'error';
  }

  /** Parses one complete request from the buffer and answers it; 'more' when it is not complete yet. */
  private parseOne(): 'ok' | 'more' | 'error' {
    const end = this.buf.indexOf(HEAD_END);
    if (end === -1) return this.buf.length > 64 * 1024 ? this.fail('head over 64 KiB') : 'more';
    const head = this.buf.subarray(0, end).toString('latin1');
    const lines = head.split('\r\n');
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0]!);
    if (!m) return this.fail(`bad request line ${JSON.stringify(lines[0])}`);
    const headers: [string, string][] = [];
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!;
      const c = l.indexOf(':');
      if (c <= 0 || /[\s\0]/.test(l.slice(0, c)) || /[\r\n\0]/.test(l)) return this.fail(`bad header line ${JSON.stringify(l)}`);
      headers.push([l.slice(0, c), l.slice(c + 1).trim()]);
    }
    const cls = headers.filter(([n]) => n.toLowerCase() === 'content-length').map(([, v]) => v);
    const tes = headers.filter(([n]) => n.toLowerCase() === 'transfer-encoding').map(([, v]) => v.toLowerCase());
    if (cls.length > 0 && tes.length > 0) return this.fail('both Content-Length and Transfer-Encoding');
    if (cls.length > 1) return this.fail('several Content-Length headers');
    if (tes.length > 1 || (tes.length === 1 && tes[0] !== 'chunked')) return this.fail(`unexpected Transfer-Encoding ${JSON.stringify(tes)}`);
    let pos = end + 4;
    let body: Buffer;
    if (cls.length === 1) {
      if (!/^\d+$/.test(cls[0]!)) return this.fail(`bad Content-Length ${JSON.stringify(cls[0])}`);
      const n = Number(cls[0]);
      if (this.buf.length < pos + n) return 'more';
      body = this.buf.subarray(pos, pos + n);
      pos += n;
    } else if (tes.length === 1) {
      const parts: Buffer[] = [];
      for (;;) {
        const le = this.buf.indexOf(CRLF, pos);
        if (le === -1) return 'more';
        const line = this.buf.subarray(pos, le).toString('latin1');
        if (!/^[0-9A-Fa-f]{1,8}$/.test(line)) return this.fail(`bad chunk size line ${JSON.stringify(line)}`);
        const size = parseInt(line, 16);
        pos = le + 2;
        if (size === 0) {
          // Trailers, then the empty line.
          for (;;) {
            const te = this.buf.indexOf(CRLF, pos);
            if (te === -1) return 'more';
            const empty = te === pos;
            pos = te + 2;
            if (empty) break;
          }
          break;
        }
        if (this.buf.length < pos + size + 2) return 'more';
        parts.push(this.buf.subarray(pos, pos + size));
        if (this.buf[pos + size] !== 13 || this.buf[pos + size + 1] !== 10) return this.fail('chunk not followed by CRLF');
        pos += size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      body = Buffer.alloc(0);
    }
    this.buf = this.buf.subarray(pos);
    const req: RawRequest = { conn: this.id, seq: this.seq++, method: m[1]!, target: m[2]!, version: m[3]!, headers, body: Buffer.from(body) };
    this.requests.push(req);
    this.all.push(req);
    this.answer(req);
    return 'ok';
  }

  private answer(req: RawRequest): void {
    if (req.target.startsWith('/big')) {
      const n = Number(/[?&]bytes=(\d+)/.exec(req.target)?.[1] ?? 4 * 1024 * 1024);
      this.socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${n}\r\n\r\n`);
      streamBody(this.socket, n);
      return;
    }
    const body = JSON.stringify({
      conn: req.conn,
      seq: req.seq,
      method: req.method,
      target: req.target,
      version: req.version,
      headers: req.headers,
      body: req.body.toString('latin1'),
    });
    const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    // A HEAD gets the head only: a body would be read as the start of the next response.
    this.socket.write(req.method === 'HEAD' ? head : head + body);
  }
}

const CHUNK = Buffer.alloc(1024 * 1024, 0x61);

/** Writes `n` bytes as the socket takes them (back-pressure), so a huge body costs no memory. */
function streamBody(socket: Socket, n: number): void {
  let left = n;
  const pump = (): void => {
    while (left > 0 && !socket.destroyed) {
      const c = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= c.length;
      if (!socket.write(c)) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

export async function startRawEchoUpstream(): Promise<RawEchoUpstream> {
  const connections: ConnState[] = [];
  const all: RawRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const c = new ConnState(connections.length, socket, all);
    connections.push(c);
    socket.on('data', (chunk: Buffer) => c.feed(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      c.closed = true;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections,
    requests: () => all,
    heads: () => all.length,
    errors: () => connections.flatMap((c) => c.errors),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
