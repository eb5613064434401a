/**
 * The data-plane listener: a bare node:http server (no framework on the hot path) that hands every
 * request to a ProxyRequest bound to the current config snapshot, and swaps snapshots atomically.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PluginLogger } from '../plugins/types.js';
import { problem, PROBLEM_CONTENT_TYPE, type ErrorCode } from '../errors/registry.js';
import { ProxyRequest, type ProxyHost, type RequestObserver } from './proxy-request.js';
import { Router } from './router.js';
import { PhaseChains, Snapshot, type CompiledRoute } from './snapshot.js';
import { TrustedProxies, unmapIPv4 } from './trusted-proxies.js';
import { DEFAULT_CLIENT_LIMITS, type ClientLimits, type UnderscoreHeaders } from './client-limits.js';
import { handleUpgrade, tunnelUpgrade, type TunnelHandler } from './websocket.js';
import { PoolRegistry } from './upstream-pool.js';
import type { CertificateConfig } from '../config/schema.js';
import { activeCredentialKeys } from '../auth/secrets.js';
import { fingerprintOf, SniTable, type SniTableError } from '../tls/certificates.js';
import { SecureListener } from './secure-listener.js';
import { ACME_CHALLENGE_PREFIX, type AcmeChallengeResponder } from '../tls/acme-challenge.js';

export interface ProxyServerOptions {
  trustedProxies: string[];
  logger: PluginLogger;
  nodeId?: string;
  /** Largest request head (request line + headers) in bytes; over it the client gets 431. Node's default: 16 KiB. */
  maxHeaderSize?: number;
  /** Longest request target in characters; over it the client gets 414. Default 8 KiB. */
  maxUriLength?: number;
  /** Told about every request (observability/); none by default. */
  observer?: RequestObserver;
  /** Timeouts and connection caps for clients (client-limits.ts); missing fields: the defaults. */
  clientLimits?: Partial<ClientLimits>;
  /**
   * The HTTPS listener (issue 9): `auto` starts it once a certificate exists (at listen, or when the first
   * one arrives), `on` at listen even without one. Undefined: no HTTPS listener. `fd` (both listeners): an
   * already bound socket inherited from the cluster primary, listened on instead of binding host:port.
   */
  tls?: { host: string; port: number; mode: 'auto' | 'on'; fd?: number };
  /** Prior-knowledge cleartext HTTP/2 on a port of its own; undefined: none. */
  h2c?: { host: string; port: number; fd?: number };
  /** ACME HTTP-01 answers (tls/acme-challenge.ts), served before routing; undefined: ACME is off. */
  acmeChallenges?: AcmeChallengeResponder;
}

/** How long a draining proxy waits for connections it just accepted to send their request (see close()). */
const ACCEPT_GRACE_MS = 500;

export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;
export const DEFAULT_MAX_URI_LENGTH = 8 * 1024;

/** Until the first swap every request is a 404, never a crash. */
function emptySnapshot(logger: PluginLogger): Snapshot {
  return new Snapshot(0, new Router<CompiledRoute>([]), [], new PhaseChains([]), [], [], new PoolRegistry(), logger);
}

export class ProxyServer implements ProxyHost {
  readonly trusted: TrustedProxies;
  readonly logger: PluginLogger;
  readonly tunnel: TunnelHandler = tunnelUpgrade;
  readonly observer: RequestObserver | undefined;
  readonly nodeId: string | undefined;
  private current: Snapshot;
  private readonly server: Server;
  private activeConnections = 0;
  private totalConnections = 0;
  private requests = 0;
  private readonly retiring = new Set<Snapshot>();
  private readonly maxUriLength: number;
  private readonly maxHeadersCount: number;
  private readonly maxPerIp: number;
  /** Open connections per client address; only kept when a per-address cap is set. */
  private readonly perIp = new Map<string, number>();
  readonly strictPaths: boolean;
  readonly underscoreHeaders: UnderscoreHeaders;
  private readonly tlsOptions: ProxyServerOptions['tls'];
  private readonly h2cOptions: ProxyServerOptions['h2c'];
  private secure: SecureListener | undefined;
  private plainListening = false;
  private pendingTable: SniTable = SniTable.EMPTY;
  private readonly acme: AcmeChallengeResponder | undefined;

