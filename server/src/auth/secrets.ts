/**
 * Secret handling for consumers' credentials. Nothing here ever stores or logs a clear secret:
 *
 * - API keys (key-auth) are looked up by a KEYED hash: HMAC-SHA256 under a cluster-wide pepper. A plain
 *   SHA-256 of a key would let anyone holding a database dump test guesses offline; the pepper lives in
 *   the `settings` table (or `GATEHOUSE_CREDENTIAL_PEPPER`), so a leaked export alone is not enough. API
 *   keys are 256 random bits, so a fast hash is safe and keeps lookups O(1) on the hot path.
 * - Passwords (basic-auth) are chosen by people, so they get a slow, salted hash: scrypt from node:crypto.
 * - Secrets that must be usable for verification (hmac-auth, jwt HS*) cannot be hashed; they are
 *   encrypted with AES-256-GCM under `GATEHOUSE_SECRET_KEY` when set, else under a key kept in the store's
 *   settings (logged as a warning at start: a database dump then holds both the key and the ciphertext).
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes, scrypt, scryptSync, timingSafeEqual, type KeyObject } from 'node:crypto';

export interface CredentialKeys {
  /** HMAC-SHA256 key for API-key lookups and for cache keys of verified passwords. */
  readonly pepper: Buffer;
  /** AES-256-GCM key for secrets that must be recoverable (32 bytes). */
  readonly encryptionKey: Buffer;
  /** Where the encryption key came from, for /status and the start-up log line. */
  readonly encryptionKeySource: 'env' | 'store' | 'process';
}

/** What loadCredentialKeys needs from the config store (ConfigStore satisfies it). */
export interface SettingSource {
  setting(key: string, create: () => string): Promise<string>;
}

export interface SecretsLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export const PEPPER_SETTING = 'credential_pepper';
export const ENCRYPTION_KEY_SETTING = 'credential_encryption_key';

/** Parses GATEHOUSE_SECRET_KEY: 64 hex digits are used as is; any other string of ≥ 32 characters goes through HKDF-SHA256. */
export function parseSecretKey(value: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (value.length < 32) throw new Error('GATEHOUSE_SECRET_KEY must be 64 hex digits or a passphrase of at least 32 characters');
  return Buffer.from(hkdfSync('sha256', value, 'gatehouse', 'credential-encryption', 32));
}

function parsePepper(value: string): Buffer {
  if (value.length < 32) throw new Error('GATEHOUSE_CREDENTIAL_PEPPER must be at least 32 characters');
  return Buffer.from(value, 'utf8');
}

const random32 = (): string => randomBytes(32).toString('base64url');

/**
 * The cluster's credential keys: every node reads the same pepper and encryption key from the store's
 * settings (the first node to start creates them), unless the environment provides them.
 */
export async function loadCredentialKeys(store: SettingSource, logger: SecretsLogger, env: NodeJS.ProcessEnv = process.env): Promise<CredentialKeys> {
  const pepper = env.GATEHOUSE_CREDENTIAL_PEPPER ? parsePepper(env.GATEHOUSE_CREDENTIAL_PEPPER) : Buffer.from(await store.setting(PEPPER_SETTING, random32), 'base64url');
  if (env.GATEHOUSE_SECRET_KEY) {
    return { pepper, encryptionKey: parseSecretKey(env.GATEHOUSE_SECRET_KEY), encryptionKeySource: 'env' };
  }
  const stored = await store.setting(ENCRYPTION_KEY_SETTING, random32);
  logger.warn(
    { setting: ENCRYPTION_KEY_SETTING },
    'GATEHOUSE_SECRET_KEY is not set: hmac-auth and jwt HS secrets are encrypted with a key kept in the config store; set GATEHOUSE_SECRET_KEY (the same on every node) to keep them apart',
  );
  return { pepper, encryptionKey: Buffer.from(stored, 'base64url'), encryptionKeySource: 'store' };
}

