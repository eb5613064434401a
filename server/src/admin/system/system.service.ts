/**
 * Status, liveness/readiness, and the schemas the dashboard renders its forms from.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { TSchema } from '@sinclair/typebox';
import { ConfigDocumentSchema, ENTITY_KINDS, TargetSchema, type EntityKind } from '../../config/schema.js';
import { GatewayError } from '../../errors/registry.js';
import type { Scope } from '../../plugins/types.js';
import type { GatewayRuntime, GatewayStatus } from '../../runtime/gateway-runtime.js';
import type { ConfigStore } from '../../store/config-store.js';
import { ADMIN_PLUGINS, ADMIN_RUNTIME, ADMIN_STORE, type PluginRegistry } from '../admin-env.js';

/** A store answer younger than this counts as "the store answered recently"; older ones trigger a probe. */
const STORE_FRESH_MS = 5_000;
const STORE_PROBE_TIMEOUT_MS = 2_000;

export interface PluginInfo {
  name: string;
  description: string;
  scopes: readonly Scope[];
  schema: TSchema;
}

export const SCHEMA_KINDS: Record<string, TSchema> = {
  ...Object.fromEntries(Object.entries(ENTITY_KINDS).map(([k, v]) => [k, v.schema])),
  targets: TargetSchema,
  config: ConfigDocumentSchema,
};

@Injectable()
export class SystemService {
  private storeAnsweredAt = 0;
  private storeError: string | null = null;

  constructor(
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(ADMIN_RUNTIME) private readonly runtime: GatewayRuntime,
    @Inject(ADMIN_PLUGINS) private readonly plugins: PluginRegistry,
  ) {}

  status(): GatewayStatus & { store: { kind: ConfigStore['kind']; read_only: boolean } } {
    return { ...this.runtime.status(), store: { kind: this.store.kind, read_only: this.store.readOnly } };
  }

  async ready(): Promise<{ status: 'ready'; config_version: number }> {
    if (!this.runtime.ready()) throw new GatewayError('GW_ERR_ADMIN_NOT_READY', 'no configuration snapshot is serving traffic yet');
    if (!(await this.storeAnswers())) throw new GatewayError('GW_ERR_STORE_UNAVAILABLE', this.storeError ?? 'the config store did not answer');
    return { status: 'ready', config_version: this.runtime.status().config_version };
  }

  private async storeAnswers(): Promise<boolean> {
    if (Date.now() - this.storeAnsweredAt < STORE_FRESH_MS) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${STORE_PROBE_TIMEOUT_MS} ms`)), STORE_PROBE_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.store.versions({ offset: 0, limit: 1 }), timeout]);
      this.storeAnsweredAt = Date.now();
      this.storeError = null;
      return true;
    } catch (e) {
      this.storeError = (e as Error).message;
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  availablePlugins(): { data: PluginInfo[] } {
    const data = [...this.plugins.values()]
      .map((p) => ({ name: p.name, description: p.description, scopes: p.scopes, schema: p.schema }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return { data };
  }

  schema(kind: string): TSchema {
    const schema = SCHEMA_KINDS[kind as EntityKind];
    if (!schema) throw new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `no schema '${kind}' (known: ${Object.keys(SCHEMA_KINDS).join(', ')})`);
    return schema;
  }
}
