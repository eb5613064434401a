/**
 * Cluster mode with the HTTPS and h2c listeners (GATEHOUSE_WORKERS=2): the primary binds both ports once and
 * every worker listens on the inherited sockets, so both workers answer HTTPS (HTTP/1.1 and HTTP/2 by ALPN)
 * and h2c, and a SIGHUP rolling restart under HTTPS load loses no request (HTTP/2 sessions get GOAWAY).
 *
 * Which worker served a request is read from the access log, as in cluster-mode.e2e.ts: each line carries the
 * worker's node id (`<node>-w<slot>`) and the request id the client got back in `X-Request-Id`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { children, servedBy, waitFor } from '../support/cluster.js';
import { startGateway, type Gateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';
import { startPostgresInstance, type PostgresInstance } from '../support/postgres.js';
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

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

interface Answer {
  status: number;
  requestId: string;
  body: string;
}

/** HTTPS without ALPN (so HTTP/1.1), on a fresh connection (the kernel then picks a worker for every request). */
function h1(port: number, pathname: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: pathname, servername: 'c.test', rejectUnauthorized: false, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, requestId: String(res.headers['x-request-id']), body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function h2request(session: ClientHttp2Session, pathname: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': pathname, ':authority': 'c.test' });
    req.setTimeout(10_000, () => req.close());
    let status = 0;
    let requestId = '';
    let body = '';
    req.on('response', (h) => {
      status = Number(h[':status']);
      requestId = String(h['x-request-id']);
    });
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => (status ? resolve({ status, requestId, body }) : reject(new Error('stream ended without a response'))));
    req.on('error', reject);
    req.end();
  });
}

/** One HTTP/2 request on a session of its own (TLS, or h2c with `cleartext`). */
async function h2once(port: number, pathname: string, cleartext = false): Promise<Answer> {
  const session = cleartext ? h2connect(`http://127.0.0.1:${port}`) : h2connect(`https://127.0.0.1:${port}`, { servername: 'c.test', rejectUnauthorized: false });
  const failed = new Promise<never>((_, reject) => session.once('error', reject));
  try {
    return await Promise.race([h2request(session, pathname), failed]);
  } finally {
    session.close();
  }
}

/**
 * A long-lived HTTP/2 client, as browsers and gRPC channels are: one session for many requests, and a new one
 * once the server sent GOAWAY (what a draining worker does) or the session ended.
 */
class LongH2Client {
  private session: ClientHttp2Session | undefined;
  sessions = 0;
  goaways = 0;
  constructor(private readonly port: number) {}
  private current(): ClientHttp2Session {
    if (this.session === undefined || this.session.closed || this.session.destroyed) {
      const s = h2connect(`https://127.0.0.1:${this.port}`, { servername: 'c.test', rejectUnauthorized: false });
      s.on('error', () => {});
      s.on('goaway', () => {
        this.goaways++;
        if (this.session === s) this.session = undefined;
      });
      this.session = s;
      this.sessions++;
    }
    return this.session;
  }
  get(pathname: string): Promise<Answer> {
    return h2request(this.current(), pathname);
  }
  close(): void {
    this.session?.close();
  }
}