/** Random keys for a process without a store (tests, the data-plane harness). */
export function processCredentialKeys(): CredentialKeys {
  return { pepper: randomBytes(32), encryptionKey: randomBytes(32), encryptionKeySource: 'process' };
}

let active: CredentialKeys | undefined;

/**
 * The keys the data plane uses when a snapshot is built without explicit ones. main.ts installs the
 * store's keys at start; without that (unit tests) a random per-process pair is used consistently.
 */
export function activeCredentialKeys(): CredentialKeys {
  return (active ??= processCredentialKeys());
}

export function setActiveCredentialKeys(keys: CredentialKeys): void {
  active = keys;
}

// createHmac with a Buffer key builds a KeyObject on every call: 10.6 µs against 1.8 µs with one made
// once (Node 24; see docs/performance-log.md, auth overhead). key-auth hashes on every request.
const PEPPER_KEYS = new WeakMap<Buffer, KeyObject>();

/** base64url HMAC-SHA256 of `value` under the pepper: the lookup key of an API key (43 characters). */
export function keyedHash(keys: CredentialKeys, value: string): string {
  let key = PEPPER_KEYS.get(keys.pepper);
  if (key === undefined) PEPPER_KEYS.set(keys.pepper, (key = createSecretKey(keys.pepper)));
  return createHmac('sha256', key).update(value).digest('base64url');
}

/** A new API key: a recognisable prefix (secret scanners) and 256 random bits. */
export function generateApiKey(): string {
  return `ghk_${randomBytes(32).toString('base64url')}`;
}

/** A new shared secret for hmac-auth or jwt HS*: 256 random bits. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

// scrypt parameters: N=2^14, r=8, p=1 (16 MiB, ~30-60 ms per hash on a server core); stored with the hash so
// they can be raised later without invalidating existing passwords.
const SCRYPT_N = 16_384;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SCRYPT_LEN = 32;
const SCRYPT_MAXMEM = 64 * 1024 * 1024;

/** `scrypt$N$r$p$salt$hash` (base64url fields). Synchronous: admin plane only. */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, SCRYPT_LEN, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, maxmem: SCRYPT_MAXMEM });
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export interface ParsedScrypt {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** Parses a stored scrypt hash once (at snapshot build), so verification does no string work. */
export function parseScryptHash(stored: string): ParsedScrypt | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const N = Number(parts[1]);
  const r = Number(parts[2]);
  const p = Number(parts[3]);
  if (!Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(p) || N < 2 || r < 1 || p < 1 || N > 1 << 20) return undefined;
  return { N, r, p, salt: Buffer.from(parts[4]!, 'base64url'), hash: Buffer.from(parts[5]!, 'base64url') };
}

/** Verifies off the event loop (libuv thread pool), in constant time. */
export function verifyPassword(password: string, parsed: ParsedScrypt): Promise<boolean> {
  return new Promise((resolve) => {
    scrypt(password, parsed.salt, parsed.hash.length, { N: parsed.N, r: parsed.r, p: parsed.p, maxmem: SCRYPT_MAXMEM }, (err, derived) => {
      resolve(!err && derived.length === parsed.hash.length && timingSafeEqual(derived, parsed.hash));
    });
  });
}

/** AES-256-GCM with a random 96-bit IV: `v1.<iv>.<tag>.<ciphertext>` in base64url. */
export function encryptSecret(keys: CredentialKeys, plain: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', keys.encryptionKey, iv);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `v1.${iv.toString('base64url')}.${c.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`;
}

/** Throws when the value was not produced under this key (wrong GATEHOUSE_SECRET_KEY, tampering). */
export function decryptSecret(keys: CredentialKeys, sealed: string): Buffer {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1') throw new Error('not an encrypted secret');
  const d = createDecipheriv('aes-256-gcm', keys.encryptionKey, Buffer.from(parts[1]!, 'base64url'));
  d.setAuthTag(Buffer.from(parts[2]!, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(parts[3]!, 'base64url')), d.final()]);
}
