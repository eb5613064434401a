/**
 * The parts of ACME that need no CA: settings, backoff, the cluster lock and shared state (against a real
 * redis-server), and the HTTP-01 responder (local answers and answers placed by another node in Redis).
 * Issuance itself is tested against Pebble in e2e/tests/acme.e2e.ts.
 */
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../limits/test-support/redis-server.js';
import { acmeSettingsFromEnv, backoffMs, LETS_ENCRYPT_PRODUCTION } from './acme.js';
import { MemoryAcmeCoordinator, RedisAcmeCoordinator, type AcmeCoordinator } from './acme-coordination.js';
import { ACME_CHALLENGE_PREFIX, AcmeChallengeResponder } from './acme-challenge.js';

describe('acmeSettingsFromEnv', () => {
  it('is off without domains', () => {
    expect(acmeSettingsFromEnv({})).toBeUndefined();
    expect(acmeSettingsFromEnv({ GATEHOUSE_ACME_DOMAINS: ' , ' })).toBeUndefined();
  });

  it("defaults to Let's Encrypt production, 30 days before expiry", () => {
    const s = acmeSettingsFromEnv({ GATEHOUSE_ACME_DOMAINS: 'API.example.com, www.example.com,api.example.com' })!;
    expect(s.domains).toEqual(['api.example.com', 'www.example.com']);
    expect(s.directoryUrl).toBe(LETS_ENCRYPT_PRODUCTION);
    expect(s.renewBeforeMs).toBe(30 * 86_400_000);
    expect(s.retryMinMs).toBe(60_000);
  });

  it('refuses wildcards, bad numbers and unreadable CA files', () => {
    expect(() => acmeSettingsFromEnv({ GATEHOUSE_ACME_DOMAINS: '*.example.com' })).toThrow(/DNS-01/);
    expect(() => acmeSettingsFromEnv({ GATEHOUSE_ACME_DOMAINS: 'localhost' })).toThrow(/not a host name/);
    expect(() => acmeSettingsFromEnv({ GATEHOUSE_ACME_DOMAINS: 'a.example.com', GATEHOUSE_ACME_RENEW_BEFORE_DAYS: '-1' })).toThrow(/RENEW_BEFORE_DAYS/);
    expect(() => acmeSettingsFromEnv({ GATEHOUSE_ACME_DOMAINS: 'a.example.com', GATEHOUSE_ACME_CA_FILE: '/nonexistent/ca.pem' })).toThrow(/CA_FILE/);
    expect(() => acmeSettingsFromEnv({ GATEHOUSE_ACME_DOMAINS: 'a.example.com', GATEHOUSE_ACME_EMAIL: 'nobody' })).toThrow(/EMAIL/);
  });
});

describe('backoffMs', () => {
  it('doubles from the minimum up to the maximum', () => {
    const s = { retryMinMs: 1_000, retryMaxMs: 10_000 };
    expect([1, 2, 3, 4, 5, 50].map((f) => backoffMs(f, s))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });
});

function coordinatorContract(name: string, make: () => AcmeCoordinator) {
  describe(name, () => {
    it('gives a domain lock to one issuer at a time, and only its holder releases it', async () => {
      const c1 = make();
      const c2 = make();
      const leases = await Promise.all([c1.lock('race.example.com', 10_000), c2.lock('race.example.com', 10_000), c1.lock('race.example.com', 10_000)]);
      expect(leases.filter((l) => l !== undefined)).toHaveLength(1);
      const lease = leases.find((l) => l !== undefined)!;
      expect(await c2.lock('other.example.com', 10_000)).toBeDefined();
      expect(await lease.extend(10_000)).toBe(true);
      await lease.release();
      const next = await c2.lock('race.example.com', 10_000);
      expect(next).toBeDefined();
      // The former holder's lease is gone: it can neither extend nor release the new one.
      expect(await lease.extend(10_000)).toBe(false);
      await lease.release();
      expect(await c1.lock('race.example.com', 10_000)).toBeUndefined();
      await next!.release();
    });

    it('lets a lock expire after its ttl', async () => {
      const c = make();
      expect(await c.lock('ttl.example.com', 150)).toBeDefined();
      expect(await c.lock('ttl.example.com', 150)).toBeUndefined();
      await new Promise((r) => setTimeout(r, 250));
      expect(await c.lock('ttl.example.com', 150)).toBeDefined();
    });

    it('keeps state per domain', async () => {
      const c = make();
      expect((await c.getState('s.example.com')).failures).toBe(0);
      await c.setState('s.example.com', { failures: 2, last_error: 'boom', error_at: 'x', next_attempt_at: 'y', last_issued_at: null, node: 'n1' });
      expect(await make().getState('s.example.com')).toMatchObject({ failures: 2, last_error: 'boom', node: 'n1' });
      expect((await c.getState('t.example.com')).failures).toBe(0);
    });
  });
}

// One per process: the callers that race are this node's (a check pass and, say, a second manager).
const memory = new MemoryAcmeCoordinator();
coordinatorContract('MemoryAcmeCoordinator', () => memory);

describe('with Redis', () => {
  let redis: TestRedis;
  const clients: Redis[] = [];
  const client = () => {
    const c = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis?.stop();
  });

  // Each coordinator with its own connection, as on separate nodes.
  coordinatorContract('RedisAcmeCoordinator', () => new RedisAcmeCoordinator(client()));

  describe('AcmeChallengeResponder', () => {
    let server: Server;
    let base: string;
    let responder: AcmeChallengeResponder;
    beforeAll(async () => {
      responder = new AcmeChallengeResponder(client());
      server = createServer((req, res) => {
        if (req.url!.startsWith(ACME_CHALLENGE_PREFIX)) return responder.answer(req, res);
        res.writeHead(418).end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it("answers this node's tokens and, through Redis, another node's", async () => {
      responder.set('local-token', 'local-token.thumb');
      await new RedisAcmeCoordinator(client()).putChallenge('remote-token', 'remote-token.thumb', 10_000);
      const local = await fetch(`${base}/.well-known/acme-challenge/local-token`);
      expect(local.status).toBe(200);
      expect(await local.text()).toBe('local-token.thumb');
      const remote = await fetch(`${base}/.well-known/acme-challenge/remote-token?x=1`);
      expect(remote.status).toBe(200);
      expect(await remote.text()).toBe('remote-token.thumb');
      responder.set('local-token', undefined);
      expect((await fetch(`${base}/.well-known/acme-challenge/local-token`)).status).toBe(404);
    });

    it('refuses unknown and malformed tokens and other methods', async () => {
      expect((await fetch(`${base}/.well-known/acme-challenge/unknown`)).status).toBe(404);
      expect((await fetch(`${base}/.well-known/acme-challenge/a.b`)).status).toBe(404);
      expect((await fetch(`${base}/.well-known/acme-challenge/`)).status).toBe(404);
      await new RedisAcmeCoordinator(client()).putChallenge('posted', 'posted.thumb', 10_000);
      expect((await fetch(`${base}/.well-known/acme-challenge/posted`, { method: 'POST' })).status).toBe(404);
    });
  });
});
