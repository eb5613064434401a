import { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { Http1Pool } from './h1-client.js';
import { classifyUpstreamError, PoolRegistry, underlyingTlsError, type PoolSettings } from './upstream-pool.js';

const base: PoolSettings = { origin: 'https://127.0.0.1:9', connections: 4, keepAliveTimeout: 1000, connectTimeout: 1000 };
const tls = (over: Partial<NonNullable<PoolSettings['tls']>> = {}) => ({ verify: true, ca: undefined, cert: undefined, key: undefined, ...over });

describe('PoolRegistry', () => {
  it('shares a pool between identical settings and separates distinct TLS settings and protocols', async () => {
    const reg = new PoolRegistry();
    const a = reg.acquire({ ...base, tls: tls({ ca: ['CA-1'] }) });
    expect(reg.acquire({ ...base, tls: tls({ ca: ['CA-1'] }) })).toBe(a);
    const others = [
      reg.acquire({ ...base, tls: tls({ ca: ['CA-2'] }) }),
      reg.acquire({ ...base, tls: tls({ ca: ['CA-1'], verify: false }) }),
      reg.acquire({ ...base, tls: tls({ ca: ['CA-1'], cert: 'CERT', key: 'KEY' }) }),
      reg.acquire({ ...base, tls: tls({ ca: ['CA-1'] }), h2: true }),
      reg.acquire(base),
    ];
    expect(new Set([a, ...others]).size).toBe(6);
    expect(reg.size).toBe(6);
    await reg.release(a);
    expect(reg.size).toBe(6);
    await reg.release(a);
    expect(reg.size).toBe(5);
    for (const p of others) await reg.release(p);
    expect(reg.size).toBe(0);
  });
});

describe('PoolRegistry clients', () => {
  it('serves clear-text HTTP/1.1 with the gateway\'s client and TLS or HTTP/2 with undici; `undici` takes all', async () => {
    const plain = { ...base, origin: 'http://127.0.0.1:9' };
    const own = new PoolRegistry();
    const chosen = [own.acquire(plain), own.acquire(base), own.acquire({ ...plain, h2: true })];
    expect(chosen.map((p) => (p instanceof Http1Pool ? 'gatehouse' : p instanceof Pool ? 'undici' : '?'))).toEqual(['gatehouse', 'undici', 'undici']);
    const fallback = new PoolRegistry('undici');
    const p = fallback.acquire(plain);
    expect(p).toBeInstanceOf(Pool);
    for (const x of chosen) await own.release(x);
    await fallback.release(p);
  });
});

describe('classifyUpstreamError', () => {
  it('answers certificate verification failures and TLS alerts with GW_ERR_UPSTREAM_TLS, never retried', () => {
    for (const code of ['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED']) {
      const f = classifyUpstreamError(Object.assign(new Error(code), { code }));
      expect(f.code).toBe('GW_ERR_UPSTREAM_TLS');
      expect(f.retry).toBe('no');
    }
  });

  it('keeps resets and refusals as they were', () => {
    expect(classifyUpstreamError({ code: 'ECONNRESET' }).code).toBe('GW_ERR_UPSTREAM_UNAVAILABLE');
    expect(classifyUpstreamError({ code: 'ECONNREFUSED' }).retry).toBe('connect');
    // A socket error without a TLS alert recorded for its local port is a plain reset.
    expect(underlyingTlsError({ code: 'UND_ERR_SOCKET', socket: { localPort: 1 } })).toBeUndefined();
    expect(classifyUpstreamError({ code: 'UND_ERR_SOCKET', socket: { localPort: 1 } }).code).toBe('GW_ERR_UPSTREAM_UNAVAILABLE');
  });
});

describe('snapshot: upstream TLS settings', () => {
  it('compiles CAs, SNI override and verification; an unknown client certificate disables only its service', async () => {
    const { compile, MemoryLogger } = await import('./test-support/harness.js');
    const reg = new PoolRegistry();
    const snap = compile(
      {
        services: [
          { name: 'a', url: 'https://127.0.0.1:9443', ca_certificates: ['-----BEGIN CERTIFICATE-----x'], tls_server_name: 'a.internal', tls_verify: false },
          { name: 'b', protocol: 'grpcs', host: '127.0.0.1', port: 9443 },
          { name: 'c', url: 'https://127.0.0.1:9443', client_certificate: 'nope' },
          { name: 'd', url: 'http://127.0.0.1:9080', tls_server_name: 'ignored.internal' },
        ],
      },
      new MemoryLogger(),
      reg,
    );
    const a = snap.services.get('a')!;
    expect(a.tls).toEqual({ verify: false, ca: ['-----BEGIN CERTIFICATE-----x'], cert: undefined, key: undefined });
    expect(a.tlsServerName).toBe('a.internal');
    const b = snap.services.get('b')!;
    expect(b.grpc && b.secure).toBe(true);
    expect(b.tls?.verify).toBe(true);
    expect(snap.services.has('c')).toBe(false);
    expect(snap.errors.map((e) => e.message).join()).toContain("client_certificate 'nope' is not a known certificate");
    expect(snap.services.get('d')!.tls).toBeUndefined();
    expect(snap.services.get('d')!.tlsServerName).toBeUndefined();
    // a, b (h2) and d: three pools; the disabled service holds none.
    expect(reg.size).toBe(3);
    await snap.close();
    expect(reg.size).toBe(0);
  });
});
