/**
 * Connection pools to upstream targets (one undici Pool per target and connection settings), shared
 * between config snapshots by reference count so a reload keeps warm keep-alive connections, plus the
 * mapping of upstream failures to the gateway's error codes and retry rules.
 */
import { Pool } from 'undici';
import type { ErrorCode } from '../errors/registry.js';
import type { UpstreamFailureKind } from '../plugins/types.js';

export interface PoolSettings {
  /** `http://host:port` or `https://host:port`. */
  origin: string;
  connections: number;
  keepAliveTimeout: number;
  connectTimeout: number;
}

class PoolEntry {
  refs = 0;
  constructor(
    readonly key: string,
    readonly pool: Pool,
  ) {}
}

/** Hands out pools keyed by their settings; a pool is closed when the last snapshot using it is retired. */
export class PoolRegistry {
  private readonly entries = new Map<string, PoolEntry>();

  acquire(s: PoolSettings): Pool {
    const key = `${s.origin}|${s.connections}|${s.keepAliveTimeout}|${s.connectTimeout}`;
    let e = this.entries.get(key);
    if (!e) {
      const pool = new Pool(s.origin, {
        connections: s.connections,
        keepAliveTimeout: s.keepAliveTimeout,
        // Upstreams may announce a longer keep-alive; never keep a socket idle longer than configured.
        keepAliveMaxTimeout: s.keepAliveTimeout,
        connectTimeout: s.connectTimeout,
        pipelining: 1,
        allowH2: false,
      });
      e = new PoolEntry(key, pool);
      this.entries.set(key, e);
    }
    e.refs++;
    return e.pool;
  }

  async release(pool: Pool): Promise<void> {
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

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const RESET_FAILURES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = (err as { code?: string } | null)?.code ?? '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return CONNECT_TIMEOUT;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'GW_WRITE_TIMEOUT') return READ_TIMEOUT;
  if (CONNECT_FAILURES.has(code)) return REFUSED;
  if (RESET_FAILURES.has(code)) return RESET;
  if (code.startsWith('HPE_') || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return BAD_RESPONSE;
  return OTHER;
}

/** Methods whose repetition has no extra effect (RFC 9110 §9.2.2): a reset connection may be retried. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
