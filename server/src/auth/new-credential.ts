/**
 * Turns a creation request into a storable credential (hashed or encrypted) plus the clear secret that
 * is shown exactly once. Shared by the admin API and by tests, so both produce the same records.
 */
import { randomUUID } from 'node:crypto';
import type { CredentialConfig, CredentialKind } from '../config/schema.js';
import { encryptSecret, generateApiKey, generateSecret, hashPassword, keyedHash, type CredentialKeys } from './secrets.js';

export interface NewCredentialInput {
  kind: CredentialKind;
  /** key-auth: a key to use instead of a generated one (≥ 16 characters). basic/hmac: the user name. jwt: iss/kid. */
  key?: string;
  /** basic-auth password, hmac-auth or jwt HS* secret; generated when omitted (not for basic-auth). */
  secret?: string;
  algorithm?: string;
  rsa_public_key?: string;
  expires_at?: string;
  tags?: string[];
}

export interface NewCredential {
  credential: CredentialConfig;
  /** The clear key/secret/password to show once; undefined for jwt keys given as a public key. */
  plain: string | undefined;
}

export class CredentialInputError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'CredentialInputError';
  }
}

const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$/;
const SYMMETRIC = /^HS(256|384|512)$/;

export function newCredential(keys: CredentialKeys, consumer: string, input: NewCredentialInput, now = new Date()): NewCredential {
  const base: CredentialConfig = { id: randomUUID(), consumer, kind: input.kind, created_at: now.toISOString(), tags: input.tags ?? [] };
  if (input.expires_at !== undefined) base.expires_at = new Date(input.expires_at).toISOString();
  switch (input.kind) {
    case 'key-auth': {
      const plain = input.key ?? generateApiKey();
      if (plain.length < 16) throw new CredentialInputError('/key', 'an API key must have at least 16 characters');
      if (input.secret !== undefined) throw new CredentialInputError('/secret', 'key-auth credentials have no secret');
      return { credential: { ...base, key_hash: keyedHash(keys, plain) }, plain };
    }
    case 'basic-auth': {
      if (input.key === undefined || input.key.includes(':')) throw new CredentialInputError('/key', 'basic-auth needs a user name without `:`');
      if (input.secret === undefined || input.secret.length < 8) throw new CredentialInputError('/secret', 'basic-auth needs a password of at least 8 characters');
      return { credential: { ...base, key: input.key, secret_hash: hashPassword(input.secret) }, plain: input.secret };
    }
    case 'hmac-auth': {
      if (input.key === undefined) throw new CredentialInputError('/key', 'hmac-auth needs a user name');
      const plain = input.secret ?? generateSecret();
      if (plain.length < 16) throw new CredentialInputError('/secret', 'an HMAC secret must have at least 16 characters');
      return { credential: { ...base, key: input.key, secret_encrypted: encryptSecret(keys, plain) }, plain };
    }
    case 'jwt': {
      if (input.key === undefined) throw new CredentialInputError('/key', 'a jwt credential needs `key` (the iss or kid it matches)');
      const algorithm = input.algorithm ?? 'HS256';
      if (SYMMETRIC.test(algorithm)) {
        if (input.rsa_public_key !== undefined) throw new CredentialInputError('/rsa_public_key', `${algorithm} uses a shared secret, not a public key`);
        const plain = input.secret ?? generateSecret();
        if (Buffer.byteLength(plain) < 32) throw new CredentialInputError('/secret', 'an HS secret must have at least 32 bytes');
        return { credential: { ...base, key: input.key, algorithm, secret_encrypted: encryptSecret(keys, plain) }, plain };
      }
      if (!ASYMMETRIC.test(algorithm)) throw new CredentialInputError('/algorithm', `unsupported algorithm '${algorithm}'`);
      if (input.rsa_public_key === undefined) throw new CredentialInputError('/rsa_public_key', `${algorithm} needs a PEM public key`);
      if (input.secret !== undefined) throw new CredentialInputError('/secret', `${algorithm} verifies with a public key; no secret`);
      return { credential: { ...base, key: input.key, algorithm, rsa_public_key: input.rsa_public_key }, plain: undefined };
    }
  }
}
