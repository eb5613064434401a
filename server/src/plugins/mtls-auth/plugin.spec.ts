import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { connect as h2connect, constants as h2 } from 'node:http2';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeCredentialKeys } from '../../auth/secrets.js';
import { checkDocument } from '../../config/check.js';
import type { ConfigDocument } from '../../config/schema.js';
import { ProxyServer } from '../../proxy/proxy-server.js';
import { compile, MemoryLogger, send, startUpstream, type EchoBody, type Upstream } from '../../proxy/test-support/harness.js';
import { PoolRegistry } from '../../proxy/upstream-pool.js';
import { sealCertificate } from '../../tls/certificates.js';
import { selfSigned } from '../../tls/test-support.js';
import { PLUGINS } from '../index.js';
import { listenerClientCas } from './listener-ca.js';
import { TestCa, testPkiDir, type TestClientCert } from './test-pki.js';
import { certificateName, ClientCertVerifier, parseCaList, parseCrl } from './verify.js';

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  json<T = EchoBody>(): T;
}

const pki = testPkiDir();
const ca1 = TestCa.create(pki.root, 'CA1');
const ca2 = TestCa.create(pki.root, 'CA2');
const alice1 = ca1.issue('alice', 'alice', { san: 'DNS:alice.clients.test, email:alice@example.com, URI:spiffe://test/alice' });
const bob1 = ca1.issue('bob', 'bob');
const expired1 = ca1.issue('expired', 'alice', { expired: true });
const revoked1 = ca1.issue('revoked', 'alice');
ca1.revoke('revoked');
const crl1 = ca1.crl();
const alice2 = ca2.issue('alice', 'alice');
const sub1 = TestCa.create(pki.root, 'SUB1', ca1);
const aliceSub = sub1.issue('alice', 'alice');
/** The client sends its leaf and the intermediate. */
const aliceChain: TestClientCert = { cert: aliceSub.cert + sub1.cert, key: aliceSub.key };
// CA1 revokes the intermediate too: a second CRL (crl1 above predates it).
ca1.revokeFile(path.join(pki.root, 'SUB1', 'ca.pem'));
const crl1WithSub = ca1.crl();
const server = selfSigned('mtls.test');

