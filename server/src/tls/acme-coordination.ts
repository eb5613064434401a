/**
 * What the ACME managers of several nodes share: the HTTP-01 answers (a load balancer may send the CA's
 * validation request to any node), the per-domain issuer lock (one order per domain across the cluster)
 * and the per-domain state (failures, backoff, last error), so every node reports and respects the same
 * backoff. With REDIS_URL it lives in Redis; without, in this process (one node).
 */
import { randomBytes } from 'node:crypto';
import type { RedisConnection } from '../limits/redis-client.js';

/** Shared state of one domain's certificate (what `GET /acme` shows next to the stored certificate). */
export interface AcmeDomainState {
  /** Failed issuance attempts in a row; 0 after a success. */
  failures: number;
  last_error: string | null;
  error_at: string | null;
  /** No attempt (by any node) before this instant; null: no backoff. */
  next_attempt_at: string | null;
  last_issued_at: string | null;
  /** The node that issued last, or failed last. */
  node: string | null;
}

export const EMPTY_DOMAIN_STATE: AcmeDomainState = { failures: 0, last_error: null, error_at: null, next_attempt_at: null, last_issued_at: null, node: null };

export interface AcmeLease {
  /** Keeps the lock for another `ttlMs` (long orders); false when it was lost (expired and taken). */
  extend(ttlMs: number): Promise<boolean>;
  release(): Promise<void>;
}

export interface AcmeCoordinator {
  readonly shared: boolean;
  /** The lock of `domain`, or undefined when another issuer holds it. It expires after `ttlMs` unless extended. */
  lock(domain: string, ttlMs: number): Promise<AcmeLease | undefined>;
  putChallenge(token: string, keyAuthorization: string, ttlMs: number): Promise<void>;
  deleteChallenge(token: string): Promise<void>;
  getState(domain: string): Promise<AcmeDomainState>;
  setState(domain: string, state: AcmeDomainState): Promise<void>;
}

/** Redis key of an HTTP-01 answer; the proxy worker reads it too (acme-challenge.ts). */
export const challengeKey = (token: string): string => `gatehouse:acme:http01:${token}`;
const lockKey = (domain: string) => `gatehouse:acme:lock:${domain}`;
const stateKey = (domain: string) => `gatehouse:acme:state:${domain}`;

// Compare-and-delete / compare-and-extend: a lease that expired and was taken by another node is never
// released or extended by its former holder.
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

export class RedisAcmeCoordinator implements AcmeCoordinator {
  readonly shared = true;
  constructor(private readonly redis: RedisConnection) {}

  async lock(domain: string, ttlMs: number): Promise<AcmeLease | undefined> {
    const key = lockKey(domain);
    const token = randomBytes(16).toString('hex');
    const ok = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') return undefined;
    return {
      extend: async (ms) => (await this.redis.eval(EXTEND, 1, key, token, String(ms))) === 1,
      release: async () => {
        await this.redis.eval(RELEASE, 1, key, token);
      },
    };
  }

  async putChallenge(token: string, keyAuthorization: string, ttlMs: number): Promise<void> {
    await this.redis.set(challengeKey(token), keyAuthorization, 'PX', ttlMs);
  }

  async deleteChallenge(token: string): Promise<void> {
    await this.redis.del(challengeKey(token));
  }

  async getState(domain: string): Promise<AcmeDomainState> {
    const raw = await this.redis.get(stateKey(domain));
    if (raw === null) return { ...EMPTY_DOMAIN_STATE };
    try {
      return { ...EMPTY_DOMAIN_STATE, ...(JSON.parse(raw) as Partial<AcmeDomainState>) };
    } catch {
      return { ...EMPTY_DOMAIN_STATE };
    }
  }

  async setState(domain: string, state: AcmeDomainState): Promise<void> {
    await this.redis.set(stateKey(domain), JSON.stringify(state));
  }
}

/** One node without Redis: the same contract, in memory. */
export class MemoryAcmeCoordinator implements AcmeCoordinator {
  readonly shared = false;
  private readonly locks = new Map<string, { token: string; until: number }>();
  private readonly states = new Map<string, AcmeDomainState>();
  readonly challenges = new Map<string, string>();

  lock(domain: string, ttlMs: number): Promise<AcmeLease | undefined> {
    const held = this.locks.get(domain);
    if (held !== undefined && held.until > Date.now()) return Promise.resolve(undefined);
    const token = randomBytes(8).toString('hex');
    this.locks.set(domain, { token, until: Date.now() + ttlMs });
    const mine = () => this.locks.get(domain)?.token === token;
    return Promise.resolve({
      extend: (ms: number) => {
        if (!mine()) return Promise.resolve(false);
        this.locks.set(domain, { token, until: Date.now() + ms });
        return Promise.resolve(true);
      },
      release: () => {
        if (mine()) this.locks.delete(domain);
        return Promise.resolve();
      },
    });
  }

  putChallenge(token: string, keyAuthorization: string): Promise<void> {
    this.challenges.set(token, keyAuthorization);
    return Promise.resolve();
  }

  deleteChallenge(token: string): Promise<void> {
    this.challenges.delete(token);
    return Promise.resolve();
  }

  getState(domain: string): Promise<AcmeDomainState> {
    return Promise.resolve({ ...(this.states.get(domain) ?? EMPTY_DOMAIN_STATE) });
  }

  setState(domain: string, state: AcmeDomainState): Promise<void> {
    this.states.set(domain, { ...state });
    return Promise.resolve();
  }
}
