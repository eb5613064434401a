/**
 * Automatic certificates (ACME, issue 9) end to end against Pebble, Let's Encrypt's test CA, on loopback:
 * its validation authority resolves the test names through a dnsmasq and fetches the HTTP-01 answers from
 * the built gateway's plain listener. Covers issuance and serving by SNI (chain to Pebble's root, SAN),
 * renewal when less than `GATEHOUSE_ACME_RENEW_BEFORE_DAYS` remains (and none when more does), a failing
 * challenge backing off exponentially with the CA's error in `GET /acme`, and two nodes sharing one
 * PostgreSQL store and one Redis ordering a domain once.
 */
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { createDatabase, startPostgresInstance, type PostgresInstance } from '../support/postgres.js';

const HOSTS = ['127.0.0.1 api.acme.test', '127.0.0.1 renew.acme.test', '127.0.0.1 shared.acme.test', '127.0.0.2 broken.acme.test'];
const SECRET = 'acme-e2e-secret-key-0123456789abcdef';

interface DomainStatus {
  domain: string;
  state: string;
  failures: number;
  last_error: string | null;
  error_at: string | null;
  next_attempt_at: string | null;
  last_issued_at: string | null;
  issuer: string | null;
  node: string | null;
}

// Native PostgreSQL (one private server, a database per gateway): starts much faster than the embedded
// PGlite store on a busy machine, and the two-node test needs a shared store anyway.
let pg: PostgresInstance;
beforeAll(async () => {
  pg = await startPostgresInstance();
});
afterAll(() => pg?.destroy());

// freePort() releases the port it found, so two picks made before either is bound can collide: every port
// of this file comes from here, distinct from the others.
const picked = new Set<number>();
async function port(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (!picked.has(p)) {
      picked.add(p);
      return p;
    }
  }
}

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanup = [];
});

async function acmeStatus(gw: Gateway, domain: string): Promise<DomainStatus> {
  const r = await gw.admin('/acme');
  expect(r.status).toBe(200);
  const body = (await r.json()) as { enabled: boolean; domains: DomainStatus[] };
  expect(body.enabled).toBe(true);
  return body.domains.find((d) => d.domain === domain)!;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number, logs: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${logs().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The certificate the HTTPS listener serves for `servername`, checked against `ca` (Pebble's root). */
function served(port: number, servername: string, ca: string): Promise<{ authorized: boolean; error: string | undefined; cert: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false }, () => {
      const cert = s.getPeerCertificate(true);
      resolve({ authorized: s.authorized, error: s.authorizationError?.message, cert });
      s.end();
    });
    s.on('error', reject);
  });
}

async function gatewayFor(pebble: Pebble, proxyPort: number, env: Record<string, string>): Promise<Gateway & { tlsPort: number }> {
  const tlsPort = await port();
  if (env.DATABASE_URL === undefined) {
    const db = await createDatabase(pg.url);
    cleanup.push(() => db.drop());
    env = { DATABASE_URL: db.url, ...env };
  }
  const gw = await startGateway({
    proxyPort,
    env: {
      GATEHOUSE_PROXY_TLS_PORT: `127.0.0.1:${tlsPort}`,
      GATEHOUSE_SECRET_KEY: SECRET,
      GATEHOUSE_ACME_DIRECTORY: pebble.directoryUrl,
      GATEHOUSE_ACME_CA_FILE: pebble.caFile,
      GATEHOUSE_ACME_EMAIL: 'ops@acme.test',
      GATEHOUSE_ACME_CHECK_INTERVAL_MS: '300',
      ...env,
    },
  });
  cleanup.push(() => gw.stop());
  return Object.assign(gw, { tlsPort });
}

async function pebbleFor(httpPort: number, validitySeconds = 10 * 86_400, deferred = false): Promise<Pebble> {
  const pebble = await startPebble({ httpPort, hosts: HOSTS, validitySeconds, avoid: [...picked], deferred });
  for (const p of pebble.ports) picked.add(p);
  cleanup.push(() => pebble.stop());
  return pebble;
}

