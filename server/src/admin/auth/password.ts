/**
 * Admin password hashing with scrypt from node:crypto. The stored string carries its own version and
 * cost parameters (`scrypt$1$N,r,p$salt$hash`), so the cost can be raised later without breaking old hashes.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const FORMAT = 'scrypt';
const VERSION = '1';
const KEY_LENGTH = 32;
const SALT_BYTES = 16;
/** N=2^15, r=8: ~32 MiB and tens of milliseconds per hash; memory-hard enough for an admin plane. */
const DEFAULT_COST = { N: 32768, r: 8, p: 1 };

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, DEFAULT_COST);
  const { N, r, p } = DEFAULT_COST;
  return `${FORMAT}$${VERSION}$${N},${r},${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Constant-time comparison; a malformed stored hash never matches (and never throws). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 5 || parts[0] !== FORMAT || parts[1] !== VERSION) return false;
  const [N, r, p] = (parts[2] ?? '').split(',').map(Number);
  if (!N || !r || !p || N > 1 << 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[3] ?? '', 'base64url');
  const expected = Buffer.from(parts[4] ?? '', 'base64url');
  if (salt.length === 0 || expected.length !== KEY_LENGTH) return false;
  const actual = await derive(password, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}

/** A hash of a random password, verified against when the user does not exist so timing doesn't reveal it. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(18).toString('base64url'));
  return decoy;
}

export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