  constructor(opts: ProxyServerOptions) {
    this.trusted = new TrustedProxies(opts.trustedProxies);
    this.logger = opts.logger;
    this.observer = opts.observer;
    this.nodeId = opts.nodeId;
    this.current = emptySnapshot(opts.logger);
    this.maxUriLength = opts.maxUriLength ?? DEFAULT_MAX_URI_LENGTH;
    const lim: ClientLimits = { ...DEFAULT_CLIENT_LIMITS, ...opts.clientLimits };
    this.maxHeadersCount = lim.maxHeadersCount;
    this.maxPerIp = lim.maxConnectionsPerIp;
    this.strictPaths = lim.strictPaths;
    this.underscoreHeaders = lim.underscoreHeaders;
    const shortest = Math.min(lim.headersTimeoutMs || Infinity, lim.requestTimeoutMs || Infinity);
    this.server = createServer(
      {
        keepAlive: true,
        noDelay: true,
        requireHostHeader: false,
        maxHeaderSize: opts.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
        headersTimeout: lim.headersTimeoutMs,
        requestTimeout: lim.requestTimeoutMs,
        keepAliveTimeout: lim.keepAliveTimeoutMs,
        // Node checks both timeouts on this interval (30 s by default, which would stretch a 10 s limit to 40 s).
        connectionsCheckingInterval: Number.isFinite(shortest) ? Math.max(100, Math.min(1000, Math.floor(shortest / 4))) : 30_000,
        shouldUpgradeCallback: isUpgradeAllowed,
      },
      this.onRequest,
    );
    // One over the cap is still parsed, so a request with too many headers is told so instead of truncated.
    this.server.maxHeadersCount = lim.maxHeadersCount + 1;
    if (lim.idleTimeoutMs > 0) this.server.setTimeout(lim.idleTimeoutMs);
    if (lim.maxConnections > 0) this.server.maxConnections = lim.maxConnections;
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('connection', this.onConnection);
    this.server.on('clientError', onClientError);
    this.tlsOptions = opts.tls;
    this.h2cOptions = opts.h2c;
    this.acme = opts.acmeChallenges;
    if (opts.tls !== undefined || opts.h2c !== undefined) {
      this.secure = new SecureListener(
        { request: this.onRequest, upgrade: this.onUpgrade, connection: this.onConnection, clientError: onClientError },
        { maxHeaderSize: opts.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE, limits: lim },
      );
    }
  }

  /**
   * The certificates of the HTTPS listener, from each config document. An unchanged set is not rebuilt; a
   * changed one is swapped in for the next handshakes. Resolves with the certificates that could not be used.
   * `clientCa`: the CAs mtls-auth instances trust (plugins/mtls-auth/listener-ca.ts), swapped the same way.
   */
  async setCertificates(certs: readonly CertificateConfig[] | undefined, clientCa: readonly string[] = []): Promise<SniTableError[]> {
    const secure = this.secure;
    if (secure === undefined || this.tlsOptions === undefined) return [];
    const list = certs ?? [];
    if (fingerprintOf(list, clientCa) === this.pendingTable.fingerprint) return [...this.pendingTable.errors];
    const table = SniTable.build(list, activeCredentialKeys(), clientCa);
    for (const e of table.errors) this.logger.error({ certificate: e.certificate, err: e.message }, 'TLS certificate unusable; its server names are not served');
    this.pendingTable = table;
    secure.update(table);
    if (this.plainListening && !secure.isListening && table.size > 0) {
      // A config change must not fail because the port is taken; the node keeps serving plain HTTP and says why.
      await this.listenTls().catch((err: unknown) => this.logger.error({ err, port: this.tlsOptions?.port }, 'HTTPS listener could not start'));
    }
    return [...table.errors];
  }

