/**
 * Upstream TLS (issue 9): HTTPS upstreams with certificates from a private CA made by the `openssl` CLI.
 * Verification against `ca_certificates`, failure as 502 GW_ERR_UPSTREAM_TLS (reason in the gateway log),
 * `tls_verify: false`, `tls_server_name`, and mutual TLS with a `certificates` entity as client certificate
 * (key encrypted at rest, never in the export).
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFileGateway, type FileGateway } from './resilience-helpers.js';

// 64 hex digits: used as the AES-256-GCM key as is (server/src/auth/secrets.ts parseSecretKey).
const SECRET_KEY = randomBytes(32).toString('hex');

/** The gateway's sealed-secret format (`v1.iv.tag.ct`, base64url), as the admin API writes it on POST /certificates. */
function seal(plain: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', Buffer.from(SECRET_KEY, 'hex'), iv);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `v1.${iv.toString('base64url')}.${c.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, a server certificate for localhost/127.0.0.1, and a client CA with one client certificate. */
function makePki(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCa' | 'clientCert' | 'clientKey', string> {
  const ca = (name: string) => openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`);
  const leaf = (name: string, issuer: string, ext: string) => {
    openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  ca('e2e-upstream-ca');
  leaf('upstream', 'e2e-upstream-ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ca('e2e-client-ca');
  leaf('gatehouse-client', 'e2e-client-ca', 'extendedKeyUsage=clientAuth\n');
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return {
    ca: read('e2e-upstream-ca.crt'),
    serverCert: read('upstream.crt'),
    serverKey: read('upstream.key'),
    clientCa: read('e2e-client-ca.crt'),
    clientCert: read('gatehouse-client.crt'),
    clientKey: read('gatehouse-client.key'),
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

describe('upstream TLS (e2e)', () => {
  let dir: string;
  let pki: ReturnType<typeof makePki>;
  let plain: Server;
  let mutual: Server;
  let gw: FileGateway;
  let plainPort: number;
  let mutualPort: number;

  async function admin(p: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<unknown> {
    const r = await gw.admin(p, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${p} → ${r.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
  const get = (p: string) => fetch(`${gw.proxyUrl}${p}`);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gh-e2e-tls-'));
    pki = makePki(dir);
    plain = createServer({ cert: pki.serverCert, key: pki.serverKey }, (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ upstream: 'plain', sni: (req.socket as TLSSocket).servername }));
    });
    mutual = createServer({ cert: pki.serverCert, key: pki.serverKey, requestCert: true, rejectUnauthorized: true, ca: pki.clientCa }, (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ upstream: 'mutual', client: peer.subject?.CN }));
    });
    plainPort = await listen(plain);
    mutualPort = await listen(mutual);
    const services = [
      { name: 'verified', url: `https://127.0.0.1:${plainPort}`, ca_certificates: [pki.ca] },
      { name: 'untrusted', url: `https://127.0.0.1:${plainPort}` },
      { name: 'unverified', url: `https://127.0.0.1:${plainPort}`, tls_verify: false },
      { name: 'by-name', url: `https://127.0.0.1:${plainPort}`, ca_certificates: [pki.ca], tls_server_name: 'localhost' },
      { name: 'wrong-name', url: `https://127.0.0.1:${plainPort}`, ca_certificates: [pki.ca], tls_server_name: 'elsewhere.example' },
      { name: 'mtls', url: `https://127.0.0.1:${mutualPort}`, ca_certificates: [pki.ca], client_certificate: 'gw-client' },
      { name: 'mtls-without-cert', url: `https://127.0.0.1:${mutualPort}`, ca_certificates: [pki.ca] },
    ];
    // DB-less: the client certificate's key is in the file sealed under GATEHOUSE_SECRET_KEY, as an export
    // from a store-backed node would need it. No HTTPS listener: this node only dials out over TLS.
    gw = await startFileGateway(
      {
        certificates: [{ name: 'gw-client', cert: pki.clientCert, key_encrypted: seal(pki.clientKey), snis: ['gatehouse-client.invalid'] }],
        services,
        routes: services.map((s) => ({ name: s.name, service: s.name, paths: [`/${s.name}`] })),
      },
      { GATEHOUSE_SECRET_KEY: SECRET_KEY, GATEHOUSE_PROXY_TLS: 'off', GATEHOUSE_LOG_LEVEL: 'info' },
    );
  }, 90_000);

  afterAll(async () => {
    await gw?.cleanup();
    plain?.close();
    mutual?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('verifies the upstream against the configured CA', async () => {
    const r = await get('/verified');
    expect(r.status).toBe(200);
    expect(((await r.json()) as { upstream: string }).upstream).toBe('plain');
  });

  it('refuses an upstream certificate from an unknown CA: 502 GW_ERR_UPSTREAM_TLS, reason in the log', async () => {
    const r = await get('/untrusted');
    expect(r.status).toBe(502);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    const p = (await r.json()) as { code: string; detail?: string; request_id: string };
    expect(p.code).toBe('GW_ERR_UPSTREAM_TLS');
    await expect.poll(() => gw.logs()).toContain('upstream TLS handshake failed');
    const line = gw.logs().split('\n').find((l) => l.includes(p.request_id) && l.includes('upstream TLS handshake failed'));
    expect(line).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|self.signed|unable to verify/i);
  });

  it('accepts any certificate with tls_verify off', async () => {
    expect((await get('/unverified')).status).toBe(200);
  });

  it('checks the certificate against tls_server_name, sent as SNI', async () => {
    const ok = await get('/by-name');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { sni: string }).sni).toBe('localhost');
    const wrong = await get('/wrong-name');
    expect(wrong.status).toBe(502);
    expect(((await wrong.json()) as { code: string }).code).toBe('GW_ERR_UPSTREAM_TLS');
  });

  it('presents the client certificate to an upstream that requires one (mutual TLS)', async () => {
    const r = await get('/mtls');
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ upstream: 'mutual', client: 'gatehouse-client' });
  });

  it('fails without a client certificate on an mTLS upstream', async () => {
    const r = await get('/mtls-without-cert');
    expect(r.status).toBe(502);
    const p = (await r.json()) as { code: string };
    expect(p.code).toBe('GW_ERR_UPSTREAM_TLS');
  });

  it('never exports the client private key, not even sealed; the service keeps only the certificate name', async () => {
    const exported = JSON.stringify(await admin('/config'));
    expect(exported).toContain('"client_certificate":"gw-client"');
    expect(exported).not.toContain(pki.clientKey.split('\n')[1]!);
    expect(exported).not.toContain('key_encrypted');
  });
});