function https1(port: number, path: string, client: TestClientCert | undefined, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const opts: RequestOptions = {
      host: '127.0.0.1', port, path, servername: 'mtls.test', rejectUnauthorized: false, agent: false, ALPNProtocols: ['http/1.1'],
      headers: { host: 'mtls.test', ...headers }, ...(client ? { cert: client.cert, key: client.key } : {}),
    } as RequestOptions;
    const req = httpsRequest(opts, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        expect((res.socket as TLSSocket).alpnProtocol).toBe('http/1.1');
        resolve({ status: res.statusCode!, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function https2(port: number, paths: string[], client: TestClientCert | undefined): Promise<Answer[]> {
  const session = h2connect(`https://127.0.0.1:${port}`, { servername: 'mtls.test', rejectUnauthorized: false, ...(client ? { cert: client.cert, key: client.key } : {}) });
  const one = (path: string) =>
    new Promise<Answer>((resolve, reject) => {
      const req = session.request({ ':method': 'GET', ':path': path, ':authority': 'mtls.test' });
      let body = '';
      let head: Record<string, unknown> = {};
      req.on('response', (h) => (head = h));
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => resolve({ status: Number(head[h2.HTTP2_HEADER_STATUS]), headers: head, body, json: <T>() => JSON.parse(body) as T }));
      req.on('error', reject);
    });
  return Promise.all(paths.map(one)).finally(() => session.close());
}

const code = (a: Answer) => (JSON.parse(a.body) as { code: string }).code;

describe('verify.ts', () => {
  it('parses a CRL, checks its signature against the CAs, and lists revoked serials', () => {
    const cas = parseCaList([ca1.cert, ca2.cert]);
    const parsed = parseCrl(crl1, cas);
    expect(parsed.issuer.subject).toBe('CN=CA1');
    expect([...parsed.serials]).toEqual([new X509Certificate(revoked1.cert).serialNumber]);
    expect(parsed.nextUpdate).toBeGreaterThan(Date.now());
    // Signed by CA1: refused when only CA2 is trusted.
    expect(() => parseCrl(crl1, parseCaList([ca2.cert]))).toThrow(/not signed/);
  });

  it('refuses a non-CA certificate as a CA', () => {
    expect(() => parseCaList([alice1.cert])).toThrow(/not a CA/);
    expect(() => parseCaList(['nope'])).toThrow(/no PEM certificate/);
  });

  it('accepts a chain to its own CA only, and reads consumer_by names', () => {
    const v = new ClientCertVerifier(parseCaList([ca1.cert]), []);
    const raw = (pem: string) => new X509Certificate(pem).raw;
    expect(v.verify(raw(alice1.cert), Date.now()).ok).toBe(true);
    expect(v.verify(raw(alice2.cert), Date.now())).toMatchObject({ ok: false, problem: 'untrusted' });
    expect(v.verify(raw(expired1.cert), Date.now())).toMatchObject({ ok: false, problem: 'expired' });
    // Past the leaf's end of validity the same certificate is expired: the plugin's per-connection cache is bounded by validUntil.
    const ok = v.verify(raw(alice1.cert), Date.now());
    expect(v.verify(raw(alice1.cert), ok.validUntil + 1_000)).toMatchObject({ ok: false, problem: 'expired' });
    const x = new X509Certificate(alice1.cert);
    expect(certificateName(x, 'subject_cn')).toBe('alice');
    expect(certificateName(x, 'san_dns')).toBe('alice.clients.test');
    expect(certificateName(x, 'san_email')).toBe('alice@example.com');
    expect(certificateName(x, 'san_uri')).toBe('spiffe://test/alice');
    expect(certificateName(new X509Certificate(bob1.cert), 'san_dns')).toBeUndefined();
  });
});

describe('mtls-auth through the HTTPS listener', () => {
  let up: Upstream;
  let proxy: ProxyServer;
  let tlsPort = 0;
  let plainPort = 0;
  const logger = new MemoryLogger();
  const pools = new PoolRegistry();
  const certificates = [sealCertificate(activeCredentialKeys(), { name: 'mtls', cert: server.cert, key: server.key, default: true })];

  const doc = (extra: { ca2Route?: boolean } = { ca2Route: true }) => ({
    _format_version: '1',
    services: [{ name: 's', url: `http://${up.address}` }],
    consumers: [{ username: 'alice' }, { username: 'alice.clients.test' }],
    routes: [
      { name: 'ca1', service: 's', paths: ['/ca1'] },
      { name: 'ca2', service: 's', paths: ['/ca2'] },
      { name: 'dns', service: 's', paths: ['/dns'] },
      { name: 'anon', service: 's', paths: ['/anon'] },
      { name: 'open', service: 's', paths: ['/open'] },
      { name: 'sub', service: 's', paths: ['/sub'] },
      { name: 'subcrl', service: 's', paths: ['/subcrl'] },
    ],
    plugins: [
      { name: 'mtls-auth', route: 'ca1', config: { ca_certificates: [ca1.cert], revocation: [crl1] } },
      ...(extra.ca2Route ? [{ name: 'mtls-auth', route: 'ca2', config: { ca_certificates: [ca2.cert], skip_consumer_lookup: true } }] : []),
      { name: 'mtls-auth', route: 'dns', config: { ca_certificates: [ca1.cert], consumer_by: 'san_dns', certificate_headers: { subject: 'x-cert-subject', fingerprint: 'x-cert-sha256' } } },
      { name: 'mtls-auth', route: 'anon', config: { ca_certificates: [ca1.cert], allow_anonymous: true } },
      { name: 'mtls-auth', route: 'sub', config: { ca_certificates: [ca1.cert + sub1.cert] } },
      { name: 'mtls-auth', route: 'subcrl', config: { ca_certificates: [ca1.cert, sub1.cert], revocation: [crl1WithSub] } },
    ],
  });

  /** What the proxy plane does per config version (proxy-plane.ts): snapshot, then certificates and client CAs. */
  async function apply(d: object): Promise<void> {
    const checked = checkDocument(d, PLUGINS);
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    proxy.swap(compile(d, logger, pools));
    expect(await proxy.setCertificates(certificates, listenerClientCas(checked.document as ConfigDocument))).toEqual([]);
  }

  beforeAll(async () => {
    up = await startUpstream();
    proxy = new ProxyServer({ trustedProxies: [], logger, tls: { host: '127.0.0.1', port: 0, mode: 'auto' } });
    await proxy.listen('127.0.0.1', 0);
    plainPort = proxy.address().port;
    await apply(doc());
    tlsPort = proxy.tlsAddress()!.port;
  });
  afterAll(async () => {
    await proxy?.close(200);
    await up?.close();
    pki.remove();
  });

  it('advertises the union of the instances\' CAs', () => {
    const checked = checkDocument(doc(), PLUGINS);
    expect(checked.ok).toBe(true);
    expect(listenerClientCas((checked as { document: ConfigDocument }).document)).toEqual([ca1.cert, ca2.cert, ca1.cert + sub1.cert, sub1.cert]);
  });

  it('a certificate from the right CA → 200, consumer and certificate headers upstream; spoofed copies are replaced', async () => {
    const r = await https1(tlsPort, '/ca1/x', alice1, { 'x-client-cert-subject': 'CN=mallory', 'x-consumer-username': 'mallory' });
    expect(r.status).toBe(200);
    const h = r.json().headers;
    expect(h['x-consumer-username']).toBe('alice');
    expect(h['x-client-cert-subject']).toBe('CN=alice');
    expect(h['x-client-cert-fingerprint']).toBe(new X509Certificate(alice1.cert).fingerprint256.replaceAll(':', '').toLowerCase());
    expect(h['x-credential-identifier']).toBe('alice');
  });

  it('a certificate from another CA the listener also trusts → 401 untrusted on this route, 200 on its own', async () => {
    const r = await https1(tlsPort, '/ca1/x', alice2);
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toMatch(/problem\+json/);
    expect(code(r)).toBe('GW_ERR_MTLS_CERT_UNTRUSTED');
    const own = await https1(tlsPort, '/ca2/x', alice2);
    expect(own.status).toBe(200);
    expect(own.json().headers['x-client-cert-subject']).toBe('CN=alice');
    expect(own.json().headers['x-consumer-username']).toBeUndefined();
  });

  it('an intermediate CA: its leaves pass where it is configured (not where only the root is), and fail once the root revokes it', async () => {
    for (const client of [aliceSub, aliceChain]) {
      const r = await https1(tlsPort, '/sub/x', client);
      expect(r.status).toBe(200);
      expect(r.json().headers['x-consumer-username']).toBe('alice');
    }
    // Node gives the server no access to the intermediates the client sent: the root alone is not enough.
    const rootOnly = await https1(tlsPort, '/ca1/x', aliceChain);
    expect(rootOnly.status).toBe(401);
    expect(code(rootOnly)).toBe('GW_ERR_MTLS_CERT_UNTRUSTED');
    const revoked = await https1(tlsPort, '/subcrl/x', aliceSub);
    expect(revoked.status).toBe(401);
    expect(code(revoked)).toBe('GW_ERR_MTLS_CERT_REVOKED');
    expect(JSON.parse(revoked.body).detail).toContain('SUB1');
    // The root's own leaves: the one its CRL lists is refused, the others pass.
    expect(code(await https1(tlsPort, '/subcrl/x', revoked1))).toBe('GW_ERR_MTLS_CERT_REVOKED');
    expect((await https1(tlsPort, '/subcrl/x', alice1)).status).toBe(200);
  });

  it('no certificate → 401 GW_ERR_MTLS_CERT_MISSING', async () => {
    const r = await https1(tlsPort, '/ca1/x', undefined);
    expect(r.status).toBe(401);
    expect(code(r)).toBe('GW_ERR_MTLS_CERT_MISSING');
  });

  it('an expired certificate → 401 GW_ERR_MTLS_CERT_EXPIRED', async () => {
    const r = await https1(tlsPort, '/ca1/x', expired1);
    expect(r.status).toBe(401);
    expect(code(r)).toBe('GW_ERR_MTLS_CERT_EXPIRED');
  });

  it('a revoked certificate (listed by the CRL) → 401 GW_ERR_MTLS_CERT_REVOKED; accepted where no CRL is configured', async () => {
    const r = await https1(tlsPort, '/ca1/x', revoked1);
    expect(r.status).toBe(401);
    expect(code(r)).toBe('GW_ERR_MTLS_CERT_REVOKED');
    expect((await https1(tlsPort, '/anon/x', revoked1)).status).toBe(200);
  });

  it('plain HTTP on an mtls-auth route → 401 GW_ERR_MTLS_NOT_TLS', async () => {
    const r = await send(plainPort, '/ca1/x');
    expect(r.status).toBe(401);
    expect(code(r as unknown as Answer)).toBe('GW_ERR_MTLS_NOT_TLS');
  });

  it('HTTP/2 with a certificate → 200 (the verdict is per session; several streams share it)', async () => {
    const [a, b, c] = await https2(tlsPort, ['/ca1/a', '/ca1/b', '/open/c'], alice1);
    expect(a!.status).toBe(200);
    expect(a!.json().headers['x-consumer-username']).toBe('alice');
    expect(b!.status).toBe(200);
    expect(c!.status).toBe(200);
    const [other, none] = [(await https2(tlsPort, ['/ca1/a'], alice2))[0]!, (await https2(tlsPort, ['/ca1/a'], undefined))[0]!];
    expect(other.status).toBe(401);
    expect(code(other)).toBe('GW_ERR_MTLS_CERT_UNTRUSTED');
    expect(none.status).toBe(401);
    expect(code(none)).toBe('GW_ERR_MTLS_CERT_MISSING');
  });

  it('a resumed TLS session (session ticket) is verified again and still authenticates', async () => {
    const agent = new HttpsAgent({ keepAlive: false, maxCachedSessions: 10 });
    const get = () =>
      new Promise<{ status: number; reused: boolean; body: string }>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: tlsPort, path: '/ca1/r', servername: 'mtls.test', rejectUnauthorized: false, agent, cert: alice1.cert, key: alice1.key, ALPNProtocols: ['http/1.1'] } as RequestOptions, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, reused: (res.socket as TLSSocket).isSessionReused(), body }));
        });
        req.on('error', reject);
        req.end();
      });
    const first = await get();
    expect(first.status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    const second = await get();
    expect(second.reused).toBe(true);
    expect(second.status).toBe(200);
    expect((JSON.parse(second.body) as EchoBody).headers['x-consumer-username']).toBe('alice');
    agent.destroy();
  });

  it('a route without the plugin works without a certificate (HTTP/1.1 and HTTP/2)', async () => {
    expect((await https1(tlsPort, '/open/x', undefined)).status).toBe(200);
    expect((await https2(tlsPort, ['/open/y'], undefined))[0]!.status).toBe(200);
  });

  it('consumer_by san_dns and custom header names; an unknown name → 401 GW_ERR_MTLS_NO_CONSUMER unless allow_anonymous', async () => {
    const r = await https1(tlsPort, '/dns/x', alice1, { 'x-cert-subject': 'spoofed' });
    expect(r.status).toBe(200);
    expect(r.json().headers['x-consumer-username']).toBe('alice.clients.test');
    expect(r.json().headers['x-cert-subject']).toBe('CN=alice');
    expect(r.json().headers['x-cert-sha256']).toMatch(/^[0-9a-f]{64}$/);
    const bob = await https1(tlsPort, '/ca1/x', bob1);
    expect(bob.status).toBe(401);
    expect(code(bob)).toBe('GW_ERR_MTLS_NO_CONSUMER');
    const anon = await https1(tlsPort, '/anon/x', bob1);
    expect(anon.status).toBe(200);
    expect(anon.json().headers['x-consumer-username']).toBeUndefined();
    expect(anon.json().headers['x-client-cert-subject']).toBe('CN=bob');
  });

  it('the listener advertises the CAs of the current config (openssl s_client shows the CertificateRequest)', async () => {
    const advertised = () =>
      new Promise<string>((resolve) => {
        execFile('openssl', ['s_client', '-connect', `127.0.0.1:${tlsPort}`, '-servername', 'mtls.test', '-tls1_2'], { timeout: 5_000 }, (_err, stdout) => {
          const m = /Acceptable client certificate CA names\n([\s\S]*?)(?:\n[A-Z][a-z]|\n---)/.exec(stdout);
          // s_client prints the CA list (or "No client certificate CA names sent") either way; the
          // certificate types line only when the server sent a CertificateRequest.
          resolve(stdout.includes('Client Certificate Types') ? (m?.[1] ?? '') : 'NO REQUEST');
        }).stdin?.end();
      });
    const both = await advertised();
    expect(both).toContain('CN = CA1');
    expect(both).toContain('CN = CA2');
    await apply(doc({ ca2Route: false }));
    try {
      const one = await advertised();
      expect(one).toContain('CN = CA1');
      expect(one).not.toContain('CN = CA2');
      await apply({ ...doc(), plugins: [] });
      // No instance needs a certificate: the listener stops asking (browsers would show a picker).
      expect(await advertised()).toBe('NO REQUEST');
      expect((await https1(tlsPort, '/ca1/x', alice1)).status).toBe(200);
    } finally {
      await apply(doc());
    }
    expect((await https1(tlsPort, '/ca1/x', alice2)).status).toBe(401);
  });
});
