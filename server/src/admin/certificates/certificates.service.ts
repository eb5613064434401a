/**
 * The admin side of TLS certificates: checks each PEM pair, encrypts the private key (tls/certificates.ts)
 * and writes through the store's locked certificate path. Answers never carry the key, in any form.
 */
import { Inject, Injectable } from '@nestjs/common';
import { loadCredentialKeys, type CredentialKeys } from '../../auth/secrets.js';
import { GatewayError } from '../../errors/registry.js';
import type { CertificateStore, ConfigStore } from '../../store/config-store.js';
import { StoreNotFoundError } from '../../store/config-store.js';
import type { CertificateConfig, EntityKind } from '../../config/schema.js';
import { CertificateInputError, describeCertificate, sealCertificate, withoutKey } from '../../tls/certificates.js';
import { ADMIN_LOGGER, ADMIN_STORE, type AdminLogger } from '../admin-env.js';
import { ConfigWriter } from '../common/config-writer.service.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { parseWith } from '../common/typebox.pipe.js';
import { CertificateWriteSchema, type CertificateView, type CertificateWriteDto } from './certificates.dto.js';

/** What the API shows of a stored certificate; a certificate that no longer parses still lists (with empty facts). */
export function certificateView(c: CertificateConfig): CertificateView {
  let facts = { subject: '', issuer: '', not_before: '', not_after: '', fingerprint256: '' };
  try {
    const { names: _names, ...rest } = describeCertificate(c.cert);
    facts = rest;
  } catch {
    // Stored before a check existed, or edited in a file: shown without facts rather than hidden.
  }
  return { ...withoutKey(c), ...facts };
}

@Injectable()
export class CertificatesService {
  private keys: Promise<CredentialKeys> | undefined;

  constructor(
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(ADMIN_LOGGER) private readonly logger: AdminLogger,
    @Inject(ConfigWriter) private readonly writer: ConfigWriter,
  ) {}

  private certificateStore(store: ConfigStore = this.store): CertificateStore {
    if (!store.certificates) throw new GatewayError('GW_ERR_INTERNAL', 'this config store does not keep certificates');
    return store.certificates;
  }

  /** The same encryption key as credentials (GATEHOUSE_SECRET_KEY, else the store's setting), read once. */
  private credentialKeys(): Promise<CredentialKeys> {
    this.keys ??= loadCredentialKeys(this.store, this.logger).catch((err: unknown) => {
      this.keys = undefined;
      throw err;
    });
    return this.keys;
  }

  /** Read from the document, so DB-less mode lists the file's certificates too. */
  async list(): Promise<CertificateView[]> {
    return ((await this.store.current()).document.certificates ?? []).map(certificateView);
  }

  async get(name: string): Promise<CertificateView> {
    const found = ((await this.store.current()).document.certificates ?? []).find((c) => c.name === name);
    if (!found) throw new StoreNotFoundError('certificates' as EntityKind, name);
    return certificateView(found);
  }

  /** POST: the name must be new. */
  async create(body: unknown, user: AdminPrincipal): Promise<CertificateView> {
    const input = parseWith(CertificateWriteSchema, body);
    if (input.name === undefined) throw new GatewayError('GW_ERR_ADMIN_VALIDATION', 'name is required', [{ path: '/name', message: 'required' }]);
    if (((await this.store.current()).document.certificates ?? []).some((c) => c.name === input.name)) {
      throw new GatewayError('GW_ERR_ADMIN_CONFLICT', `certificate '${input.name}' already exists (PUT /certificates/${input.name} replaces it)`);
    }
    return this.upsert(input.name, input, user);
  }

  /** PUT: creates or replaces by name (what a renewal or an ACME manager does). */
  replace(name: string, body: unknown, user: AdminPrincipal): Promise<CertificateView> {
    const input = parseWith(CertificateWriteSchema, body);
    if (input.name !== undefined && input.name !== name) throw new GatewayError('GW_ERR_ADMIN_VALIDATION', 'a certificate cannot be renamed', [{ path: '/name', message: `expected '${name}'` }]);
    return this.upsert(name, input, user);
  }

  private async upsert(name: string, input: CertificateWriteDto, user: AdminPrincipal): Promise<CertificateView> {
    let sealed: CertificateConfig;
    try {
      sealed = sealCertificate(await this.credentialKeys(), { ...input, name });
    } catch (err) {
      if (err instanceof CertificateInputError) throw new GatewayError('GW_ERR_ADMIN_VALIDATION', err.message, [{ path: err.path, message: err.message }]);
      throw err;
    }
    const r = await this.writer.write((s) => this.certificateStore(s).upsert(sealed, { author: user.username, message: `put certificate ${name}` }));
    return certificateView(r.certificate);
  }

  async remove(name: string, user: AdminPrincipal): Promise<void> {
    await this.writer.write((s) => this.certificateStore(s).remove(name, { author: user.username, message: `delete certificate ${name}` }));
  }
}