describe('cluster mode with HTTPS and h2c (GATEHOUSE_WORKERS=2)', () => {
  const cert = selfSigned('c.test');
  let pg: PostgresInstance;
  let gw: Gateway;
  let upstream: Upstream;
  let tlsPort: number;
  let h2cPort: number;

  beforeAll(async () => {
    pg = await startPostgresInstance();
    upstream = await startUpstream('clustered-tls');
    tlsPort = await freePort();
    h2cPort = await freePort();
    gw = await startGateway({
      env: {
        DATABASE_URL: pg.url,
        GATEHOUSE_WORKERS: '2',
        GATEHOUSE_NODE_ID: 't',
        GATEHOUSE_PROXY_TLS_PORT: `127.0.0.1:${tlsPort}`,
        GATEHOUSE_PROXY_H2C_PORT: `127.0.0.1:${h2cPort}`,
        GATEHOUSE_SECRET_KEY: randomBytes(32).toString('hex'),
      },
    });
    await waitFor('both workers', () => /cluster primary: 2 gateway workers/.test(gw.logs()), 60_000);
    const post = async (p: string, body: unknown) => {
      const r = await gw.admin(p, { method: 'POST', body: JSON.stringify(body) });
      expect(r.status, await r.clone().text()).toBe(201);
    };
    await post('/services', { name: 's', url: upstream.url });
    await post('/routes', { name: 'r', service: 's', paths: ['/s'] });
  }, 180_000);
  afterAll(async () => {
    const code = await gw?.stop();
    expect(code).toBe(0);
    await upstream?.close();
    pg?.destroy();
  });

  it('binds the HTTPS port in the primary but refuses it until a certificate exists (auto), then both workers serve HTTPS and h2c', async () => {
    // Auto mode: bound by the primary, listened on by no worker yet.
    expect(await refused(tlsPort)).toBe('ECONNREFUSED');
    const r = await gw.admin('/certificates', { method: 'POST', body: JSON.stringify({ name: 'c', cert: cert.cert, key: cert.key, default: true }) });
    expect(r.status, await r.clone().text()).toBe(201);
    // Worker 2 learns of the certificate from the store; until then the kernel may give it no HTTPS connection.
    const kinds = {
      h1: (p: string) => h1(tlsPort, p),
      h2: (p: string) => h2once(tlsPort, p),
      h2c: (p: string) => h2once(h2cPort, p, true),
    };
    const nodes: Record<keyof typeof kinds, Set<string>> = { h1: new Set(), h2: new Set(), h2c: new Set() };
    const answers: string[] = [];
    await waitFor('HTTP/1.1, HTTP/2 and h2c answers from both workers', async () => {
      for (const [kind, call] of Object.entries(kinds) as [keyof typeof kinds, (p: string) => Promise<Answer>][]) {
        const batch = await Promise.all(Array.from({ length: 6 }, () => call(`/s/${kind}`).catch((err: Error) => ({ status: 0, requestId: '', body: err.message }))));
        answers.push(...batch.map((a) => `${kind} ${a.status}`));
        const served = servedBy(gw.logs());
        for (const a of batch) if (a.status === 200 && served.has(a.requestId)) nodes[kind].add(served.get(a.requestId)!);
      }
      return Object.values(nodes).every((n) => n.size === 2);
    }, 60_000);
    expect({ h1: [...nodes.h1].sort(), h2: [...nodes.h2].sort(), h2c: [...nodes.h2c].sort() }).toEqual({ h1: ['t-w1', 't-w2'], h2: ['t-w1', 't-w2'], h2c: ['t-w1', 't-w2'] });
    // Once both workers have the certificate every handshake succeeds.
    const late = await Promise.all([...Array.from({ length: 8 }, () => h1(tlsPort, '/s/late')), ...Array.from({ length: 8 }, () => h2once(tlsPort, '/s/late'))]);
    expect(late.map((a) => a.status)).toEqual(Array(16).fill(200));
  }, 90_000);

  it('restarts the workers one at a time on SIGHUP without losing an HTTPS request (HTTP/1.1, HTTP/2, long-lived HTTP/2 sessions)', async () => {
    const before = children(gw.process.pid!);
    expect(before).toHaveLength(2);
    const longClients = [new LongH2Client(tlsPort), new LongH2Client(tlsPort)];
    const calls: ((p: string) => Promise<Answer>)[] = [(p) => h1(tlsPort, p), (p) => h2once(tlsPort, p), (p) => longClients[0]!.get(p), (p) => longClients[1]!.get(p)];
    let running = true;
    const counts = { sent: 0, ok: 0, failures: [] as string[] };
    const clients = calls.map(async (call, i) => {
      while (running) {
        counts.sent++;
        try {
          const a = await call(`/s/rolling-${i}`);
          if (a.status === 200) counts.ok++;
          else counts.failures.push(`client ${i}: status ${a.status}`);
        } catch (err) {
          counts.failures.push(`client ${i}: ${(err as Error).message}`);
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    gw.process.kill('SIGHUP');
    await waitFor('the rolling restart', () => /rolling restart done/.test(gw.logs()), 100_000);
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await Promise.all(clients);
    for (const c of longClients) c.close();
    expect(counts.failures).toEqual([]);
    expect(counts.ok).toBe(counts.sent);
    expect(counts.sent).toBeGreaterThan(40);
    // The long-lived sessions were told to go away by the draining workers and reconnected.
    expect(longClients.map((c) => c.goaways > 0 && c.sessions > 1)).toEqual([true, true]);
    const after = children(gw.process.pid!);
    expect(after).toHaveLength(2);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    expect(gw.logs().match(/worker replaced/g)).toHaveLength(2);
  }, 115_000);
});
