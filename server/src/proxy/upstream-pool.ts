/**
 * Connection pools to upstream targets (one undici Pool per target, connection and TLS settings), shared
 * between config snapshots by reference count so a reload keeps warm keep-alive connections, plus the
 * mapping of upstream failures to the gateway's error codes and retry rules.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { buildConnector, Pool } from 'undici';
import { Http1Pool, type UpstreamClientKind, type UpstreamDispatcher } from './h1-client.js';
import type { ErrorCode } from '../errors/registry.js';
import type { UpstreamFailureKind } from '../plugins/types.js';

/** How the gateway's TLS connections to a target are made (services with protocol https or grpcs). */
export interface UpstreamTls {
  /** false: any certificate is accepted (tls_verify off). */
  verify: boolean;
  /** PEM CAs replacing the system's; undefined: Node's bundled roots. */
  ca: string[] | undefined;
  /** Client certificate chain and its clear private key (mutual TLS); never logged or keyed in clear. */
  cert: string | undefined;
  key: string | undefined;
}

export interface PoolSettings {
  /** `http://host:port` or `https://host:port`. */
  origin: string;
  connections: number;
  keepAliveTimeout: number;
  connectTimeout: number;
  /** TLS settings for `https:` origins; undefined: verify against the system's CAs, no client certificate. */
  tls?: UpstreamTls;
  /** Speak HTTP/2 to the target (gRPC): over TLS negotiated by ALPN, in clear text by prior knowledge (h2c). */
  h2?: boolean;
}

class PoolEntry {
  refs = 0;
  constructor(
    readonly key: string,
    readonly pool: UpstreamDispatcher,
  ) {}
}

/** Identity of TLS settings in a pool key: a digest, so the private key never sits in a map key in clear. */
function tlsKey(t: UpstreamTls | undefined): string {
  if (t === undefined) return '';
  const h = createHash('sha256');
  h.update(t.verify ? '1' : '0');
  for (const ca of t.ca ?? []) h.update('\0ca').update(ca);
  h.update('\0cert').update(t.cert ?? '');
  h.update('\0key').update(t.key ?? '');
  return h.digest('base64url');
}

/**
 * Hands out pools keyed by their settings; a pool is closed when the last snapshot using it is retired.
 * Services sharing a target but not its TLS settings (CAs, client certificate) or protocol get distinct pools,
 * so a connection made under one setting is never reused under another.
 */
/** The proxy worker sets it from GATEHOUSE_UPSTREAM_CLIENT before building any snapshot. */
let defaultClient: UpstreamClientKind = 'gatehouse';
export function setUpstreamClient(kind: UpstreamClientKind): void {
  defaultClient = kind;
}

export class PoolRegistry {
  private readonly entries = new Map<string, PoolEntry>();

  constructor(private readonly client: UpstreamClientKind = defaultClient) {}

  acquire(s: PoolSettings): UpstreamDispatcher {
    const key = `${s.origin}|${s.connections}|${s.keepAliveTimeout}|${s.connectTimeout}|${s.h2 === true ? 'h2' : 'h1'}|${tlsKey(s.tls)}`;
    let e = this.entries.get(key);
    if (!e && this.client === 'gatehouse' && s.h2 !== true && s.origin.startsWith('http:')) {
      // Clear-text HTTP/1.1, the common case: the gateway's own client (h1-client.ts says why).
      const u = new URL(s.origin);
      const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
      const pool = new Http1Pool({ host, port: Number(u.port || 80), connections: s.connections, keepAliveTimeout: s.keepAliveTimeout, connectTimeout: s.connectTimeout });
      e = new PoolEntry(key, pool);
      this.entries.set(key, e);
    }
    if (!e) {
      const tls = s.tls;
      const h2 = s.h2 === true;
      const connect = {
        // ALPN offers h2 first for gRPC, so a target that also speaks HTTP/1.1 still picks h2.
        ...(h2 ? { preferH2: true } : {}),
        ...(tls !== undefined
          ? {
              rejectUnauthorized: tls.verify,
              ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
              ...(tls.cert !== undefined ? { cert: tls.cert, key: tls.key } : {}),
            }
          : {}),
      };
      const pool = new Pool(s.origin, {
        connections: s.connections,
        keepAliveTimeout: s.keepAliveTimeout,
        // Upstreams may announce a longer keep-alive; never keep a socket idle longer than configured.
        keepAliveMaxTimeout: s.keepAliveTimeout,
        connectTimeout: s.connectTimeout,
        pipelining: 1,
        allowH2: h2,
        // gRPC targets speak only HTTP/2: in clear text without an upgrade dance (prior knowledge). Top-level
        // option on purpose: undici 8's Pool reads `useH2c` there and ignores `h2Options.useH2c`.
        ...(h2 ? { useH2c: !s.origin.startsWith('https:') } : {}),
        connect: tls !== undefined ? watchTlsAlerts(buildConnector({ ...connect, allowH2: h2, timeout: s.connectTimeout })) : connect,
      });
      e = new PoolEntry(key, pool);
      this.entries.set(key, e);
    }
    e.refs++;
    return e.pool;
  }

