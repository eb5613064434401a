/**
 * The HTTPS listener end to end (issue 9): the built gateway on its embedded store, certificates added
 * through the admin API with self-signed pairs made by the `openssl` CLI at test time. Covers SNI
 * (two names, two certificates), a certificate serving on the next handshake without a restart, the TLS
 * policy (1.1 refused), HTTP/2 proxied to an HTTP/1.1 upstream, https-redirect with HSTS, and that the
 * private key is never shown (API, export, versions, audit) and is stored encrypted (the DB row).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

function selfSigned(cn: string): { cert: string; key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-e2e-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-keyout', `${dir}/k.pem`, '-out', `${dir}/c.pem`, '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`], { stdio: 'ignore' });
    return { cert: readFileSync(`${dir}/c.pem`, 'utf8'), key: readFileSync(`${dir}/k.pem`, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function handshake(port: number, opts: ConnectionOptions): Promise<{ cn?: string; protocol?: string | null; code?: string }> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
      const cn = s.getPeerCertificate().subject?.CN;
      const protocol = s.getProtocol();
      s.end();
      resolve({ cn: Array.isArray(cn) ? cn[0] : cn, protocol });
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve({ code: err.code ?? err.message }));
  });
}

/** One HTTP/2 request over TLS; resolves with the status, the response headers and the body. */
function h2get(port: number, servername: string, pathname: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://127.0.0.1:${port}`, { servername, rejectUnauthorized: false });
    session.on('error', reject);
    const req = session.request({ ':method': 'GET', ':path': pathname, ':authority': servername });
    let head: Record<string, unknown> = {};
    let body = '';
    req.on('response', (h) => (head = h));
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      session.close();
      resolve({ status: Number(head[':status']), headers: head, body });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The key, in clear or encrypted (`v1.` ciphertext). */
const LEAKS = /PRIVATE KEY|"v1\.[A-Za-z0-9_-]+\./;

describe('TLS listener (e2e)', () => {
  const a = selfSigned('a.test');
  const b = selfSigned('b.test');
  let upstream: Upstream;
  let gw: Gateway;
  let tlsPort: number;

  beforeAll(async () => {
    upstream = await startUpstream('api');
    tlsPort = await freePort();
    gw = await startGateway({
      keepDataDir: true,
      env: { GATEHOUSE_PROXY_TLS_PORT: `127.0.0.1:${tlsPort}`, GATEHOUSE_SECRET_KEY: randomBytes(32).toString('hex') },
    });
    const put = async (p: string, body: unknown) => {
      const r = await gw.admin(p, { method: 'POST', body: JSON.stringify(body) });
      expect(r.status, await r.clone().text()).toBe(201);
    };
    await put('/services', { name: 'api', url: upstream.url });
    await put('/routes', { name: 'api', service: 'api', paths: ['/api'], preserve_host: true });
    await put('/plugins', { name: 'https-redirect', route: 'api', config: { https_port: tlsPort, hsts: { max_age: 3600, include_subdomains: true } } });
  }, 90_000);

  afterAll(async () => {
    await gw?.stop();
    if (gw) rmSync(gw.dataDir, { recursive: true, force: true });
    await upstream?.close();
  });

  it('starts the HTTPS listener when the first certificate is added, and serves it by SNI', async () => {
    expect((await handshake(tlsPort, { servername: 'a.test' })).code).toBe('ECONNREFUSED');
    const r = await gw.admin('/certificates', { method: 'POST', body: JSON.stringify({ name: 'a', cert: a.cert, key: a.key }) });
    const text = await r.text();
    expect(r.status, text).toBe(201);
    expect(text).not.toMatch(LEAKS);
    expect(JSON.parse(text)).toMatchObject({ name: 'a', snis: ['a.test'], default: false, subject: 'CN=a.test' });
    expect((await handshake(tlsPort, { servername: 'a.test' })).cn).toBe('a.test');
  });

  it('serves a second certificate, added without a restart, on the next handshake; each name gets its own', async () => {
    const pid = gw.process.pid;
    // No certificate for b.test and no default yet: the handshake fails cleanly.
    expect((await handshake(tlsPort, { servername: 'b.test' })).cn).toBeUndefined();
    const r = await gw.admin('/certificates/b', { method: 'PUT', body: JSON.stringify({ cert: b.cert, key: b.key, default: true }) });
    expect(r.status, await r.clone().text()).toBe(200);
    expect((await handshake(tlsPort, { servername: 'b.test' })).cn).toBe('b.test');
    expect((await handshake(tlsPort, { servername: 'a.test' })).cn).toBe('a.test');
    // b is the default now: an unknown name gets it.
    expect((await handshake(tlsPort, { servername: 'other.test' })).cn).toBe('b.test');
    expect(gw.process.pid).toBe(pid);
    expect(gw.process.exitCode).toBeNull();
  });

  it('refuses TLS 1.1 and accepts 1.2 and 1.3', async () => {
    const old = await handshake(tlsPort, { servername: 'a.test', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(old.cn).toBeUndefined();
    expect(old.code).toMatch(/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/);
    expect((await handshake(tlsPort, { servername: 'a.test', maxVersion: 'TLSv1.2' })).protocol).toBe('TLSv1.2');
    expect((await handshake(tlsPort, { servername: 'a.test' })).protocol).toBe('TLSv1.3');
  });

  it('proxies an HTTP/2 request to the HTTP/1.1 upstream, with HSTS on the answer', async () => {
    const r = await h2get(tlsPort, 'a.test', '/api/items?x=1');
    expect(r.status).toBe(200);
    expect(r.headers['strict-transport-security']).toBe('max-age=3600; includeSubDomains');
    const seen = JSON.parse(r.body) as { upstream: string; url: string; headers: Record<string, string> };
    expect(seen.upstream).toBe('api');
    expect(seen.url).toBe('/items?x=1');
    expect(seen.headers.host).toBe('a.test');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(Object.keys(seen.headers).some((h) => h.startsWith(':'))).toBe(false);
  });

  it('redirects plain HTTP to the HTTPS listener without calling the upstream', async () => {
    const before = upstream.requests;
    // node:http rather than fetch, which does not let a caller set Host.
    const r = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: gw.proxyPort, path: '/api/items?x=1', headers: { host: 'a.test' }, agent: false }, (res) => {
        res.resume();
        resolve(res);
      });
      req.on('error', reject);
      req.end();
    });
    expect(r.statusCode).toBe(308);
    expect(r.headers.location).toBe(`https://a.test:${tlsPort}/api/items?x=1`);
    expect(r.headers['strict-transport-security']).toBeUndefined();
    expect(upstream.requests).toBe(before);
  });

  it('never shows the private key: certificate reads, export (JSON and YAML), versions and the audit log', async () => {
    for (const p of ['/certificates', '/certificates/a', '/config', '/config?format=yaml', '/audit?limit=50']) {
      const r = await gw.admin(p);
      expect(r.status, p).toBe(200);
      const text = await r.text();
      expect(text, p).not.toMatch(LEAKS);
      // The audit log names the field with a redacted value; the others do not have it at all.
      if (p.startsWith('/audit')) expect(text).toContain('"key_encrypted":"[redacted]"');
      else expect(text, p).not.toContain('key_encrypted');
    }
    const versions = (await (await gw.admin('/versions')).json()) as { data: { version: number }[] };
    for (const v of versions.data) expect(await (await gw.admin(`/versions/${v.version}`)).text()).not.toMatch(LEAKS);
    // The exported document applies back unchanged: the stored keys are kept.
    const exported = await (await gw.admin('/config')).text();
    const answer = await gw.admin('/config', { method: 'PUT', body: exported });
    const applied = (await answer.json()) as { changed: boolean; text?: string };
    expect(answer.status, JSON.stringify(applied)).toBe(200);
    expect(applied.changed, JSON.stringify(applied)).toBe(false);
    expect((await handshake(tlsPort, { servername: 'a.test' })).cn).toBe('a.test');
  });

  it('stores the key encrypted (the database row holds ciphertext only)', async () => {
    await gw.stop();
    const db = new PGlite(gw.dataDir);
    try {
      const rows = (await db.query<{ name: string; key_encrypted: string }>('SELECT name, key_encrypted FROM certificates ORDER BY name')).rows;
      expect(rows.map((r) => r.name)).toEqual(['a', 'b']);
      for (const row of rows) {
        expect(row.key_encrypted).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
        expect(row.key_encrypted).not.toContain('PRIVATE KEY');
      }
      const all = JSON.stringify((await db.query('SELECT * FROM certificates')).rows) + JSON.stringify((await db.query('SELECT document FROM config_versions')).rows);
      expect(all).not.toContain('PRIVATE KEY');
    } finally {
      await db.close();
    }
  });
});