describe('ACME against Pebble', () => {
  it('obtains a certificate for a configured host over HTTP-01 and serves it by SNI, without renewing a fresh one', { timeout: 90_000 }, async () => {
    const proxyPort = await port();
    const pebble = await pebbleFor(proxyPort);
    const gw = await gatewayFor(pebble, proxyPort, { GATEHOUSE_ACME_DOMAINS: 'api.acme.test', GATEHOUSE_ACME_RENEW_BEFORE_DAYS: '1' });

    const st = await until('a valid certificate', async () => {
      const s = await acmeStatus(gw, 'api.acme.test');
      return s.state === 'valid' ? s : undefined;
    }, 60_000, () => gw.logs() + pebble.logs());
    expect(st.failures).toBe(0);
    expect(st.last_error).toBeNull();
    expect(st.issuer).toMatch(/Pebble/);

    // A certificates entity like any other, tagged, without its key.
    const c = (await (await gw.admin('/certificates/acme-api.acme.test')).json()) as Record<string, unknown>;
    expect(c.snis).toEqual(['api.acme.test']);
    expect(c.tags).toEqual(['acme']);
    expect(c).not.toHaveProperty('key');
    expect(c).not.toHaveProperty('key_encrypted');

    // Served on the HTTPS listener (started by the first certificate), chaining to this Pebble's root.
    const root = await pebble.issuingRoot();
    const tls = await until('the HTTPS listener', async () => served(gw.tlsPort, 'api.acme.test', root).catch(() => undefined), 10_000, gw.logs);
    expect(tls.error).toBeUndefined();
    expect(tls.authorized).toBe(true);
    expect(tls.cert.issuer.CN).toMatch(/^Pebble Intermediate CA/);
    expect(tls.cert.subjectaltname).toBe('DNS:api.acme.test');
    expect(tls.cert.fingerprint256).toBe(c.fingerprint256);
    // …and not signed by some other root.
    expect((await served(gw.tlsPort, 'api.acme.test', readFileSync(pebble.caFile, 'utf8'))).authorized).toBe(false);

    // Ten days left, renew-before one day: several more checks (every 300 ms) order nothing.
    await new Promise((r) => setTimeout(r, 2_000));
    const later = await acmeStatus(gw, 'api.acme.test');
    expect(later.last_issued_at).toBe(st.last_issued_at);
    expect(gw.logs().match(/acme: certificate issued/g)).toHaveLength(1);

    // Unknown tokens are answered by the gateway itself (not routed), as a plain 404.
    const r = await fetch(`http://127.0.0.1:${proxyPort}/.well-known/acme-challenge/nope-token`);
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('no such challenge\n');
  });

  it('renews a certificate once less than the renew-before time remains, and the listener swaps it', { timeout: 90_000 }, async () => {
    const proxyPort = await port();
    const pebble = await pebbleFor(proxyPort);
    // Ten-day certificates, renewed when fewer than 20 days remain: every check finds it due.
    const gw = await gatewayFor(pebble, proxyPort, { GATEHOUSE_ACME_DOMAINS: 'renew.acme.test', GATEHOUSE_ACME_RENEW_BEFORE_DAYS: '20', GATEHOUSE_ACME_CHECK_INTERVAL_MS: '1000' });
    const root = await pebble.issuingRoot();
    const first = await until('the first certificate', async () => {
      const r = await gw.admin('/certificates/acme-renew.acme.test');
      return r.ok ? ((await r.json()) as { fingerprint256: string }).fingerprint256 : undefined;
    }, 60_000, () => gw.logs() + pebble.logs());
    const second = await until('a renewed certificate', async () => {
      const r = await gw.admin('/certificates/acme-renew.acme.test');
      const f = ((await r.json()) as { fingerprint256: string }).fingerprint256;
      return f !== first ? f : undefined;
    }, 60_000, () => gw.logs() + pebble.logs());
    const renewed = await until('the renewed certificate on the listener', async () => {
      const t = await served(gw.tlsPort, 'renew.acme.test', root).catch(() => undefined);
      return t && t.cert.fingerprint256 !== first ? t : undefined;
    }, 10_000, gw.logs);
    expect(renewed.authorized).toBe(true);
    // Every check renews here, so the listener may already serve a later one than `second`.
    expect(second).not.toBe(first);
    const st = await acmeStatus(gw, 'renew.acme.test');
    expect(st.failures).toBe(0);
  });

  it('backs off exponentially when the challenge fails and reports the CA error in GET /acme', { timeout: 90_000 }, async () => {
    const proxyPort = await port();
    const pebble = await pebbleFor(proxyPort);
    // broken.acme.test resolves to 127.0.0.2, where nothing listens: Pebble's validation is refused.
    const gw = await gatewayFor(pebble, proxyPort, { GATEHOUSE_ACME_DOMAINS: 'broken.acme.test', GATEHOUSE_ACME_RETRY_MIN_MS: '2000' });

    const one = await until('a first failure', async () => {
      const s = await acmeStatus(gw, 'broken.acme.test');
      return s.failures >= 1 ? s : undefined;
    }, 60_000, () => gw.logs() + pebble.logs());
    expect(one.failures).toBe(1);
    expect(one.state).toBe('backoff');
    expect(one.last_error).toMatch(/urn:ietf:params:acme:error:(connection|unauthorized)|refused/i);
    expect(Date.parse(one.next_attempt_at!) - Date.parse(one.error_at!)).toBe(2_000);

    const two = await until('a second failure', async () => {
      const s = await acmeStatus(gw, 'broken.acme.test');
      return s.failures >= 2 ? s : undefined;
    }, 30_000, gw.logs);
    expect(two.failures).toBe(2);
    // Checks run every 300 ms, yet the second order waited out the first backoff…
    expect(Date.parse(two.error_at!) - Date.parse(one.error_at!)).toBeGreaterThanOrEqual(2_000);
    // …and the next waits twice as long.
    expect(Date.parse(two.next_attempt_at!) - Date.parse(two.error_at!)).toBe(4_000);
    expect((await gw.admin('/certificates/acme-broken.acme.test')).status).toBe(404);
  });

  it('two nodes sharing one store and one Redis order a domain once, and both serve it', { timeout: 90_000 }, async () => {
    const db = await createDatabase(pg.url);
    let redis: RedisServer | undefined;
    cleanup.push(() => db.drop());
    cleanup.push(() => redis?.stop());
    redis = await startRedis();
    const [portA, portB] = [await port(), await port()];
    // Pebble validates against node A only; if node B wins the lock, A answers from Redis. It starts after
    // both nodes: their first orders fail (connection refused) and back off 2 s, a backoff they share, so
    // once it is over both try again within one 200 ms check of each other: a real race for the lock.
    const pebble = await pebbleFor(portA, 10 * 86_400, true);
    const shared = { DATABASE_URL: db.url, REDIS_URL: redis.url, GATEHOUSE_ACME_DOMAINS: 'shared.acme.test', GATEHOUSE_ACME_RENEW_BEFORE_DAYS: '1', GATEHOUSE_ACME_CHECK_INTERVAL_MS: '200', GATEHOUSE_ACME_RETRY_MIN_MS: '2000' };
    const [a, b] = await Promise.all([
      gatewayFor(pebble, portA, { ...shared, GATEHOUSE_NODE_ID: 'node-a' }),
      gatewayFor(pebble, portB, { ...shared, GATEHOUSE_NODE_ID: 'node-b' }),
    ]);
    const failed = await until('the shared backoff', async () => {
      const s = await acmeStatus(b, 'shared.acme.test');
      return s.failures >= 1 ? s : undefined;
    }, 30_000, () => a.logs() + b.logs());
    expect(failed.last_error).toMatch(/ECONNREFUSED/);
    expect((await acmeStatus(a, 'shared.acme.test')).next_attempt_at).toBe(failed.next_attempt_at);
    await pebble.start();
    const root = await pebble.issuingRoot();
    for (const gw of [a, b]) {
      await until(`a valid certificate on ${gw.adminUrl}`, async () => ((await acmeStatus(gw, 'shared.acme.test')).state === 'valid' ? true : undefined), 60_000, () => a.logs() + b.logs() + pebble.logs());
      const t = await until('the HTTPS listener', async () => served(gw.tlsPort, 'shared.acme.test', root).catch(() => undefined), 15_000, gw.logs);
      expect(t.authorized).toBe(true);
    }
    // Several more checks on both nodes (every 200 ms).
    await new Promise((r) => setTimeout(r, 1_500));
    const issued = (a.logs() + b.logs()).match(/acme: certificate issued/g) ?? [];
    expect(issued).toHaveLength(1);
    const versions = (await (await a.admin('/versions?limit=50')).json()) as { data: Array<{ message?: string }> };
    expect(versions.data.filter((v) => /acme: certificate for shared\.acme\.test/.test(v.message ?? ''))).toHaveLength(1);
    const st = await acmeStatus(b, 'shared.acme.test');
    expect(['node-a', 'node-b']).toContain(st.node);
    // The success cleared the shared failure state.
    expect(st.failures).toBe(0);
    expect(st.last_error).toBeNull();
  });
});
