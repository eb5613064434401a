/**
 * Declarative configuration over HTTP: export, validate, diff, apply (with dry run), and the version
 * history with rollback. Bodies may be JSON or YAML (the content-type parser hands YAML over as text).
 */
import { Inject, Injectable } from '@nestjs/common';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { checkDocument } from '../../config/check.js';
import { diffDocuments, formatDiff, isEmptyDiff, withoutBodies, type ConfigDiff } from '../../config/diff.js';
import type { ConfigDocument } from '../../config/schema.js';
import type { ValidationIssue } from '../../config/validate.js';
import { GatewayError } from '../../errors/registry.js';
import { withoutCertificateKeys } from '../../tls/certificates.js';
import type { ConfigStore, VersionInfo } from '../../store/config-store.js';
import { ADMIN_PLUGINS, ADMIN_STORE, type PluginRegistry } from '../admin-env.js';
import { ConfigWriter } from '../common/config-writer.service.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { nextLink, parseListQuery, type PageDto, type RawQuery } from '../entities/entities.dto.js';

type Checked = { ok: true; document: ConfigDocument } | { ok: false; issues: ValidationIssue[] };

export interface DiffResult {
  base_version: number;
  diff: ConfigDiff;
  text: string;
}

@Injectable()
export class ConfigService {
  constructor(
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(ADMIN_PLUGINS) private readonly plugins: PluginRegistry,
    @Inject(ConfigWriter) private readonly writer: ConfigWriter,
  ) {}

  async export(format: string | undefined): Promise<{ contentType: string; body: string }> {
    if (format !== undefined && format !== 'json' && format !== 'yaml') {
      throw new GatewayError('GW_ERR_BAD_REQUEST', "format must be 'json' or 'yaml'", [{ path: '/query/format', message: "expected 'json' or 'yaml'" }]);
    }
    // Private keys of certificates never leave the gateway, not even encrypted; an apply keeps the stored ones.
    const document = withoutCertificateKeys((await this.store.current()).document);
    if (format === 'yaml') return { contentType: 'application/yaml; charset=utf-8', body: stringifyYaml(document) };
    return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(document, null, 2) };
  }

  validate(body: unknown): { valid: boolean; errors: ValidationIssue[] } {
    const checked = this.check(body);
    return checked.ok ? { valid: true, errors: [] } : { valid: false, errors: checked.issues };
  }

  async diff(body: unknown): Promise<DiffResult> {
    const current = await this.store.current();
    const document = this.checkedOrThrow(body, current.document);
    const diff = diffDocuments(current.document, document);
    return { base_version: current.version, diff, text: formatDiff(diff) };
  }

  async apply(body: unknown, opts: { dryRun: boolean; message: string | undefined }, user: AdminPrincipal): Promise<DiffResult & { dry_run: boolean; changed: boolean; version: number }> {
    const current = await this.store.current();
    const document = this.checkedOrThrow(body, current.document);
    const full = diffDocuments(current.document, document);
    const text = formatDiff(full);
    const diff = withoutBodies(full);
    if (opts.dryRun) return { dry_run: true, changed: !isEmptyDiff(diff), version: current.version, base_version: current.version, diff, text };
    const message = opts.message ?? `apply: ${text.trim().split('\n').pop() ?? ''}`;
    const result = await this.writer.write((s) => s.replace(document, { author: user.username, message }));
    return { dry_run: false, changed: result.changed, version: result.version, base_version: current.version, diff, text };
  }

  async versions(raw: RawQuery): Promise<PageDto<VersionInfo>> {
    const q = parseListQuery(raw, []);
    if (q.tags || q.search) throw new GatewayError('GW_ERR_BAD_REQUEST', 'versions only support offset and limit');
    const page = await this.store.versions({ offset: q.offset, limit: q.limit });
    return { data: page.data, total: page.total, offset: q.offset, limit: q.limit, next: nextLink('/versions', raw, q.offset, q.limit, page.total) };
  }

  async version(n: string): Promise<VersionInfo & { document: ConfigDocument }> {
    const { info, document } = await this.store.version(versionNumber(n));
    return { ...info, document: withoutCertificateKeys(document) };
  }

  /** `message` (e.g. `gatehouse rollback 12 -m "bad deploy"`) is recorded after the `rollback to vN` prefix, which stays greppable. */
  async rollback(n: string, user: AdminPrincipal, message?: string): Promise<{ version: number; changed: boolean }> {
    const v = versionNumber(n);
    const { document } = await this.store.version(v);
    const note = message?.trim() ? `rollback to v${v}: ${message.trim()}` : `rollback to v${v}`;
    return this.writer.write((s) => s.replace(document, { author: user.username, message: note }));
  }

  /** `known`: the current document; what the body holds unchanged from it is not validated again (checkDocument). */
  private check(body: unknown, known?: ConfigDocument): Checked {
    let input = body;
    if (typeof body === 'string') {
      try {
        input = parseYaml(body);
      } catch (e) {
        return { ok: false, issues: [{ path: '/', message: `not valid YAML: ${(e as Error).message}` }] };
      }
    }
    if (input === undefined || input === null) return { ok: false, issues: [{ path: '/', message: 'the document is empty' }] };
    return checkDocument(input, this.plugins, known);
  }

  private checkedOrThrow(body: unknown, known?: ConfigDocument): ConfigDocument {
    const checked = this.check(body, known);
    if (!checked.ok) throw new GatewayError('GW_ERR_CONFIG_INVALID', checked.issues.map((i) => `${i.path}: ${i.message}`).join('; '), checked.issues);
    return checked.document;
  }
}

function versionNumber(n: string): number {
  if (!/^\d{1,15}$/.test(n)) throw new GatewayError('GW_ERR_BAD_REQUEST', 'a version is a positive integer', [{ path: '/params/n', message: 'expected an integer' }]);
  return Number(n);
}
