/**
 * The data-plane listener: a bare node:http server (no framework on the hot path) that hands every
 * request to a ProxyRequest bound to the current config snapshot, and swaps snapshots atomically.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PluginLogger } from '../plugins/types.js';
import { problem, PROBLEM_CONTENT_TYPE } from '../errors/registry.js';
import { ProxyRequest, type ProxyHost, type RequestObserver } from './proxy-request.js';
import { Router } from './router.js';
import { PhaseChains, Snapshot, type CompiledRoute } from './snapshot.js';
import { TrustedProxies } from './trusted-proxies.js';
import { handleUpgrade, tunnelUpgrade, type TunnelHandler } from './websocket.js';
import { PoolRegistry } from './upstream-pool.js';

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
}

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

  constructor(opts: ProxyServerOptions) {
    this.trusted = new TrustedProxies(opts.trustedProxies);
    this.logger = opts.logger;
    this.observer = opts.observer;
    this.nodeId = opts.nodeId;
    this.current = emptySnapshot(opts.logger);
    this.maxUriLength = opts.maxUriLength ?? DEFAULT_MAX_URI_LENGTH;
    this.server = createServer(
      { keepAlive: true, noDelay: true, requireHostHeader: false, maxHeaderSize: opts.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE },
      this.onRequest,
    );
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('connection', this.onConnection);
    this.server.on('clientError', onClientError);
  }

  /** The snapshot new requests use. */
  get snapshot(): Snapshot {
    return this.current;
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.requests++;
    if (req.url !== undefined && req.url.length > this.maxUriLength) return uriTooLong(res, this.maxUriLength);
    const snap = this.current;
    snap.acquire();
    new ProxyRequest(this, snap, req, res, undefined).start();
  };

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.requests++;
    handleUpgrade(this, this.current, req, socket, head);
  };

  private readonly onConnection = (socket: Socket): void => {
    this.activeConnections++;
    this.totalConnections++;
    socket.once('close', () => this.activeConnections--);
  };

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

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
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
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.current.inFlight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      this.server.closeIdleConnections();
    }
    this.server.closeAllConnections();
    await closed;
    await this.current.close();
    await Promise.all([...this.retiring].map((s) => s.close()));
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
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify(tooLarge ? problem('GW_ERR_HEADERS_TOO_LARGE') : problem('GW_ERR_BAD_REQUEST', { detail: err.code ?? err.message }));
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
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
