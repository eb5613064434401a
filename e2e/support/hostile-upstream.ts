/**
 * A deliberately broken HTTP/1.1 upstream on a raw net.Server: it reads a request head and answers with
 * whatever malformed, oversized, endless or interrupted bytes the request path names, so the gateway's
 * handling of upstreams that break the protocol can be tested byte-exactly (node:http would refuse to
 * produce most of these answers).
 */
import { createServer, type Server, type Socket } from 'node:net';

export type Behaviour =
  | 'ok'
  | 'te-with-cl' // Transfer-Encoding: chunked together with Content-Length (request smuggling shape)
  | 'te-unknown-chunked' // Transfer-Encoding: chunked, gzip (chunked not last)
  | 'bad-chunk' // a valid head, then an invalid chunk size
  | 'huge-headers' // 64 KiB of response headers
  | 'endless' // a chunked body that never ends, as fast as the socket takes it
  | 'stall-body' // a head and a little body, then silence
  | 'reset-mid-body' // a head promising 1000 bytes, 100 sent, then a TCP RST
  | 'drip-head' // the status line and headers one byte per second
  | 'drip-body' // a head, then one body byte every 3 s
  | 'close-no-length' // no Content-Length, no chunking: the body ends when the connection closes (valid)
  | 'close-short' // Content-Length: 1000, 10 bytes, then FIN
  | 'informational' // 103 Early Hints (twice) before a 200
  | 'unsolicited-100' // 100 Continue to a request that did not ask for it, then a 200
  | 'dup-cl-diff' // Content-Length: 5 and Content-Length: 6
  | 'dup-cl-same' // Content-Length: 5 twice
  | 'bad-status' // a status line that is not HTTP
  | 'silent-close'; // closes without answering

export interface HostileUpstream {
  port: number;
  url: string;
  /** Open upstream-side sockets (the gateway's connections to us). */
  readonly open: number;
  /** Requests seen per behaviour. */
  readonly seen: Record<string, number>;
  close(): Promise<void>;
}

// Connection: close: the server answers one exchange per connection, so the gateway must not reuse it.
const OK = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok';

function answer(sock: Socket, b: Behaviour): void {
  const timers: NodeJS.Timeout[] = [];
  const later = (fn: () => void, ms: number): void => void timers.push(setTimeout(fn, ms));
  const every = (fn: () => void, ms: number): void => void timers.push(setInterval(fn, ms));
  sock.once('close', () => timers.forEach((t) => clearTimeout(t)));
  const w = (s: string | Buffer) => {
    if (!sock.destroyed) sock.write(s);
  };
  switch (b) {
    case 'ok':
      return void sock.end(OK);
    case 'te-with-cl':
      return void sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    case 'te-unknown-chunked':
      return void sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    case 'bad-chunk':
      return void sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n');
    case 'huge-headers': {
      let h = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n';
      for (let i = 0; i < 64; i++) h += `X-Filler-${i}: ${'a'.repeat(1000)}\r\n`;
      return void sock.end(`${h}\r\nok`);
    }
    case 'endless': {
      w('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = Buffer.from(`10000\r\n${'x'.repeat(0x10000)}\r\n`);
      const pump = () => {
        while (!sock.destroyed && sock.write(chunk));
      };
      sock.on('drain', pump);
      return pump();
    }
    case 'stall-body':
      return w('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc');
    case 'reset-mid-body':
      w(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'r'.repeat(100)}`);
      return later(() => sock.resetAndDestroy(), 20);
    case 'drip-head': {
      const bytes = Buffer.from(OK);
      let i = 0;
      return every(() => {
        if (i < bytes.length) w(bytes.subarray(i, ++i));
      }, 1_000);
    }
    case 'drip-body': {
      w('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
      return every(() => w('d'), 3_000);
    }
    case 'close-no-length':
      return void sock.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil-close body');
    case 'close-short':
      return void sock.end('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789');
    case 'informational':
      return void sock.end('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b.js>; rel=preload\r\n\r\n' + OK);
    case 'unsolicited-100':
      return void sock.end('HTTP/1.1 100 Continue\r\n\r\n' + OK);
    case 'dup-cl-diff':
      return void sock.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!');
    case 'dup-cl-same':
      return void sock.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello');
    case 'bad-status':
      return void sock.end('SMTP 220 hello\r\n\r\n');
    case 'silent-close':
      return void sock.end();
  }
}

export async function startHostileUpstream(): Promise<HostileUpstream> {
  const sockets = new Set<Socket>();
  const seen: Record<string, number> = {};
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      // One exchange per connection keeps each behaviour independent of what came before on the socket.
      sock.off('data', onData);
      const target = buf.slice(0, buf.indexOf('\r\n')).split(' ')[1] ?? '/';
      const b = (target.split('/').filter(Boolean).pop()?.split('?')[0] ?? 'ok') as Behaviour;
      seen[b] = (seen[b] ?? 0) + 1;
      answer(sock, b);
    };
    sock.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get open() {
      return sockets.size;
    },
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
