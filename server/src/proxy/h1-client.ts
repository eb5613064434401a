/**
 * The proxy's HTTP/1.1 client for clear-text upstreams: a keep-alive connection pool with undici's
 * `dispatch(options, handler)` contract (the same handler callbacks and controller), so ProxyRequest and the
 * mirror drive it exactly as they drive an undici Pool. TLS and HTTP/2 upstreams stay on undici.
 *
 * Why not undici here: in a minimal proxy (node:http server, one upstream, 64 connections, one core) undici's
 * Pool cost about 1.6x the CPU per request of a plain socket client writing one request string and parsing the
 * answer's head in JavaScript (undici's request object, header validation, its queue and resume loop, llhttp
 * in WebAssembly with a JS callback per header field); node:http's own client cost more than undici. See the
 * README ("An HTTP/1.1 client of its own"). What undici did for us and this file must do as well:
 * - framing by the rules of RFC 9112 §6: no body for HEAD, 1xx, 204 and 304; chunked (with trailers) when
 *   Transfer-Encoding ends in chunked; Content-Length; otherwise until the upstream closes;
 * - refusing what llhttp refuses, so request smuggling through the gateway stays impossible: Content-Length
 *   with Transfer-Encoding, conflicting Content-Lengths, obs-fold, control characters, a non-HTTP status line,
 *   heads over 16 KiB, bad chunk sizes; and refusing to send header values or paths that could split a request;
 * - keep-alive with a bounded idle time (the upstream's `Keep-Alive: timeout` hint lowers it), a connection
 *   that ended or misbehaved is never reused, and at most `connections` sockets (requests queue beyond);
 * - timeouts with undici's error codes (UND_ERR_CONNECT_TIMEOUT, UND_ERR_HEADERS_TIMEOUT, UND_ERR_BODY_TIMEOUT),
 *   and a premature close as UND_ERR_SOCKET, so classifyUpstreamError treats both clients alike;
 * - request bodies from a Buffer or a stream (chunked when no length is known), with backpressure, and
 *   pause/resume of the response for the client's backpressure.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { isToken, stripConnectionNamed, TCHAR } from './headers.js';

/** GATEHOUSE_UPSTREAM_CLIENT: this client for clear-text HTTP/1.1 upstreams (the default), or undici's Pool. */
export const UPSTREAM_CLIENTS = ['gatehouse', 'undici'] as const;
export type UpstreamClientKind = (typeof UPSTREAM_CLIENTS)[number];

/** A failure with the code undici would have given it (upstream-pool.ts classifies by code). */
export class UpstreamClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamClientError';
  }
}

export interface Http1PoolOptions {
  host: string;
  port: number;
  /** Most sockets open at once; requests beyond wait in a queue. */
  connections: number;
  /** Longest a socket stays idle for reuse (ms). */
  keepAliveTimeout: number;
  connectTimeout: number;
  /** Largest response head (status line and fields) accepted; undici's and Node's default. */
  maxHeaderSize?: number;
}