  async release(pool: UpstreamDispatcher): Promise<void> {
    for (const e of this.entries.values()) {
      if (e.pool !== pool) continue;
      if (--e.refs > 0) return;
      this.entries.delete(e.key);
      await e.pool.close().catch(() => e.pool.destroy());
      return;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * TLS alerts seen on the gateway's sockets, by local port, for a few seconds. With TLS 1.3 a target refuses a
 * client certificate only after the handshake, with an alert that undici then reports as a plain "other side
 * closed" socket error; this lets that error be told apart from a reset (see underlyingTlsError).
 */
const tlsAlerts = new Map<number, Error>();

function watchTlsAlerts(base: buildConnector.connector): buildConnector.connector {
  return (opts, callback) =>
    base(opts, (err, socket) => {
      if (socket != null) (socket as Socket).on('error', onSocketError);
      // undici's connector types the callback as a union of two signatures.
      (callback as (e: Error | null, s: Socket | null | undefined) => void)(err, socket as Socket | null | undefined);
    });
}

function onSocketError(this: Socket, err: Error & { code?: string }): void {
  const port = this.localPort;
  if (port === undefined || !isTlsFailure(err.code ?? '')) return;
  tlsAlerts.set(port, err);
  setTimeout(forgetTlsAlert, 5_000, port, err).unref();
}

function forgetTlsAlert(port: number, err: Error): void {
  if (tlsAlerts.get(port) === err) tlsAlerts.delete(port);
}

/** The TLS error behind an upstream failure: the error itself, or the alert that preceded a socket error. */
export function underlyingTlsError(err: unknown): Error | undefined {
  const e = err as { code?: string; socket?: { localPort?: number } } | null;
  const code = e?.code ?? '';
  if (isTlsFailure(code)) return err as Error;
  if (!RESET_FAILURES.has(code)) return undefined;
  const port = e?.socket?.localPort;
  return port !== undefined ? tlsAlerts.get(port) : undefined;
}

/** Raised by the proxy when the client side stops feeding the request body for longer than write_timeout. */
export class UpstreamWriteTimeoutError extends Error {
  readonly code = 'GW_WRITE_TIMEOUT';
  constructor() {
    super('request body write timed out');
    this.name = 'UpstreamWriteTimeoutError';
  }
}

/** How an upstream failure is answered, and whether the request may be retried elsewhere. */
export interface UpstreamFailure {
  code: ErrorCode;
  /** `connect`: the request never reached the target (safe for any method); `reset`: it may have. */
  retry: 'connect' | 'reset' | 'no';
  /** What health checks and circuit breakers count it as. */
  kind: UpstreamFailureKind;
}

// Shared results: classifying a failure allocates nothing.
const CONNECT_TIMEOUT: UpstreamFailure = { code: 'GW_ERR_UPSTREAM_TIMEOUT', retry: 'connect', kind: 'connect' };
const READ_TIMEOUT: UpstreamFailure = { code: 'GW_ERR_UPSTREAM_TIMEOUT', retry: 'no', kind: 'timeout' };
const REFUSED: UpstreamFailure = { code: 'GW_ERR_UPSTREAM_UNAVAILABLE', retry: 'connect', kind: 'connect' };
const RESET: UpstreamFailure = { code: 'GW_ERR_UPSTREAM_UNAVAILABLE', retry: 'reset', kind: 'reset' };
const BAD_RESPONSE: UpstreamFailure = { code: 'GW_ERR_UPSTREAM_BAD_RESPONSE', retry: 'no', kind: 'other' };
const OTHER: UpstreamFailure = { code: 'GW_ERR_UPSTREAM_UNAVAILABLE', retry: 'no', kind: 'other' };
// A certificate the gateway does not trust (or a refused client certificate) is a configuration fault, the
// same on every try: not retried, and not held against the target's health.
const TLS: UpstreamFailure = { code: 'GW_ERR_UPSTREAM_TLS', retry: 'no', kind: 'other' };

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const RESET_FAILURES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** OpenSSL's certificate verification results (X509_V_ERR_* names as Node reports them). */
const TLS_VERIFY_FAILURES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_CERT_ALTNAME_FORMAT',
]);

/** Whether an upstream error is the TLS handshake failing: verification on our side, or an alert from the target. */
export function isTlsFailure(code: string): boolean {
  // ERR_SSL_*: OpenSSL errors and alerts, e.g. the target refusing (or asking for) a client certificate.
  return TLS_VERIFY_FAILURES.has(code) || code.startsWith('ERR_SSL_');
}

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = (err as { code?: string } | null)?.code ?? '';
  if (isTlsFailure(code) || (RESET_FAILURES.has(code) && underlyingTlsError(err) !== undefined)) return TLS;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return CONNECT_TIMEOUT;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'GW_WRITE_TIMEOUT') return READ_TIMEOUT;
  if (CONNECT_FAILURES.has(code)) return REFUSED;
  if (RESET_FAILURES.has(code)) return RESET;
  if (code.startsWith('HPE_') || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_HEADERS_OVERFLOW') return BAD_RESPONSE;
  // undici's llhttp errors (Content-Length with Transfer-Encoding, a non-HTTP status line, bad chunking)
  // often carry no code, only their class name.
  if ((err as { name?: string } | null)?.name === 'HTTPParserError') return BAD_RESPONSE;
  return OTHER;
}

/** Methods whose repetition has no extra effect (RFC 9110 §9.2.2): a reset connection may be retried. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
