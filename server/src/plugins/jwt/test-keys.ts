/**
 * Test fixtures shared by the jwt specs: a key pair per algorithm, generated once per test file, and
 * helpers to sign with jose (the independent reference implementation) or to hand-craft hostile tokens.
 */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import type { JwtAlgorithm } from './schema.js';

export interface AlgKeys {
  alg: JwtAlgorithm;
  /** HS*: the secret; otherwise the private key. */
  signKey: KeyObject | Uint8Array;
  secret?: string;
  publicPem?: string;
  publicKey?: KeyObject;
}

const SECRETS: Record<string, string> = {
  HS256: 'a'.repeat(32),
  HS384: 'b'.repeat(48),
  HS512: 'c'.repeat(64),
};

function pair(alg: JwtAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  if (alg === 'ES384') return generateKeyPairSync('ec', { namedCurve: 'P-384' });
  if (alg === 'ES512') return generateKeyPairSync('ec', { namedCurve: 'P-521' });
  return generateKeyPairSync('ed25519');
}

export function makeKeys(alg: JwtAlgorithm): AlgKeys {
  if (alg.startsWith('HS')) return { alg, signKey: new TextEncoder().encode(SECRETS[alg]), secret: SECRETS[alg] };
  const { privateKey, publicKey } = pair(alg);
  return { alg, signKey: privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

export async function sign(k: AlgKeys, payload: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: k.alg, ...header }).sign(k.signKey);
}

export const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A token with any header/payload, HMAC-signed with `secret` (so only the intended check can fail). */
export function craftHs(header: unknown, payload: unknown, secret: string | Buffer, hash = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

export const nowSec = (): number => Math.floor(Date.now() / 1000);
