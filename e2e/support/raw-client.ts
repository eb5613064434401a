/**
 * A raw-socket HTTP/1.x client for hostile-input tests: writes exactly the bytes given (no library
 * re-framing them), and parses the answers strictly enough to count responses on one connection.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

export interface Exchange {
  raw: string;
  responses: RawResponse[];
  /** The gateway closed the connection (or reset it) before we did. */
  closed: boolean;
  /** Milliseconds from the first write until the connection closed, or until we gave up. */
  elapsed: number;
}

export interface ExchangeOptions {
  /** Resolve as soon as this many complete responses arrived (default: wait for close or quiet). */
  expect?: number;
  /** Give up after this long without the expected responses or a close (default 3000 ms). */
  timeoutMs?: number;
  /** Resolve once no byte arrived for this long after the last one (default 400 ms; 0: wait for close). */
  quietMs?: number;
  /** Source address (another 127.0.0.0/8 address makes a distinct client IP on loopback). */
  localAddress?: string;
  /** Pause between parts when `data` is an array (default 0). */
  gapMs?: number;
}

/** Splits a byte stream into complete HTTP responses (Content-Length or chunked); stops at the first incomplete one. */
export function parseResponses(raw: string): RawResponse[] {
  const out: RawResponse[] = [];
  let pos = 0;
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', pos);
    if (end === -1) return out;
    const lines = raw.slice(pos, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!m) return out;
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      const n = l.slice(0, c).trim().toLowerCase();
      const v = l.slice(c + 1).trim();
      headers[n] = headers[n] === undefined ? v : `${headers[n]}, ${v}`;
    }
    let p = end + 4;
    let body = '';
    const status = Number(m[1]);
    if (headers['transfer-encoding']?.includes('chunked')) {
      for (;;) {
        const le = raw.indexOf('\r\n', p);
        if (le === -1) return out;
        const size = parseInt(raw.slice(p, le), 16);
        if (raw.length < le + 2 + size + 2) return out;
        body += raw.slice(le + 2, le + 2 + size);
        p = le + 2 + size + 2;
        if (size === 0) break;
      }
    } else if (headers['content-length'] !== undefined && status !== 304 && status !== 204) {
      const n = Number(headers['content-length']);
      if (raw.length < p + n) return out;
      body = raw.slice(p, p + n);
      p += n;
    }
    out.push({ status, headers, body });
    pos = p;
  }
}

/** Sends `data` on a fresh connection and collects what comes back. */
export function exchange(port: number, data: string | Buffer | (string | Buffer)[], opts: ExchangeOptions = {}): Promise<Exchange> {
  const parts = Array.isArray(data) ? data : [data];
  const timeoutMs = opts.timeoutMs ?? 3000;
  const quietMs = opts.quietMs ?? 400;
  return new Promise((resolve) => {
    const started = Date.now();
    let raw = '';
    let done = false;
    let quiet: NodeJS.Timeout | undefined;
    const sock: Socket = connect({ host: '127.0.0.1', port, localAddress: opts.localAddress });
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(overall);
      clearTimeout(quiet);
      sock.destroy();
      resolve({ raw, responses: parseResponses(raw), closed, elapsed: Date.now() - started });
    };
    const overall = setTimeout(() => finish(false), timeoutMs);
    sock.setNoDelay(true);
    sock.on('data', (c: Buffer) => {
      raw += c.toString('latin1');
      if (opts.expect !== undefined && parseResponses(raw).length >= opts.expect) return finish(false);
      if (quietMs > 0 && opts.expect === undefined) {
        clearTimeout(quiet);
        quiet = setTimeout(() => finish(false), quietMs);
      }
    });
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('connect', async () => {
      for (let i = 0; i < parts.length; i++) {
        if (done) return;
        sock.write(parts[i]!);
        if (opts.gapMs && i < parts.length - 1) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    });
  });
}

/** Opens a connection and keeps it open without sending anything; resolves once connected. */
export function openIdle(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}
