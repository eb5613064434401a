/**
 * Converts another gateway's configuration file with one of the importers (importers/) and checks the
 * result, without writing anything: the dashboard shows the report, then applies through PUT /config
 * after the user reviewed the diff. Kong's importer gets the cluster's credential keys so API keys and
 * HMAC/JWT secrets from the file are stored the way POST /consumers/:u/credentials stores them.
 */
import { Inject, Injectable } from '@nestjs/common';
import { loadCredentialKeys, type CredentialKeys } from '../../auth/secrets.js';
import { checkDocument } from '../../config/check.js';
import { GatewayError } from '../../errors/registry.js';
import { IMPORTERS } from '../../importers/index.js';
import { createKongImporter } from '../../importers/kong/importer.js';
import { ImportInputError, type Importer, type ImportOutcome } from '../../importers/types.js';
import type { ConfigStore } from '../../store/config-store.js';
import { ADMIN_LOGGER, ADMIN_PLUGINS, ADMIN_STORE, type AdminLogger, type PluginRegistry } from '../admin-env.js';
import type { ImportResultDto } from './import.dto.js';

/** Only the extension of the client's file name matters (it picks TOML vs YAML); the rest never reaches a message unchecked. */
const FILE_NAME_RE = /^[A-Za-z0-9._ -]{1,128}$/;

@Injectable()
export class ImportService {
  private keys: Promise<CredentialKeys> | undefined;

  constructor(
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(ADMIN_LOGGER) private readonly logger: AdminLogger,
    @Inject(ADMIN_PLUGINS) private readonly plugins: PluginRegistry,
  ) {}

  /** The same keys the credentials API seals with; a failed read is retried on the next call. */
  private credentialKeys(): Promise<CredentialKeys> {
    this.keys ??= loadCredentialKeys(this.store, this.logger).catch((err: unknown) => {
      this.keys = undefined;
      throw err;
    });
    return this.keys;
  }

  private async importer(format: string): Promise<Importer> {
    const known = IMPORTERS.get(format);
    if (!known) {
      throw new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `no importer for '${format}' (known: ${[...IMPORTERS.keys()].join(', ')})`, [
        { path: '/params/format', message: `expected one of ${[...IMPORTERS.keys()].join(', ')}` },
      ]);
    }
    return format === 'kong' ? createKongImporter({ credentialKeys: await this.credentialKeys() }) : known;
  }

  async convert(format: string, body: unknown, fileName: string | undefined): Promise<ImportResultDto> {
    const importer = await this.importer(format);
    if (fileName !== undefined && !FILE_NAME_RE.test(fileName)) {
      throw new GatewayError('GW_ERR_BAD_REQUEST', 'filename may hold letters, digits, spaces, dots, dashes and underscores (at most 128)', [
        { path: '/query/filename', message: 'unexpected characters' },
      ]);
    }
    // A JSON body was parsed by the content-type parser; the importers read text (YAML is a superset of JSON).
    const text = typeof body === 'string' ? body : body === undefined || body === null ? '' : JSON.stringify(body);
    if (text.trim() === '') throw new GatewayError('GW_ERR_IMPORT_INVALID', 'the file is empty');
    const name = fileName ?? (typeof body === 'string' ? 'upload' : 'upload.json');
    let result;
    try {
      result = importer.convert(text, name);
    } catch (e) {
      if (!(e instanceof ImportInputError)) throw e;
      throw new GatewayError('GW_ERR_IMPORT_INVALID', e.message, e.source ? [{ path: e.source, message: e.message }] : undefined);
    }
    const counts: Record<ImportOutcome, number> = { mapped: 0, approximated: 0, unmapped: 0 };
    for (const entry of result.report) counts[entry.outcome] += 1;
    // The check fills plugin defaults in place: it gets a clone, the answer keeps the importer's own copy.
    const checked = checkDocument(structuredClone(result.document), this.plugins);
    return { format: importer.name, document: result.document, report: result.report, counts, issues: checked.ok ? [] : checked.issues };
  }
}