  private async listenTls(): Promise<void> {
    const t = this.tlsOptions!;
    await this.secure!.listen(t.host, t.port, t.fd);
    this.logger.info({ port: this.secure!.address()?.port, certificates: this.pendingTable.size }, 'HTTPS listener started (HTTP/2 and HTTP/1.1)');
  }

  /** The HTTPS listener's port once it listens; undefined before. */
  tlsAddress(): { port: number } | undefined {
    return this.secure?.address();
  }

  h2cAddress(): { port: number } | undefined {
    return this.secure?.h2cAddress();
  }

  /** The snapshot new requests use. */
  get snapshot(): Snapshot {
    return this.current;
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.requests++;
    if (req.url !== undefined && req.url.length > this.maxUriLength) return uriTooLong(res, this.maxUriLength);
    // Requests pipelined behind a refused one were framed by the same untrusted bytes: never proxied.
    if ((req.socket as RefusedSocket)[kRefused] === true) return;
    if (req.rawHeaders.length > this.maxHeadersCount * 2) return refuse(res, 431, 'GW_ERR_HEADERS_TOO_LARGE', `more than ${this.maxHeadersCount} header fields`);
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request means faulty framing; never guess at it.
    if (req.httpVersionMinor === 0 && req.httpVersionMajor === 1 && req.headers['transfer-encoding'] !== undefined) {
      return refuse(res, 400, 'GW_ERR_BAD_REQUEST', 'Transfer-Encoding in an HTTP/1.0 request');
    }
    // ACME HTTP-01 (issue 9): before routing, so no route or plugin can hide it; nothing to do when ACME is off.
    if (this.acme !== undefined && req.url !== undefined && req.url.startsWith(ACME_CHALLENGE_PREFIX)) return this.acme.answer(req, res);
    const snap = this.current;
    snap.acquire();
    new ProxyRequest(this, snap, req, res, undefined).start();
  };

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.requests++;
    handleUpgrade(this, this.current, req, socket, head);
  };

  private readonly onConnection = (socket: Socket): void => {
    if (this.maxPerIp > 0 && !this.admitPerIp(socket)) return;
    this.activeConnections++;
    this.totalConnections++;
    socket.once('close', () => this.activeConnections--);
  };

  /** Counts the connection against its address's cap; false (and the socket dropped) when over it. */
  private admitPerIp(socket: Socket): boolean {
    const ip = unmapIPv4(socket.remoteAddress ?? '');
    // Behind a load balancer every client shares its address; the balancer enforces per-client caps.
    if (ip === '' || this.trusted.has(ip)) return true;
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.maxPerIp) {
      socket.destroy();
      return false;
    }
    this.perIp.set(ip, n + 1);
    socket.once('close', () => {
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    });
    return true;
  }

  /** Atomically replaces the config; requests in flight finish on the snapshot they started with. */
  swap(s: Snapshot): void {
    const old = this.current;
    if (old === s) return;
    this.current = s;
    this.retire(old);
  }

  private retire(old: Snapshot): void {
    this.retiring.add(old);
    old.retire().then(
      () => this.retiring.delete(old),
      (err: unknown) => {
        this.retiring.delete(old);
        this.logger.error({ err }, 'closing a retired snapshot failed');
      },
    );
  }

  /**
   * `fd`: an already bound socket inherited from the cluster primary (runtime/cluster.ts); `host`/`port` are then
   * only descriptive. `exclusive` keeps node:cluster from routing the listen through the primary's IPC.
   */
  listen(host: string, port: number, fd?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(fd === undefined ? { port, host } : { fd, exclusive: true }, () => {
        this.server.off('error', reject);
        resolve();
      });
    }).then(async () => {
      this.plainListening = true;
      const t = this.tlsOptions;
      if (t !== undefined && (t.mode === 'on' || this.pendingTable.size > 0)) await this.listenTls();
      const h = this.h2cOptions;
      if (h !== undefined) await this.secure!.listenH2c(h.host, h.port, h.fd);
    });
  }

  /** The bound address (useful with port 0). */
  address(): { address: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('not listening');
    return { address: a.address, port: a.port };
  }

  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes everything. */
  async close(graceMs = 10_000): Promise<void> {
    // Stop accepting without http.Server#close(), which also closes idle connections at once: a connection
    // accepted a moment ago has not sent its request yet, counts as idle, and its client would see a reset.
    // When the listening socket is shared (cluster mode) the other processes take new connections at once;
    // the ones accepted here get a short grace to send their request, which is then served.
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve()));
    const secureClosed = this.secure?.beginClose();
    const deadline = Date.now() + graceMs;
    if (this.activeConnections > 0 || (this.secure?.openConnections ?? 0) > 0) await new Promise((r) => setTimeout(r, Math.min(ACCEPT_GRACE_MS, graceMs)));
    this.server.closeIdleConnections();
    this.secure?.closeIdle();
    while ((this.current.inFlight > 0 || this.secure?.settling === true) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      this.server.closeIdleConnections();
      this.secure?.closeIdle();
    }
    this.secure?.closeSessions();
    this.server.closeAllConnections();
    this.secure?.destroyAll();
    await closed;
    await secureClosed;
    await this.current.close();
    await Promise.all([...this.retiring].map((s) => s.close()));
    // The last requests' observers run now, before the caller closes the access log and the exporter.
    this.observer?.endHeld?.();
  }

  stats(): { active: number; total: number; requests: number } {
    return { active: this.activeConnections, total: this.totalConnections, requests: this.requests };
  }
}

