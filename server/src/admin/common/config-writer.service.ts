/**
 * Every configuration write of the admin API goes through here: refused up front in DB-less mode, and
 * followed by a runtime reload before the answer, so a client that got 2xx is served the new config.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { GatewayRuntime } from '../../runtime/gateway-runtime.js';
import { StoreReadOnlyError, type ConfigStore } from '../../store/config-store.js';
import { ADMIN_ENV, ADMIN_RUNTIME, ADMIN_STORE, type AdminEnv } from '../admin-env.js';

@Injectable()
export class ConfigWriter {
  constructor(
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(ADMIN_RUNTIME) private readonly runtime: GatewayRuntime,
    @Inject(ADMIN_ENV) private readonly env: AdminEnv,
  ) {}

  get readOnly(): boolean {
    return this.env.readOnly || this.store.readOnly;
  }

  async write<T>(change: (store: ConfigStore) => Promise<T>): Promise<T> {
    if (this.readOnly) throw new StoreReadOnlyError();
    const result = await change(this.store);
    await this.runtime.reload();
    return result;
  }
}