/** The subset of undici's Dispatcher the proxy uses; an undici Pool satisfies it too. */
export interface UpstreamDispatcher {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

const MAX_HEADER_SIZE = 16 * 1024;
/** Longest chunk-size line (size, extensions) accepted. */
const MAX_CHUNK_LINE = 4096;
/** Interim (1xx) answers accepted before the final one. */
const MAX_INTERIM = 10;
/** Timeouts from this long on are checked by the pool's sweep, every SWEEP_MS, rather than by a timer each. */
const COARSE_MIN_MS = 1000;
/** undici's headersTimeout and bodyTimeout when unset. */
const DEFAULT_TIMEOUT_MS = 300_000;
const SWEEP_MS = 250;
/** An upstream's Keep-Alive timeout hint is trusted minus this margin (undici uses 1 s as well). */
const KEEP_ALIVE_MARGIN_MS = 1000;

/** Header values undici refuses to send: anything but HTAB, visible ASCII, space and obs-text. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Paths undici refuses to send (controls, space, beyond Latin-1). */
const BAD_PATH = /[^\u0021-\u00ff]/;

const EMPTY_TRAILERS: IncomingHttpHeaders = Object.freeze({}) as IncomingHttpHeaders;
const CRLF = Buffer.from('\r\n', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

// Parser states.
const S_HEAD = 0;
const S_LENGTH = 1;
const S_CHUNK_SIZE = 2;
const S_CHUNK_DATA = 3;
const S_CHUNK_CRLF = 4;
const S_TRAILERS = 5;
const S_UNTIL_CLOSE = 6;

function methodExpectsPayload(m: string): boolean {
  return m === 'POST' || m === 'PUT' || m === 'PATCH';
}

function err(code: string, message: string): UpstreamClientError {
  return new UpstreamClientError(code, message);
}

function lengthMismatch(): UpstreamClientError {
  return err('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'Request body length does not match content-length header');
}

/** One request: its handler's controller, from dispatch until the last callback. */
class Exchange implements Dispatcher.DispatchController {
  conn: Conn | undefined = undefined;
  /** Set once the handler got its last callback (end or error). */
  done = false;
  aborted = false;
  paused = false;
  reason: Error | null = null;
  /** The request head and body went out completely. */
  sent = false;
  head = '';
  /** Content-Length of the request as sent, or -1 (chunked, or no body). */
  declaredLength = -1;
  /** Lets go of a request body still streaming when the exchange ends first. */
  releaseBody: (() => void) | undefined = undefined;
  readonly isHead: boolean;

  constructor(
    readonly pool: Http1Pool,
    readonly opts: Dispatcher.DispatchOptions,
    readonly handler: Dispatcher.DispatchHandler,
  ) {
    this.isHead = opts.method === 'HEAD';
  }

  abort(reason: Error): void {
    if (this.done) return;
    this.aborted = true;
    this.reason = reason ?? err('UND_ERR_ABORTED', 'Request aborted');
    this.pool.fail(this, this.reason);
  }

  pause(): void {
    if (this.done || this.paused) return;
    this.paused = true;
    this.conn?.socket.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const c = this.conn;
    if (c === undefined || this.done) return;
    try {
      c.resumeParsing();
    } catch (e) {
      c.crashed(e);
      return;
    }
    if (!this.paused && !c.dead) c.socket.resume();
  }
}

/**
 * One of a socket's timeouts. Long ones (the usual 60 s) are deadlines the pool's sweep checks every SWEEP_MS,
 * so a request costs a clock read instead of a timer re-inserted into Node's timer list (undici's fast timers
 * make the same trade); short ones keep a timer of their own for precision.
 */
class Deadline {
  /** The current timeout is checked by the sweep (`at`), not by the timer. */
  coarse = false;
  private at = 0;
  private ms = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  private timerMs = 0;

  constructor(
    private readonly fire: (c: Conn) => void,
    private readonly conn: Conn,
  ) {}

  /** The own timer fired: a stale one, from before a coarse deadline replaced it, does nothing. */
  timerFired(): void {
    if (!this.coarse) this.fire(this.conn);
  }

  arm(ms: number, pool: Http1Pool): void {
    this.ms = ms;
    if (ms >= COARSE_MIN_MS) {
      this.coarse = true;
      this.at = performance.now() + ms;
      pool.sweepSoon();
      return;
    }
    this.coarse = false;
    if (this.timer === undefined || this.timerMs !== ms) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = setTimeout(onDeadlineTimer, ms, this);
      this.timer.unref();
      this.timerMs = ms;
    } else this.timer.refresh();
  }

  /** Starts the same timeout over. */
  touch(): void {
    if (this.coarse) this.at = performance.now() + this.ms;
    else this.timer?.refresh();
  }

  due(now: number): boolean {
    return this.coarse && now >= this.at;
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

/** One socket and the parser state of the answer it is reading. */
class Conn {
  readonly socket: Socket;
  ex: Exchange | undefined = undefined;
  dead = false;
  /** Bytes of the current answer left unparsed while its exchange is paused. */
  pending: Buffer | undefined = undefined;
  /** The answer is complete but its handler paused: its trailers, for the end delivered on resume. */
  private endDeferred: IncomingHttpHeaders | undefined = undefined;
  private state = S_HEAD;
  /** Pieces of a head that spans several reads, and their total length. */
  private headParts: Buffer[] | undefined = undefined;
  private headLength = 0;
  /** Bytes left in the body (S_LENGTH) or the current chunk (S_CHUNK_DATA). */
  private remaining = 0;
  /** Partial chunk-size or trailer line, when it spans reads. */
  private line = '';
  private trailerLines: string[] | undefined = undefined;
  private crlfSeen = 0;
  /** The current answer lets the socket be reused. */
  private keepAlive = true;
  /** Idle time allowed by this socket's last answer (the upstream's hint, bounded by the pool's setting). */
  private idleMs: number;
  private ioArmed = false;
  private readonly io = new Deadline(onIoTimeout, this);
  private readonly idleDeadline = new Deadline(onIdleTimeout, this);
  private connectTimer: NodeJS.Timeout | undefined;
  /** Interim answers read for the current request. */
  private interim = 0;
  /** The head readHead just parsed (kept in fields: no result object per answer). */
  private hStatus = 0;
  private hHeaders: IncomingHttpHeaders | undefined = undefined;
  private readonly hop: HopFields = { connection: undefined, keepAlive: undefined, te: undefined };
  private hMessage = '';
  /** The upstream ended its side (or the socket closed). */
  private eof = false;
  /** The answer just completed lets the socket be reused, once no bytes follow it (afterParse). */
  private reusable = false;

  constructor(
    readonly pool: Http1Pool,
    o: Http1PoolOptions,
  ) {
    this.idleMs = o.keepAliveTimeout;
    const s = connect({ host: o.host, port: o.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 });
    this.socket = s;
    this.connectTimer = setTimeout(onConnectTimeout, o.connectTimeout, this);
    s.once('connect', () => {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('end', () => this.onEnd());
    s.on('error', (e: Error) => this.onError(e));
    s.on('close', () => this.onClose());
  }

  /** Writes the exchange's request; the answer arrives through onData. */
  start(ex: Exchange): void {
    this.ex = ex;
    ex.conn = this;
    this.state = S_HEAD;
    this.keepAlive = true;
    this.reusable = false;
    this.endDeferred = undefined;
    this.interim = 0;
    this.headParts = undefined;
    const s = this.socket;
    if (s.isPaused()) s.resume();
    const body = ex.opts.body;
    if (body === null || body === undefined) {
      s.write(ex.head, 'latin1');
      this.requestSent(ex);
    } else if (typeof body === 'string' || body instanceof Uint8Array) {
      s.cork();
      s.write(ex.head, 'latin1');
      s.write(body);
      s.uncork();
      ex.handler.onBodySent?.(body as Buffer);
      this.requestSent(ex);
    } else {
      s.write(ex.head, 'latin1');
      this.streamBody(ex, body as Readable);
    }
  }

  private requestSent(ex: Exchange): void {
    if (ex.done || this.ex !== ex) return;
    ex.sent = true;
    ex.handler.onRequestSent?.();
    // The read timeout runs from the end of the request (Kong's read_timeout: between two reads).
    if (this.ex === ex && !ex.done) this.armIo(timeoutOf(ex.opts.headersTimeout));
  }

  /**
   * Streams a request body: chunked when no length was declared, otherwise exactly the declared bytes (more
   * or fewer fail the request, as undici's length check does). When the exchange ends first (an early answer,
   * a failure), the body is let go: listeners off and flowing, so the client can finish its upload.
   */
  private streamBody(ex: Exchange, body: Readable): void {
    const s = this.socket;
    const declared = ex.declaredLength;
    let sent = 0;
    let waiting = false;
    const onDrain = (): void => {
      waiting = false;
      body.resume();
    };
    const onData = (chunk: Buffer | string): void => {
      if (ex.done || this.ex !== ex) return;
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (b.length === 0) return;
      sent += b.length;
      if (declared >= 0 && sent > declared) return ex.abort(lengthMismatch());
      let ok: boolean;
      if (declared < 0) {
        s.cork();
        s.write(b.length.toString(16) + '\r\n', 'latin1');
        s.write(b);
        ok = s.write(CRLF);
        s.uncork();
      } else ok = s.write(b);
      ex.handler.onBodySent?.(b);
      if (!ok && !waiting && !ex.done) {
        waiting = true;
        body.pause();
        s.once('drain', onDrain);
      }
    };
    const release = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      s.off('drain', onDrain);
      ex.releaseBody = undefined;
    };
    const onEnd = (): void => {
      release();
      if (ex.done || this.ex !== ex) return;
      if (declared >= 0 && sent !== declared) return ex.abort(lengthMismatch());
      if (declared < 0) s.write(LAST_CHUNK);
      this.requestSent(ex);
    };
    const onError = (e: Error): void => {
      release();
      ex.abort(e);
    };
    const onClose = (): void => {
      // Closed without 'end': the client went away mid-body.
      release();
      if (!ex.sent) ex.abort(err('UND_ERR_ABORTED', 'request body stream closed before its end'));
    };
    if (body.readableEnded) return onEnd();
    ex.releaseBody = () => {
      release();
      if (!body.destroyed) body.resume();
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
    if (body.isPaused()) body.resume();
  }

  /** Starts the read timeout (0: none). */
  private armIo(ms: number): void {
    this.ioArmed = ms > 0;
    if (this.ioArmed) this.io.arm(ms, this.pool);
  }

  /** Bytes arrived: the read timeout starts over. */
  private touchIo(): void {
    if (this.ioArmed) this.io.touch();
  }

  ioTimedOut(): void {
    const ex = this.ex;
    if (!this.ioArmed || ex === undefined || ex.done) return;
    // A paused handler is waiting for its client (or a plugin), not for the upstream: as undici, no timeout.
    if (ex.paused) return this.touchIo();
    this.pool.fail(
      ex,
      this.state === S_HEAD ? err('UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error') : err('UND_ERR_BODY_TIMEOUT', 'Body Timeout Error'),
    );
  }

  /** The pool's sweep: coarse read and idle deadlines past `now`. */
  sweep(now: number): void {
    if (this.ioArmed && this.io.due(now)) this.ioTimedOut();
    if (this.idleDeadline.due(now)) this.idleTimedOut();
  }

  connectTimedOut(): void {
    this.connectTimer = undefined;
    const ex = this.ex;
    if (ex !== undefined && !ex.done) this.pool.fail(ex, err('UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error'));
    this.destroy();
  }

  /** Back in the pool: closed after the idle time its last answer allows. */
  idle(): void {
    this.idleDeadline.arm(this.idleMs, this.pool);
  }

  idleTimedOut(): void {
    if (this.ex === undefined) this.destroy();
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const ex = this.ex;
    if (ex === undefined || ex.done) {
      // Bytes nobody asked for: the socket's framing can no longer be trusted.
      this.destroy();
      return;
    }
    if (ex.paused) {
      this.pending = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
      return;
    }
    try {
      this.parse(chunk);
    } catch (e) {
      // A handler threw (undici does the same): the exchange fails with it and the socket is not reused.
      this.crashed(e);
    }
  }

  /** An exception out of a handler callback: fail what is in flight with it, close the socket. */
  crashed(e: unknown): void {
    const ex = this.ex;
    const error = e instanceof Error ? e : new Error(String(e));
    this.destroy();
    if (ex === undefined || ex.done) return;
    try {
      this.pool.fail(ex, error);
    } catch {
      // The handler's error callback threw as well: nothing is left to tell.
    }
  }

  private onEnd(): void {
    this.eof = true;
    this.judgeEnd();
    this.destroy();
  }

  private onError(e: Error): void {
    const ex = this.ex;
    if (ex !== undefined && !ex.done) this.pool.fail(ex, e);
    this.destroy();
  }

  private onClose(): void {
    this.dead = true;
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.io.clear();
    this.idleDeadline.clear();
    this.eof = true;
    this.judgeEnd();
    this.pool.closed(this);
  }

  /** Parses bytes of the current answer; stops at its end, at an error, or when the handler pauses. */
  parse(buf: Buffer): void {
    let off = 0;
    const len = buf.length;
    while (off < len) {
      const ex = this.ex;
      if (ex === undefined || ex.done) break;
      if (ex.paused) {
        this.pending = off === 0 ? buf : buf.subarray(off);
        return;
      }
      switch (this.state) {
        case S_HEAD:
          off = this.parseHead(ex, buf, off);
          break;
        case S_LENGTH: {
          const n = Math.min(this.remaining, len - off);
          const data = off === 0 && n === len ? buf : buf.subarray(off, off + n);
          off += n;
          this.remaining -= n;
          this.touchIo();
          ex.handler.onResponseData?.(ex, data);
          if (this.remaining === 0 && !ex.done) this.finish(ex, EMPTY_TRAILERS);
          break;
        }
        case S_UNTIL_CLOSE: {
          const data = off === 0 ? buf : buf.subarray(off);
          off = len;
          this.touchIo();
          ex.handler.onResponseData?.(ex, data);
          break;
        }
        case S_CHUNK_DATA: {
          const n = Math.min(this.remaining, len - off);
          const data = buf.subarray(off, off + n);
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = S_CHUNK_CRLF;
            this.crlfSeen = 0;
          }
          this.touchIo();
          ex.handler.onResponseData?.(ex, data);
          break;
        }
        case S_CHUNK_CRLF: {
          const c = buf[off++];
          if (c !== (this.crlfSeen === 0 ? 13 : 10)) return this.bad(ex, 'HPE_STRICT', 'chunk data not followed by CRLF');
          if (++this.crlfSeen === 2) this.state = S_CHUNK_SIZE;
          break;
        }
        case S_CHUNK_SIZE:
        case S_TRAILERS:
          off = this.parseLine(ex, buf, off);
          break;
      }
    }
    this.afterParse(off < len);
  }

  /**
   * Once an answer ended, the socket goes back to the pool only if nothing followed it: bytes after a complete
   * answer to the one request sent mean the framing is off, and reading them as the next request's answer
   * would be response smuggling.
   */
  private afterParse(leftover: boolean): void {
    const ex = this.ex;
    if (ex !== undefined && !ex.done) {
      // Paused with the socket gone: the rest was parsed on resume, so the end of the stream is judged now.
      if (this.eof) this.judgeEnd();
      return;
    }
    if (!this.reusable) {
      if (leftover) this.destroy();
      return;
    }
    this.reusable = false;
    if (leftover) this.destroy();
    else this.pool.release(this);
  }

  /**
   * The upstream closed: the end of a close-delimited body, otherwise an answer cut short. Bytes held back for
   * a paused exchange, or its held end, come first (on resume, which judges again).
   */
  private judgeEnd(): void {
    const ex = this.ex;
    if (ex === undefined || ex.done || this.pending !== undefined || this.endDeferred !== undefined) return;
    if (this.state === S_UNTIL_CLOSE) {
      this.keepAlive = false;
      this.finish(ex, EMPTY_TRAILERS);
    } else this.pool.fail(ex, err('UND_ERR_SOCKET', 'other side closed'));
  }

  /** A chunk-size or trailer line; returns the offset after it, or the buffer's end when it continues later. */
  private parseLine(ex: Exchange, buf: Buffer, off: number): number {
    const nl = buf.indexOf(10, off);
    const end = nl === -1 ? buf.length : nl + 1;
    this.line += buf.toString('latin1', off, end);
    if (nl === -1) {
      if (this.line.length > MAX_CHUNK_LINE) this.bad(ex, this.state === S_TRAILERS ? 'HPE_HEADER_OVERFLOW' : 'HPE_INVALID_CHUNK_SIZE', 'chunk line too long');
      return buf.length;
    }
    const line = this.line;
    this.line = '';
    if (line.length < 2 || line.charCodeAt(line.length - 2) !== 13) {
      this.bad(ex, 'HPE_STRICT', 'line not ended by CRLF');
      return buf.length;
    }
    const text = line.slice(0, -2);
    if (this.state === S_CHUNK_SIZE) {
      let size = 0;
      let i = 0;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
        if (d === -1) break;
        size = size * 16 + d;
      }
      // Digits, then nothing, or optional whitespace and `;` extensions (ignored, but no control characters).
      let j = i;
      while (j < text.length && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
      if (i === 0 || i > 13 || (j < text.length && text.charCodeAt(j) !== 59) || !isFieldText(text, j, text.length)) {
        this.bad(ex, 'HPE_INVALID_CHUNK_SIZE', 'invalid chunk size');
        return buf.length;
      }
      if (size === 0) {
        this.state = S_TRAILERS;
        this.trailerLines = undefined;
      } else {
        this.state = S_CHUNK_DATA;
        this.remaining = size;
      }
      return end;
    }
    if (text === '') {
      const lines = this.trailerLines;
      this.trailerLines = undefined;
      let trailers = EMPTY_TRAILERS;
      if (lines !== undefined) {
        trailers = {};
        if (!parseFields(lines.join('\r\n'), 0, trailers)) {
          this.bad(ex, 'HPE_INVALID_HEADER_TOKEN', 'invalid trailer field');
          return buf.length;
        }
      }
      this.finish(ex, trailers);
      return end;
    }
    (this.trailerLines ??= []).push(text);
    if (this.trailerLines.length > 100) this.bad(ex, 'HPE_HEADER_OVERFLOW', 'too many trailer fields');
    return end;
  }

  /** Reads the head from `off`; returns the offset after it (or the buffer's end while it is incomplete). */
  private parseHead(ex: Exchange, buf: Buffer, off: number): number {
    const parts = this.headParts;
    // Where the blank line ends in `buf` (-1: not in it), and the head's length so far without that line.
    let end: number;
    let length: number;
    if (parts === undefined) {
      const at = buf.indexOf(HEAD_END, off);
      end = at === -1 ? -1 : at + 4;
      length = (at === -1 ? buf.length : at) - off;
    } else {
      // Only the new bytes are searched, with the last three bytes before them for an end that straddles.
      const prev = parts[parts.length - 1]!;
      const seamLen = Math.min(3, this.headLength);
      const seam = seamLen <= prev.length ? prev.subarray(prev.length - seamLen) : Buffer.concat(parts).subarray(this.headLength - seamLen);
      const at = Buffer.concat([seam, buf.subarray(off, Math.min(buf.length, off + this.pool.maxHeaderSize + 4))]).indexOf(HEAD_END);
      end = at === -1 ? -1 : off + at + 4 - seamLen;
      length = this.headLength + (at === -1 ? buf.length - off : end - off - 4);
    }
    if (length > this.pool.maxHeaderSize) {
      this.headParts = undefined;
      this.bad(ex, 'UND_ERR_HEADERS_OVERFLOW', 'Headers Overflow Error');
      return buf.length;
    }
    if (end === -1) {
      // The head continues in later reads: keep its pieces (copied: small reads come out of shared slabs).
      const piece = Buffer.from(buf.subarray(off));
      if (parts === undefined) this.headParts = [piece];
      else parts.push(piece);
      this.headLength = length;
      return buf.length;
    }
    this.headParts = undefined;
    if (parts === undefined) return this.headDone(ex, buf.toString('latin1', off, end - 4), end);
    parts.push(buf.subarray(off, end));
    return this.headDone(ex, Buffer.concat(parts).toString('latin1', 0, length), end);
  }

  /** A complete head (without its blank line) ending at `consumed` in the current read. */
  private headDone(ex: Exchange, head: string, consumed: number): number {
    // After a refusal the exchange is done, so parsing stops whatever offset is returned.
    if (!this.readHead(ex, head)) return consumed;
    this.touchIo();
    const status = this.hStatus;
    const headers = this.hHeaders!;
    const message = this.hMessage;
    this.hHeaders = undefined;
    if (status < 200) {
      // Interim answers (100 Continue, 103 Early Hints) are reported and skipped; the final one follows.
      if (++this.interim > MAX_INTERIM) {
        this.bad(ex, 'UND_ERR_INFO', 'too many interim (1xx) answers');
        return consumed;
      }
      ex.handler.onResponseStart?.(ex, status, headers, message);
      return consumed;
    }
    ex.handler.onResponseStart?.(ex, status, headers, message);
    if (ex.done) return consumed;
    if (this.state !== S_HEAD && ex.opts.bodyTimeout !== ex.opts.headersTimeout) this.armIo(timeoutOf(ex.opts.bodyTimeout));
    if (this.state === S_LENGTH && this.remaining === 0) this.state = S_HEAD;
    if (this.state === S_HEAD) this.finish(ex, EMPTY_TRAILERS);
    return consumed;
  }

  /** Status line and fields into hStatus/hHeaders/hMessage; sets the framing state. False after reporting a bad answer. */
  private readHead(ex: Exchange, head: string): boolean {
    let firstEnd = head.indexOf('\r\n');
    if (firstEnd === -1) firstEnd = head.length;
    // HTTP/1.1 or HTTP/1.0, a space, three digits, then the end or a space and a reason.
    const http10 = head.startsWith('HTTP/1.0 ');
    if ((!http10 && !head.startsWith('HTTP/1.1 ')) || firstEnd < 12 || (firstEnd > 12 && head.charCodeAt(12) !== 32)) {
      this.bad(ex, 'HPE_INVALID_CONSTANT', 'invalid HTTP status line');
      return false;
    }
    const status = parseDigits(head, 9, 12);
    if (status < 100 || !isFieldText(head, 13, firstEnd)) {
      this.bad(ex, 'HPE_INVALID_STATUS', 'invalid HTTP status line');
      return false;
    }
    const headers: IncomingHttpHeaders = {};
    const hop = clearHop(this.hop);
    if (firstEnd < head.length && !parseFields(head, firstEnd + 2, headers, hop)) {
      this.bad(ex, 'HPE_INVALID_HEADER_TOKEN', 'invalid response header field');
      return false;
    }
    if (status === 101) {
      this.bad(ex, 'UND_ERR_INFO', 'unexpected 101 Switching Protocols');
      return false;
    }
    // The gateway never sends Expect: 100-continue (it strips a client's), so a 100 is unsolicited: undici
    // refuses it too, rather than guess what the upstream meant.
    if (status === 100) {
      this.bad(ex, 'UND_ERR_INFO', 'unsolicited 100 Continue');
      return false;
    }
    this.hStatus = status;
    this.hHeaders = headers;
    this.hMessage = firstEnd > 13 ? head.slice(13, firstEnd) : '';
    if (status < 200) {
      this.state = S_HEAD;
      return true;
    }
    const conn = hop.connection;
    if (conn !== undefined) {
      const c = conn.toLowerCase();
      if (c.includes('close')) this.keepAlive = false;
      else if (http10 && !c.includes('keep-alive')) this.keepAlive = false;
      stripConnectionNamed(headers, conn);
    } else if (http10) this.keepAlive = false;
    const ka = hop.keepAlive;
    this.idleMs = ka !== undefined ? this.pool.keepAliveMs(ka) : this.pool.keepAliveTimeout;
    const te = hop.te;
    const cl = headers['content-length'];
    if (te !== undefined && cl !== undefined) {
      this.bad(ex, 'HPE_UNEXPECTED_CONTENT_LENGTH', 'Content-Length with Transfer-Encoding');
      return false;
    }
    let length = -1;
    if (cl !== undefined) {
      // Repeated, even with the same value, is refused as llhttp refuses it.
      length = Array.isArray(cl) ? -1 : parseDigits(cl, 0, cl.length);
      if (length < 0) {
        this.bad(ex, 'HPE_UNEXPECTED_CONTENT_LENGTH', 'invalid or repeated Content-Length');
        return false;
      }
    }
    if (ex.isHead || status === 204 || status === 304) this.state = S_HEAD;
    else if (te !== undefined) {
      const codings = te.toLowerCase();
      const last = codings.slice(codings.lastIndexOf(',') + 1).trim();
      if (last === 'chunked') {
        this.state = S_CHUNK_SIZE;
        this.line = '';
      } else {
        this.state = S_UNTIL_CLOSE;
        this.keepAlive = false;
      }
    } else if (length >= 0) {
      this.state = S_LENGTH;
      this.remaining = length;
    } else {
      this.state = S_UNTIL_CLOSE;
      this.keepAlive = false;
    }
    return true;
  }

  private bad(ex: Exchange, code: string, message: string): void {
    this.keepAlive = false;
    this.pool.fail(ex, err(code, message));
  }

  /**
   * The answer's last byte was read. A paused handler gets its end on resume, as undici holds the parser:
   * a handler paused in onResponseStart (an async response plugin) has not sent its head yet.
   */
  private finish(ex: Exchange, trailers: IncomingHttpHeaders): void {
    if (ex.paused) this.endDeferred = trailers;
    else this.complete(ex, trailers);
  }

  /** The paused exchange resumed: its held end, or the bytes held back, then the end of the stream if it came. */
  resumeParsing(): void {
    const ex = this.ex;
    if (ex === undefined || ex.done) return;
    const rest = this.pending;
    this.pending = undefined;
    const end = this.endDeferred;
    if (end !== undefined) {
      this.endDeferred = undefined;
      this.complete(ex, end);
      this.afterParse(rest !== undefined);
    } else if (rest !== undefined) this.parse(rest);
    else if (this.eof) this.afterParse(false);
  }

  /** The answer ended: the handler gets its end, the socket goes back to the pool or is closed. */
  private complete(ex: Exchange, trailers: IncomingHttpHeaders): void {
    ex.done = true;
    ex.releaseBody?.();
    ex.conn = undefined;
    this.ex = undefined;
    this.ioArmed = false;
    this.pending = undefined;
    this.state = S_HEAD;
    const reuse = this.keepAlive && ex.sent && !this.dead && !this.eof && this.idleMs > 0;
    if (reuse) this.reusable = true;
    else this.destroy();
    ex.handler.onResponseEnd?.(ex, trailers);
  }

  /** The exchange failed while on this socket: the socket's state is unknown, so it is closed. */
  detach(ex: Exchange): void {
    if (this.ex !== ex) return;
    this.ex = undefined;
    ex.conn = undefined;
    this.ioArmed = false;
    this.pending = undefined;
    this.endDeferred = undefined;
    this.destroy();
  }
}

function onConnectTimeout(c: Conn): void {
  c.connectTimedOut();
}
function onIoTimeout(c: Conn): void {
  c.ioTimedOut();
}
function onIdleTimeout(c: Conn): void {
  c.idleTimedOut();
}
function onDeadlineTimer(d: Deadline): void {
  d.timerFired();
}
function sweepPool(p: Http1Pool): void {
  p.sweep();
}

/** undici's reading of a timeout option: unset is 300 s, 0 is none. */
function timeoutOf(ms: number | null | undefined): number {
  return ms === undefined || ms === null ? DEFAULT_TIMEOUT_MS : ms;
}

/** A non-negative decimal integer in s[from, to), or -1. */
function parseDigits(s: string, from: number, to: number): number {
  if (to <= from || to - from > 15 || to > s.length) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** `timeout=N` of a Keep-Alive header, in ms minus a margin, bounded by the pool's setting. */
function keepAliveHint(v: string, max: number): number {
  const m = /timeout\s*=\s*(\d+)/i.exec(v);
  if (m === null) return max;
  return Math.min(max, Number(m[1]) * 1000 - KEEP_ALIVE_MARGIN_MS);
}

/** No control characters in s[from, to) but HTAB (obs-text, 0x80–0xff, is allowed as llhttp allows it). */
function isFieldText(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return false;
  }
  return true;
}

/**
 * The hop-by-hop fields of a response head that frame the answer on this connection. They are kept out of
 * the headers object handed to the proxy, which would otherwise delete them: a deleted property turns a V8
 * object into a dictionary, and every header the gateway adds, and Node's walk over them when it writes the
 * head, would then go through hash lookups for the rest of the response.
 */
interface HopFields {
  connection: string | undefined;
  keepAlive: string | undefined;
  te: string | undefined;
}

/** A repeated field's values as one list (RFC 9110 §5.3). */
function joinField(prev: string | undefined, value: string): string {
  return prev === undefined ? value : `${prev}, ${value}`;
}

function clearHop(hop: HopFields): HopFields {
  hop.connection = hop.keepAlive = hop.te = undefined;
  return hop;
}

/**
 * CRLF-separated field lines from `from` to the end of `s` into a headers object (lower-case names, repeated
 * names as arrays), in one pass; false for a line llhttp would refuse: obs-fold, a name that is not a token
 * (whitespace before the colon included), a control character or bare LF in a value. With `hop`, Connection,
 * Keep-Alive and Transfer-Encoding go there instead (repeated ones joined with ", ").
 */
function parseFields(s: string, from: number, out: IncomingHttpHeaders, hop?: HopFields): boolean {
  const o = out as Record<string, string | string[] | undefined>;
  const n = s.length;
  let i = from;
  while (i < n) {
    const nameStart = i;
    let c: number;
    while (i < n) {
      c = s.charCodeAt(i);
      if (c === 58) break;
      if (c > 127 || TCHAR[c] === 0) return false;
      i++;
    }
    if (i === nameStart || i === n) return false;
    const name = s.slice(nameStart, i);
    i++;
    while (i < n && ((c = s.charCodeAt(i)) === 32 || c === 9)) i++;
    const valueStart = i;
    let valueEnd = i;
    while (i < n) {
      c = s.charCodeAt(i);
      if (c === 13) break;
      if ((c < 32 && c !== 9) || c === 127) return false;
      i++;
      if (c !== 32 && c !== 9) valueEnd = i;
    }
    if (i < n) {
      if (s.charCodeAt(i + 1) !== 10) return false;
      i += 2;
    }
    const value = s.slice(valueStart, valueEnd);
    const key = name.toLowerCase();
    if (hop !== undefined && (key.length === 10 || key.length === 17)) {
      if (key === 'connection') {
        hop.connection = joinField(hop.connection, value);
        continue;
      }
      if (key === 'keep-alive') {
        hop.keepAlive = joinField(hop.keepAlive, value);
        continue;
      }
      if (key === 'transfer-encoding') {
        hop.te = joinField(hop.te, value);
        continue;
      }
    }
    const prev = o[key];
    if (prev === undefined) o[key] = value;
    else if (typeof prev === 'string') o[key] = [prev, value];
    else prev.push(value);
  }
  return true;
}

/** Builds the field lines of one request head; one instance, used synchronously, so a request allocates no closure. */
class HeadWriter {
  fields = '';
  host = false;
  /** The Content-Length given, or -1. */
  length = -1;
  error: UpstreamClientError | undefined = undefined;
  private hostHeader = '';

  reset(hostHeader: string): void {
    this.fields = '';
    this.host = false;
    this.length = -1;
    this.error = undefined;
    this.hostHeader = hostHeader;
  }

  /** Appends one field (each element of an array value); false with `error` set for one that must not be sent. */
  add(name: string, value: unknown): boolean {
    if (value === undefined || value === null) return true;
    if (Array.isArray(value)) {
      for (const v of value) if (!this.add(name, v)) return false;
      return true;
    }
    const v = typeof value === 'string' ? value : String(value);
    if (typeof name !== 'string' || !isToken(name)) return this.fail(`invalid header name ${JSON.stringify(name)}`);
    if (BAD_VALUE.test(v)) return this.fail(`invalid ${name} header`);
    const n = name.length;
    if (n === 4 && name.toLowerCase() === 'host') {
      this.host = true;
      this.fields += `${name}: ${v === '' ? this.hostHeader : v}\r\n`;
      return true;
    }
    if (n === 14 && name.toLowerCase() === 'content-length') {
      if (this.length !== -1) return this.fail('duplicate content-length header');
      this.length = parseDigits(v, 0, v.length);
      if (this.length < 0) return this.fail('invalid content-length header');
    } else if (n === 17 && name.toLowerCase() === 'transfer-encoding') return this.fail('invalid transfer-encoding header');
    this.fields += `${name}: ${v}\r\n`;
    return true;
  }

  private fail(message: string): false {
    this.fields = '';
    this.error = err('UND_ERR_INVALID_ARG', message);
    return false;
  }
}

const headWriter = new HeadWriter();

/**
 * Keep-alive sockets to one `http://host:port`. `dispatch` never throws: a request it cannot send reaches the
 * handler's onResponseError, as with undici.
 */
export class Http1Pool implements UpstreamDispatcher {
  readonly maxHeaderSize: number;
  readonly keepAliveTimeout: number;
  private readonly idleConns: Conn[] = [];
  private readonly all = new Set<Conn>();
  private readonly queue: Exchange[] = [];
  private readonly hostHeader: string;
  private closing = false;
  private sweeper: NodeJS.Timeout | undefined = undefined;
  private lastKeepAlive = '';
  private lastKeepAliveMs = 0;
  private closedWaiters: (() => void)[] = [];

  constructor(private readonly o: Http1PoolOptions) {
    this.maxHeaderSize = o.maxHeaderSize ?? MAX_HEADER_SIZE;
    this.keepAliveTimeout = o.keepAliveTimeout;
    const host = o.host.includes(':') ? `[${o.host}]` : o.host;
    this.hostHeader = o.port === 80 ? host : `${host}:${o.port}`;
  }

  /** Sockets open (connecting, busy or idle) and requests waiting for one. */
  get stats(): { connected: number; idle: number; queued: number } {
    return { connected: this.all.size, idle: this.idleConns.length, queued: this.queue.length };
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const ex = new Exchange(this, opts, handler);
    handler.onRequestStart?.(ex, {});
    if (ex.done) return false;
    if (this.closing) {
      this.fail(ex, err('UND_ERR_CLOSED', 'The client is closed'));
      return false;
    }
    const problem = this.buildHead(ex);
    if (problem !== undefined) {
      this.fail(ex, problem);
      return false;
    }
    const idle = this.idleConns;
    while (idle.length > 0) {
      const c = idle.pop()!;
      if (!c.dead) {
        c.start(ex);
        return true;
      }
    }
    if (this.all.size < this.o.connections) {
      const c = new Conn(this, this.o);
      this.all.add(c);
      c.start(ex);
    } else this.queue.push(ex);
    return true;
  }

  /** The request line and fields, validated as undici validates them; an error for what must not be sent. */
  private buildHead(ex: Exchange): UpstreamClientError | undefined {
    const { method, path } = ex.opts;
    if (typeof method !== 'string' || !isToken(method)) return err('UND_ERR_INVALID_ARG', 'invalid request method');
    if (typeof path !== 'string' || path === '' || BAD_PATH.test(path)) return err('UND_ERR_INVALID_ARG', 'invalid request path');
    if (ex.opts.upgrade) return err('UND_ERR_INVALID_ARG', 'upgrade is not supported by this client');
    const w = headWriter;
    w.reset(this.hostHeader);
    const h = ex.opts.headers;
    if (Array.isArray(h)) {
      for (let i = 0; i < h.length; i += 2) if (!w.add(h[i] as string, h[i + 1])) return w.error;
    } else if (h !== null && h !== undefined) {
      for (const name of Object.keys(h)) if (!w.add(name, (h as Record<string, unknown>)[name])) return w.error;
    }
    let head = w.host ? `${method} ${path} HTTP/1.1\r\n${w.fields}` : `${method} ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n${w.fields}`;
    const length = w.length;
    w.fields = '';
    const body = ex.opts.body;
    if (body === null || body === undefined) {
      // A declared length without its bytes would make the next request on the socket read as this body.
      if (length > 0) return lengthMismatch();
      if (length === -1 && methodExpectsPayload(method)) head += 'content-length: 0\r\n';
    } else if (typeof body === 'string' || body instanceof Uint8Array) {
      const n = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
      if (length === -1) head += `content-length: ${n}\r\n`;
      else if (length !== n) return lengthMismatch();
    } else if (typeof (body as Readable).on === 'function') {
      if (length === -1) head += 'transfer-encoding: chunked\r\n';
    } else return err('UND_ERR_INVALID_ARG', 'unsupported request body');
    ex.head = head + '\r\n';
    ex.declaredLength = length;
    return undefined;
  }

  /** The idle time a `Keep-Alive` value allows; upstreams send the same value every time, so the last is kept. */
  keepAliveMs(value: string): number {
    if (value !== this.lastKeepAlive) {
      this.lastKeepAlive = value;
      this.lastKeepAliveMs = keepAliveHint(value, this.keepAliveTimeout);
    }
    return this.lastKeepAliveMs;
  }

  /** Ends an exchange with an error (once): off its socket (which is closed) or out of the queue. */
  fail(ex: Exchange, e: Error): void {
    if (ex.done) return;
    ex.done = true;
    ex.releaseBody?.();
    const c = ex.conn;
    if (c !== undefined) c.detach(ex);
    else {
      const i = this.queue.indexOf(ex);
      if (i !== -1) this.queue.splice(i, 1);
    }
    ex.handler.onResponseError?.(ex, e);
  }

  /** Starts the sweep of coarse deadlines (once; it stops when the pool closes). */
  sweepSoon(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(sweepPool, SWEEP_MS, this);
    this.sweeper.unref();
  }

  private stopSweep(): void {
    if (this.sweeper === undefined) return;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  sweep(): void {
    const now = performance.now();
    for (const c of this.all) c.sweep(now);
  }

  /** A socket finished an answer and may be reused. */
  release(c: Conn): void {
    const next = this.queue.shift();
    if (next !== undefined) {
      c.start(next);
      return;
    }
    if (this.closing) {
      c.destroy();
      return;
    }
    c.idle();
    this.idleConns.push(c);
  }

  /** A socket closed: forget it, and open another for a waiting request. */
  closed(c: Conn): void {
    this.all.delete(c);
    if (this.all.size === 0) this.stopSweep();
    const i = this.idleConns.indexOf(c);
    if (i !== -1) this.idleConns.splice(i, 1);
    if (this.queue.length > 0 && this.all.size < this.o.connections) {
      const next = this.queue.shift()!;
      const n = new Conn(this, this.o);
      this.all.add(n);
      n.start(next);
    }
    if (this.all.size === 0 && this.closing) {
      // Requests in flight during close kept their read timeouts until here.
      this.stopSweep();
      const w = this.closedWaiters;
      this.closedWaiters = [];
      for (const f of w) f();
    }
  }

  /** Stops taking requests; resolves once the requests already taken are answered and every socket is closed. */
  close(): Promise<void> {
    this.closing = true;
    for (const c of this.idleConns.splice(0)) c.destroy();
    if (this.all.size === 0) {
      this.stopSweep();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  /** Fails what is queued or in flight and closes every socket now. */
  destroy(): Promise<void> {
    this.closing = true;
    for (const ex of this.queue.splice(0)) this.fail(ex, err('UND_ERR_DESTROYED', 'The client is destroyed'));
    for (const c of [...this.all]) {
      const ex = c.ex;
      if (ex !== undefined) this.fail(ex, err('UND_ERR_DESTROYED', 'The client is destroyed'));
      c.destroy();
    }
    return this.close();
  }
}
