/**
 * The proxy's HTTPS listener (and the optional cleartext HTTP/2 one). One node:http2 secure server with
 * `allowHTTP1`: ALPN picks h2 or http/1.1 per connection, and both reach the same request handler as the
 * plain listener (HTTP/2 through Node's compatibility objects, see ProxyRequest). The certificate is
 * chosen per handshake by SNI from a table that config changes replace whole, so a new certificate
 * serves from the next handshake on, without a restart; connections already open keep theirs.
 *
 * Kept apart from the plain listener so the plain HTTP path has not one more branch.
 */
import { createSecureServer, createServer as createH2cServer, type Http2SecureServer, type Http2Server, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { SniTable, TLS_POLICY } from '../tls/certificates.js';
import { DEFAULT_CLIENT_LIMITS, type ClientLimits } from './client-limits.js';
import { problem, PROBLEM_CONTENT_TYPE } from '../errors/registry.js';

export interface SecureListenerHandlers {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  connection(socket: Socket): void;
  clientError(err: Error & { code?: string }, socket: Duplex): void;
}

type AnyServer = Http2SecureServer | Http2Server;

/** How long a drain waits for a TLS handshake in progress, or a new HTTP/2 session's first stream, to arrive. */
const FIRST_STREAM_WAIT_MS = 2_000;

export class SecureListener {
  private table: SniTable = SniTable.EMPTY;
  private readonly server: Http2SecureServer;
  private h2c: Http2Server | undefined;
  private readonly sessions = new Set<Http2Session>();
  private readonly sockets = new Set<Socket>();
  private listening = false;
  /** Accepted TCP connections of the HTTPS port, handshake done or not (a drain waits for them briefly). */
  private readonly raw = new Set<Socket>();
  private draining = false;
  private drainStartedAt = 0;
  /** TLS connections past their handshake; `raw` minus these are handshakes in progress. */
  private secureOpen = 0;

  private readonly h2Options: { maxHeaderListSize: number; maxHeaderPairs: number; timeout: number };

  constructor(
    private readonly handlers: SecureListenerHandlers,
    opts: { maxHeaderSize: number; limits?: ClientLimits },
  ) {
    const lim = opts.limits ?? DEFAULT_CLIENT_LIMITS;
    const shortest = Math.min(lim.headersTimeoutMs || Infinity, lim.requestTimeoutMs || Infinity);
    // nghttp2 resets a stream over this many fields (pseudo-headers included); below it, ProxyServer's
    // count check answers a 431. Twice the cap leaves room for an answer to a client somewhat over it.
    this.h2Options = { maxHeaderListSize: opts.maxHeaderSize, maxHeaderPairs: lim.maxHeadersCount * 2 + 4, timeout: lim.idleTimeoutMs };
    this.server = createSecureServer({
      ...TLS_POLICY,
      allowHTTP1: true,
      SNICallback: this.onSni,
      // Client certificates are asked for only while an mtls-auth instance exists (update()); a missing or
      // unverifiable one never fails the handshake: routes without mtls-auth must keep working, and
      // mtls-auth checks the chain against its own CAs (plugins/mtls-auth).
      rejectUnauthorized: false,
      maxSendHeaderBlockLength: opts.maxHeaderSize * 4,
      maxHeaderListPairs: this.h2Options.maxHeaderPairs,
      settings: { maxHeaderListSize: opts.maxHeaderSize },
      // A TLS handshake is a few packets from any honest client: the head timeout bounds it too, so a
      // slowloris cannot hold a socket for Node's default 120 s before sending a request.
      ...(lim.headersTimeoutMs > 0 ? { handshakeTimeout: Math.min(120_000, lim.headersTimeoutMs) } : {}),
      // HTTP/1.1 over TLS: the same limits as the plain listener (proxy-server.ts); Node applies them to
      // the connections ALPN hands to node:http's parser.
      http1Options: {
        maxHeaderSize: opts.maxHeaderSize,
        headersTimeout: lim.headersTimeoutMs,
        requestTimeout: lim.requestTimeoutMs,
        keepAliveTimeout: lim.keepAliveTimeoutMs,
        requireHostHeader: false,
        connectionsCheckingInterval: Number.isFinite(shortest) ? Math.max(100, Math.min(1000, Math.floor(shortest / 4))) : 30_000,
      },
    } as Parameters<typeof createSecureServer>[0]);
    // One over the cap is still parsed, so a request with too many headers is told so instead of truncated.
    (this.server as unknown as { maxHeadersCount: number }).maxHeadersCount = lim.maxHeadersCount + 1;
    // Idle connections (no byte either way): HTTP/1.1 sockets and HTTP/2 sessions alike.
    if (lim.idleTimeoutMs > 0) this.server.setTimeout(lim.idleTimeoutMs);
    this.wire(this.server);
    // HTTP/1.1 over TLS goes through node:http's parser on this server: same client-error answers as the plain listener.
    this.server.on('clientError', handlers.clientError);
    this.server.on('upgrade', handlers.upgrade);
    this.server.on('secureConnection', (socket: Socket) => {
      this.secureOpen++;
      socket.once('close', () => this.secureOpen--);
      this.track(socket);
    });
    this.server.on('connection', (socket: Socket) => {
      this.raw.add(socket);
      socket.once('close', () => this.raw.delete(socket));
    });
  }

  private wire(server: AnyServer): void {
    server.on('request', this.onRequest as unknown as (req: unknown, res: unknown) => void);
    server.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      // A protocol error of one client's session must not reach the process.
      session.on('error', () => {});
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    this.handlers.connection(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /**
   * nghttp2 only advertises SETTINGS_MAX_HEADER_LIST_SIZE and decodes larger lists anyway, so the limit
   * node:http's parser enforces for HTTP/1.1 (GATEHOUSE_MAX_HEADER_SIZE) is checked here for HTTP/2,
   * counted as RFC 9113 §6.5.2 defines it (name + value + 32 per field).
   */
  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.httpVersionMajor === 2) {
      const raw = req.rawHeaders;
      let size = 0;
      for (let i = 0; i < raw.length; i += 2) size += raw[i]!.length + raw[i + 1]!.length + 32;
      if (size > this.h2Options.maxHeaderListSize) return headersTooLarge(res, this.h2Options.maxHeaderListSize);
    }
    this.handlers.request(req, res);
  };

  private readonly onSni = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    // No match: the server's own context, which holds the default certificate when there is one.
    cb(null, this.table.lookup(servername));
  };

  /** Swaps the certificate set; returns true when it changed. New handshakes use it at once. */
  update(table: SniTable): boolean {
    if (table.fingerprint === this.table.fingerprint) return false;
    this.table = table;
    // Without a default, a context with no certificate: handshakes that match no name then fail cleanly.
    this.server.setSecureContext({ ...TLS_POLICY, ...(table.clientCa.length > 0 ? { ca: [...table.clientCa] } : {}), ...(table.defaultOptions ?? {}) });
    // Read per new connection by node:tls, so the change applies from the next handshake.
    (this.server as unknown as { requestCert: boolean }).requestCert = table.clientCa.length > 0;
    return true;
  }

  get certificates(): SniTable {
    return this.table;
  }

  get isListening(): boolean {
    return this.listening;
  }

  /** `fd`: an already bound socket inherited from the cluster primary (runtime/cluster.ts); host/port are then only descriptive. */
  listen(host: string, port: number, fd?: number): Promise<void> {
    return listenOn(this.server, host, port, fd).then(() => {
      this.listening = true;
    });
  }

  /** Prior-knowledge HTTP/2 without TLS (h2c) on a port of its own; the plain listener stays HTTP/1.1 only. */
  listenH2c(host: string, port: number, fd?: number): Promise<void> {
    const h2c = createH2cServer({ maxHeaderListPairs: this.h2Options.maxHeaderPairs, settings: { maxHeaderListSize: this.h2Options.maxHeaderListSize } });
    if (this.h2Options.timeout > 0) h2c.setTimeout(this.h2Options.timeout);
    this.wire(h2c);
    h2c.on('connection', (socket: Socket) => this.track(socket));
    this.h2c = h2c;
    return listenOn(h2c, host, port, fd);
  }

  address(): { port: number } | undefined {
    const a = this.listening ? this.server.address() : null;
    return a !== null && typeof a === 'object' ? { port: a.port } : undefined;
  }

  h2cAddress(): { port: number } | undefined {
    const a = this.h2c?.address();
    return a !== null && typeof a === 'object' ? { port: a.port } : undefined;
  }

  /**
   * Stops accepting. Not Http2Server#close(), which would close idle HTTP/1.1 connections and every HTTP/2
   * session at once: a connection accepted a moment ago has not sent its request yet (in cluster mode the
   * other workers take the new connections, so these are the only ones that could be lost).
   *
   * HTTP/2 sessions get their GOAWAY (the last stream processed; open streams finish) when a stream arrives
   * during the drain: a client that waits for each answer before its next request has then nothing in flight
   * that GOAWAY could refuse, and sees it before the answer. Node's http2 has no RFC 9113 §6.8 two-step
   * shutdown: a GOAWAY naming the largest id still makes nghttp2 ignore every later stream. Sessions that stay
   * idle get theirs from closeIdle() at the end; a stream crossing it is refused (REFUSED_STREAM: never
   * processed, clients may retry it).
   */
  beginClose(): Promise<void> {
    this.draining = true;
    this.drainStartedAt = Date.now();
    const closed: Promise<void>[] = [];
    for (const s of [this.server, this.h2c]) {
      if (s === undefined || !s.listening) continue;
      s.on('stream', goawayOnStream);
      closed.push(new Promise<void>((resolve) => NetServer.prototype.close.call(s, () => resolve())));
    }
    return Promise.all(closed).then(() => undefined);
  }

  /**
   * During a drain: a connection accepted before the listener stopped is still in its TLS handshake, or an
   * HTTP/2 session has not sent its first stream yet. Its request is on the way; the drain waits for it as
   * for one in flight, for a bounded time.
   */
  get settling(): boolean {
    if (!this.draining || Date.now() - this.drainStartedAt >= FIRST_STREAM_WAIT_MS) return false;
    if (this.raw.size > this.secureOpen) return true;
    for (const session of this.sessions) if (!session.closed && !(session.state.lastProcStreamID! > 0)) return true;
    return false;
  }

  /** Connections still open (including TLS handshakes in progress). */
  get openConnections(): number {
    return this.raw.size + this.sockets.size;
  }

  /** During a drain, after the accept grace: idle HTTP/1.1 connections are closed. Safe to repeat. */
  closeIdle(): void {
    // Node has it on secure servers with allowHTTP1 (node:http's own tracking); @types/node does not declare it.
    (this.server as unknown as { closeIdleConnections(): void }).closeIdleConnections();
  }

  /** At the end of a drain: GOAWAY to the sessions that had no stream meanwhile; they close once idle. */
  closeSessions(): void {
    for (const session of this.sessions) session.close();
  }

  /** After the grace period: whatever is still open is cut. */
  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
    for (const socket of this.raw) socket.destroy();
  }
}

function goawayOnStream(this: AnyServer, stream: ServerHttp2Stream): void {
  stream.session?.close();
}

function listenOn(server: AnyServer, host: string, port: number, fd?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // `exclusive` keeps node:cluster from routing the listen through the primary's IPC (as the plain listener does).
    server.listen(fd === undefined ? { port, host } : { fd, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function headersTooLarge(res: ServerResponse, max: number): void {
  const body = JSON.stringify(problem('GW_ERR_HEADERS_TOO_LARGE', { detail: `the header list is larger than ${max} bytes` }));
  res.writeHead(431, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}
