/**
 * The admin side of consumers' credentials: turns requests into hashed/encrypted records (auth/
 * new-credential.ts), writes them through the store's locked credential path, and returns the clear
 * secret only in the creation/rotation answer. Secrets never reach a log line.
 */
import { Inject, Injectable } from '@nestjs/common';
import { CredentialInputError, newCredential, type NewCredentialInput } from '../../auth/new-credential.js';
import { loadCredentialKeys, type CredentialKeys } from '../../auth/secrets.js';
import type { CredentialConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors/registry.js';
import type { ConfigStore, CredentialStore } from '../../store/config-store.js';
import { ADMIN_LOGGER, ADMIN_STORE, type AdminLogger } from '../admin-env.js';
import { ConfigWriter } from '../common/config-writer.service.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { parseWith } from '../common/typebox.pipe.js';
import { CredentialCreateSchema, CredentialRotateSchema } from './credentials.dto.js';

export type CredentialCreated = CredentialConfig & { secret?: string };

@Injectable()
export class CredentialsService {
  private keys: Promise<CredentialKeys> | undefined;

  constructor(
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(ADMIN_LOGGER) private readonly logger: AdminLogger,
    @Inject(ConfigWriter) private readonly writer: ConfigWriter,
  ) {}

  private credentialStore(store: ConfigStore = this.store): CredentialStore {
    if (!store.credentials) throw new GatewayError('GW_ERR_INTERNAL', 'this config store does not keep credentials');
    return store.credentials;
  }

  /** The cluster's pepper and encryption key, read once from the store's settings. */
  private credentialKeys(): Promise<CredentialKeys> {
    this.keys ??= loadCredentialKeys(this.store, this.logger).catch((err: unknown) => {
      this.keys = undefined;
      throw err;
    });
    return this.keys;
  }

  list(username: string): Promise<CredentialConfig[]> {
    return this.credentialStore().list(username);
  }

  get(username: string, id: string): Promise<CredentialConfig> {
    return this.credentialStore().get(username, id);
  }

  async create(username: string, body: unknown, user: AdminPrincipal): Promise<CredentialCreated> {
    const input = parseWith(CredentialCreateSchema, body);
    const made = this.build(await this.credentialKeys(), username, input);
    const r = await this.writer.write((s) => this.credentialStore(s).create(made.credential, { author: user.username, message: `create ${input.kind} credential for ${username}` }));
    return withSecret(r.credential, made.plain);
  }

  async rotate(username: string, id: string, body: unknown, user: AdminPrincipal): Promise<{ credential: CredentialCreated; previous: CredentialConfig }> {
    const input = parseWith(CredentialRotateSchema, body ?? {});
    const old = await this.get(username, id);
    if (old.revoked_at !== undefined) throw new GatewayError('GW_ERR_ADMIN_CONFLICT', 'a revoked credential cannot be rotated');
    if (old.kind === 'jwt' && old.rsa_public_key !== undefined) {
      throw new GatewayError('GW_ERR_ADMIN_CONFLICT', 'a jwt public key is rotated by creating a credential with the new key (the issuer holds the private key)');
    }
    const made = this.build(await this.credentialKeys(), username, {
      kind: old.kind,
      ...(old.key !== undefined && old.kind !== 'key-auth' ? { key: old.key } : {}),
      ...(input.secret !== undefined ? (old.kind === 'key-auth' ? { key: input.secret } : { secret: input.secret }) : {}),
      ...(old.algorithm !== undefined ? { algorithm: old.algorithm } : {}),
      ...(input.expires_at !== undefined ? { expires_at: input.expires_at } : {}),
      tags: old.tags,
    });
    // basic/hmac/jwt: both credentials keep the same user name / iss during the overlap; the data plane
    // tries each active one (auth/credential-index.ts `find`).
    const until = new Date(Date.now() + input.overlap_seconds * 1000);
    const newExpiry = old.expires_at !== undefined && Date.parse(old.expires_at) < until.getTime() ? old.expires_at : until.toISOString();
    const r = await this.writer.write((s) =>
      this.credentialStore(s).update(
        username,
        id,
        (c) => ({ ...c, expires_at: newExpiry }),
        { author: user.username, message: `rotate ${old.kind} credential ${id} of ${username}` },
        made.credential,
      ),
    );
    return { credential: withSecret(r.added!, made.plain), previous: r.credential };
  }

  async revoke(username: string, id: string, user: AdminPrincipal): Promise<CredentialConfig> {
    const r = await this.writer.write((s) =>
      this.credentialStore(s).update(username, id, (c) => (c.revoked_at !== undefined ? c : { ...c, revoked_at: new Date().toISOString() }), {
        author: user.username,
        message: `revoke credential ${id} of ${username}`,
      }),
    );
    return r.credential;
  }

  async remove(username: string, id: string, user: AdminPrincipal): Promise<void> {
    await this.writer.write((s) => this.credentialStore(s).remove(username, id, { author: user.username, message: `delete credential ${id} of ${username}` }));
  }

  private build(keys: CredentialKeys, username: string, input: NewCredentialInput) {
    try {
      return newCredential(keys, username, input);
    } catch (err) {
      if (err instanceof CredentialInputError) throw new GatewayError('GW_ERR_ADMIN_VALIDATION', err.message, [{ path: err.path, message: err.message }]);
      throw err;
    }
  }
}

function withSecret(c: CredentialConfig, plain: string | undefined): CredentialCreated {
  return plain === undefined ? c : { ...c, secret: plain };
}