/**
 * Malformed HTTP from a client: answer when the socket can still take it, else drop it. The parser
 * cannot resume after an error, so the connection is closed after the answer.
 */
function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  // A response already on the wire (a pipelined request before the bad one) must not get a second head.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  // Node's headers/request timeouts arrive here too (GATEHOUSE_HEADERS_TIMEOUT_MS, GATEHOUSE_REQUEST_TIMEOUT_MS).
  const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const body = JSON.stringify(
    tooLarge ? problem('GW_ERR_HEADERS_TOO_LARGE') : timedOut ? problem('GW_ERR_REQUEST_TIMEOUT') : problem('GW_ERR_BAD_REQUEST', { detail: err.code ?? err.message }),
  );
  const status = tooLarge ? '431 Request Header Fields Too Large' : timedOut ? '408 Request Timeout' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/** h2c would turn the connection into HTTP/2 straight to the upstream, past routing and plugins. */
const H2C = /(^|[\s,])h2c($|[\s,])/i;
function isUpgradeAllowed(req: IncomingMessage): boolean {
  const u = req.headers.upgrade;
  return u === undefined || !H2C.test(u);
}

const kRefused = Symbol('gatehouse.refused');
type RefusedSocket = { [kRefused]?: boolean };

/**
 * Refuses a request before routing. The connection closes after the answer, and requests Node already
 * parsed behind this one on it are dropped unanswered (onRequest), because their framing cannot be trusted.
 */
function refuse(res: ServerResponse, status: number, code: ErrorCode, detail: string): void {
  const body = JSON.stringify(problem(code, { detail }));
  const headers: Record<string, string | number> = { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' };
  // HTTP/2 streams are framed one by one and share the connection: only an HTTP/1 connection is given up.
  if (res.req.httpVersionMajor === 1) {
    (res.req.socket as RefusedSocket)[kRefused] = true;
    res.shouldKeepAlive = false;
    headers.connection = 'close';
  }
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * A request target over the limit, refused before any parsing or routing work. The answer is complete
 * and Node discards the unread body, so a keep-alive connection stays usable.
 */
function uriTooLong(res: ServerResponse, max: number): void {
  const body = JSON.stringify(problem('GW_ERR_URI_TOO_LONG', { detail: `the request target is longer than ${max} characters` }));
  res.writeHead(414, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}
