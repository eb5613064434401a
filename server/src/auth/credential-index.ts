/**
 * The data plane's view of consumers and credentials, built once per config snapshot: every lookup a
 * request makes is one Map access (API keys by keyed hash, the others by kind and public identifier).
 * Secrets are prepared here, off the hot path: scrypt hashes parsed, hmac/jwt secrets decrypted.
 *
 * Expiry is checked per request against the clock (a snapshot is not rebuilt when a key expires);
 * revoked credentials are indexed too, so a caller gets the same 401 as for an unknown key while the
 * gateway can log which credential was refused.
 */
import type { ConsumerConfig, CredentialConfig, CredentialKind } from '../config/schema.js';
import { decryptSecret, keyedHash, parseScryptHash, type CredentialKeys, type ParsedScrypt } from './secrets.js';

export interface IndexedCredential {
  readonly id: string;
  readonly kind: CredentialKind;
  readonly consumer: ConsumerConfig;
  /** Public identifier (basic/hmac user name, jwt iss/kid); undefined for key-auth. */
  readonly key: string | undefined;
  /** What upstreams receive in X-Credential-Identifier: the public key when there is one, else the id. */
  readonly identifier: string;
  /** Epoch ms; Infinity when the credential does not expire. */
  readonly expiresAt: number;
  readonly revoked: boolean;
  /** basic-auth. */
  readonly password: ParsedScrypt | undefined;
  /** hmac-auth and jwt HS*: the decrypted secret. */
  readonly secret: Buffer | undefined;
  /** jwt. */
  readonly algorithm: string | undefined;
  readonly publicKeyPem: string | undefined;
}

export type CredentialStatus = 'ok' | 'expired' | 'revoked';

export function credentialStatus(c: IndexedCredential, now: number): CredentialStatus {
  if (c.revoked) return 'revoked';
  return now >= c.expiresAt ? 'expired' : 'ok';
}

export interface CredentialIndexError {
  id: string;
  message: string;
}

const NONE: readonly IndexedCredential[] = [];

/** Presented API keys remembered per snapshot (see findApiKey); the oldest is forgotten first. */
export const RECENT_API_KEYS_MAX = 10_000;

export class CredentialIndex {
  private readonly consumers = new Map<string, ConsumerConfig>();
  private readonly byKeyHash = new Map<string, IndexedCredential>();
  /** `${kind}\0${key}` → credentials (two of one consumer during a rotation's overlap). */
  private readonly byKey = new Map<string, IndexedCredential[]>();
  private readonly byConsumer = new Map<string, IndexedCredential[]>();
  /** API keys presented since this index was built that matched a key-auth credential. */
  private readonly recentApiKeys = new Map<string, IndexedCredential>();
  /** Credentials that could not be prepared (e.g. a secret encrypted under another key); reported in /status. */
  readonly errors: CredentialIndexError[] = [];

  constructor(
    consumers: readonly ConsumerConfig[],
    credentials: readonly CredentialConfig[],
    private readonly keys: CredentialKeys,
  ) {
    for (const c of consumers) this.consumers.set(c.username, c);
    for (const cred of credentials) {
      const consumer = this.consumers.get(cred.consumer);
      if (consumer === undefined) continue;
      let secret: Buffer | undefined;
      try {
        if (cred.secret_encrypted !== undefined) secret = decryptSecret(keys, cred.secret_encrypted);
      } catch {
        this.errors.push({ id: cred.id, message: `credential ${cred.id} cannot be decrypted with this node's GATEHOUSE_SECRET_KEY` });
        continue;
      }
      const password = cred.secret_hash !== undefined ? parseScryptHash(cred.secret_hash) : undefined;
      const indexed: IndexedCredential = {
        id: cred.id,
        kind: cred.kind,
        consumer,
        key: cred.key,
        identifier: cred.key ?? cred.id,
        expiresAt: cred.expires_at !== undefined ? Date.parse(cred.expires_at) : Infinity,
        revoked: cred.revoked_at !== undefined,
        password,
        secret,
        algorithm: cred.algorithm,
        publicKeyPem: cred.rsa_public_key,
      };
      if (cred.key_hash !== undefined) this.byKeyHash.set(cred.key_hash, indexed);
      if (cred.key !== undefined) {
        const k = `${cred.kind}\0${cred.key}`;
        const same = this.byKey.get(k);
        if (same === undefined) this.byKey.set(k, [indexed]);
        else same.push(indexed);
      }
      let list = this.byConsumer.get(consumer.username);
      if (list === undefined) this.byConsumer.set(consumer.username, (list = []));
      list.push(indexed);
    }
  }

  /** Number of indexed credentials (for tests and /status). */
  get size(): number {
    let n = 0;
    for (const l of this.byConsumer.values()) n += l.length;
    return n;
  }

  consumer(username: string): ConsumerConfig | undefined {
    return this.consumers.get(username);
  }

  /**
   * key-auth: the credential whose key this is, by keyed hash (one HMAC and one Map lookup). A key that
   * matched is remembered, so a client's later requests skip the HMAC (1.8 µs of a ~100 µs request):
   * only matching keys are kept, so unknown keys can neither fill nor evict the table, and it lives as
   * long as this snapshot's index, so a revoked or removed key is forgotten with the config change that
   * revoked it. Expiry is checked by the caller on the credential, hit or miss. The plain keys it holds
   * are what the proxy reads from every request anyway; the store still keeps only their hashes.
   */
  findApiKey(plainKey: string): IndexedCredential | undefined {
    const hit = this.recentApiKeys.get(plainKey);
    if (hit !== undefined) return hit;
    const c = this.byKeyHash.get(keyedHash(this.keys, plainKey));
    if (c === undefined || c.kind !== 'key-auth') return undefined;
    if (this.recentApiKeys.size >= RECENT_API_KEYS_MAX) this.recentApiKeys.delete(this.recentApiKeys.keys().next().value!);
    this.recentApiKeys.set(plainKey, c);
    return c;
  }

  /** basic-auth, hmac-auth and jwt: by public identifier; newest first is not guaranteed, callers try each. */
  find(kind: CredentialKind, key: string): readonly IndexedCredential[] {
    return this.byKey.get(`${kind}\0${key}`) ?? NONE;
  }

  /** Every credential of one consumer (any state). */
  ofConsumer(username: string): readonly IndexedCredential[] {
    return this.byConsumer.get(username) ?? [];
  }

  /** HMAC under the pepper; for cache keys that must not reveal what they were computed from. */
  keyedHash(value: string): string {
    return keyedHash(this.keys, value);
  }
}
