/**
 * A developer's own applications and API keys (`/me/**`). Every lookup starts from the caller's user
 * name: the consumer name is built as `dev.<caller>.<app>` and must carry the caller's owner tag, and key
 * ids are looked up within that consumer only, so no name or id another developer guesses can reach
 * their applications or keys (404, the same as for things that do not exist).
 * Keys are key-auth credentials made by the credentials API's service (hashed with the cluster pepper,
 * the clear key returned once).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { CredentialConfig, PluginInstanceConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors/registry.js';
import type { ConfigStore, Entity } from '../../store/config-store.js';
import { ADMIN_STORE } from '../admin-env.js';
import { ConfigWriter } from '../common/config-writer.service.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { CredentialsService } from '../credentials/credentials.service.js';
import {
  APP_TAG,
  appConsumerName,
  isAppName,
  isDeveloperName,
  MAX_APPS_PER_DEVELOPER,
  MAX_KEYS_PER_APP,
  ownerTag,
  readProfile,
} from './developer-accounts.js';
import type { ApiKeyCreatedDto, ApiKeyDto, ApplicationCreateDto, ApplicationDto, KeyCreateDto, KeyRotateDto, LimitDto } from './developers.dto.js';

/** The rate-limiting fields a developer may see: the limits themselves, not where or how they are stored. */
const VISIBLE_LIMIT_FIELDS = ['limit_by', 'second', 'minute', 'hour', 'day', 'quota_day', 'quota_month', 'algorithm'] as const;
const LIMIT_PLUGIN = 'rate-limiting';

function keyStatus(c: CredentialConfig, now: number): ApiKeyDto['status'] {
  if (c.revoked_at !== undefined) return 'revoked';
  if (c.expires_at !== undefined && Date.parse(c.expires_at) <= now) return 'expired';
  return 'active';
}

/** What a developer sees of a key: never the key hash (it is the pepper-keyed HMAC of the key). */
function toKey(c: CredentialConfig, now = Date.now()): ApiKeyDto {
  return {
    id: c.id,
    status: keyStatus(c, now),
    ...(c.created_at !== undefined ? { created_at: c.created_at } : {}),
    ...(c.expires_at !== undefined ? { expires_at: c.expires_at } : {}),
    ...(c.revoked_at !== undefined ? { revoked_at: c.revoked_at } : {}),
  };
}

const notFound = (what: string) => new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `no ${what}`);

@Injectable()
export class ApplicationsService {
  constructor(
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(ConfigWriter) private readonly writer: ConfigWriter,
    @Inject(CredentialsService) private readonly credentials: CredentialsService,
  ) {}

  async list(user: AdminPrincipal): Promise<{ data: ApplicationDto[] }> {
    const { document } = await this.store.current();
    const tag = ownerTag(user.username);
    const apps = document.consumers.filter((c) => c.tags.includes(tag) && c.tags.includes(APP_TAG));
    const now = Date.now();
    const data = apps.map((c) => this.describe(user, c, (document.credentials ?? []).filter((k) => k.consumer === c.username), now));
    return { data: data.sort((a, b) => a.name.localeCompare(b.name)) };
  }

  /** One of the caller's applications; 404 as for `own` when it is not theirs. */
  async get(user: AdminPrincipal, app: string): Promise<ApplicationDto> {
    const name = await this.own(user, app);
    const { document } = await this.store.current();
    const c = document.consumers.find((x) => x.username === name)!;
    return this.describe(user, c, (document.credentials ?? []).filter((k) => k.consumer === name), Date.now());
  }

  async create(user: AdminPrincipal, body: ApplicationCreateDto): Promise<ApplicationDto> {
    if (!isDeveloperName(user.username)) throw new GatewayError('GW_ERR_ADMIN_FORBIDDEN', 'not a developer account');
    const { data } = await this.list(user);
    if (data.length >= MAX_APPS_PER_DEVELOPER) {
      throw new GatewayError('GW_ERR_DEVELOPER_LIMIT', `a developer can hold at most ${MAX_APPS_PER_DEVELOPER} applications`);
    }
    const groups = (await readProfile(this.store, user.username))?.groups ?? [];
    const entity: Entity = { username: appConsumerName(user.username, body.name), groups, tags: [ownerTag(user.username), APP_TAG] };
    const r = await this.writer.write((s) => s.create('consumers', entity, { author: user.username, message: `developer ${user.username} creates application ${body.name}` }));
    return this.describe(user, r.entity, [], Date.now());
  }

  async remove(user: AdminPrincipal, app: string): Promise<void> {
    const consumer = await this.own(user, app);
    await this.writer.write((s) => s.remove('consumers', consumer, { author: user.username, message: `developer ${user.username} deletes application ${app}` }));
  }

  async keys(user: AdminPrincipal, app: string): Promise<{ data: ApiKeyDto[] }> {
    const consumer = await this.own(user, app);
    const now = Date.now();
    return { data: (await this.credentials.list(consumer)).filter((c) => c.kind === 'key-auth').map((c) => toKey(c, now)) };
  }

  async createKey(user: AdminPrincipal, app: string, body: KeyCreateDto): Promise<ApiKeyCreatedDto> {
    const consumer = await this.own(user, app);
    const active = (await this.keys(user, app)).data.filter((k) => k.status === 'active').length;
    if (active >= MAX_KEYS_PER_APP) throw new GatewayError('GW_ERR_DEVELOPER_LIMIT', `an application can hold at most ${MAX_KEYS_PER_APP} active keys; revoke one first`);
    const made = await this.credentials.create(consumer, { kind: 'key-auth', ...(body.expires_at !== undefined ? { expires_at: body.expires_at } : {}) }, user);
    return withKey(made);
  }

  async rotateKey(user: AdminPrincipal, app: string, id: string, body: KeyRotateDto): Promise<{ key: ApiKeyCreatedDto; previous: ApiKeyDto }> {
    const consumer = await this.ownKey(user, app, id);
    const r = await this.credentials.rotate(consumer, id, { overlap_seconds: body.overlap_seconds }, user);
    return { key: withKey(r.credential), previous: toKey(r.previous) };
  }

  async revokeKey(user: AdminPrincipal, app: string, id: string): Promise<ApiKeyDto> {
    const consumer = await this.ownKey(user, app, id);
    return toKey(await this.credentials.revoke(consumer, id, user));
  }

  /** The rate limits that apply to the application: the global instance and those set on its consumer. */
  async limits(user: AdminPrincipal, app: string): Promise<{ data: LimitDto[] }> {
    const consumer = await this.own(user, app);
    const { document } = await this.store.current();
    const applies = (p: PluginInstanceConfig) =>
      p.name === LIMIT_PLUGIN && p.enabled !== false && p.service === undefined && p.route === undefined && (p.consumer === undefined || p.consumer === consumer);
    const data = document.plugins.filter(applies).map((p): LimitDto => {
      const config = (p.config ?? {}) as Record<string, unknown>;
      const limits = Object.fromEntries(VISIBLE_LIMIT_FIELDS.filter((f) => config[f] !== undefined).map((f) => [f, config[f]]));
      return { ...(p.id !== undefined ? { id: p.id } : {}), plugin: p.name, scope: p.consumer === undefined ? 'global' : 'consumer', limits };
    });
    return { data };
  }

  /** The caller's application consumer, or 404 whatever the reason (absent, not theirs, malformed name). */
  private async own(user: AdminPrincipal, app: string): Promise<string> {
    if (!isDeveloperName(user.username) || !isAppName(app)) throw notFound(`application '${app}'`);
    const name = appConsumerName(user.username, app);
    const { document } = await this.store.current();
    const c = document.consumers.find((x) => x.username === name);
    if (!c || !c.tags.includes(ownerTag(user.username)) || !c.tags.includes(APP_TAG)) throw notFound(`application '${app}'`);
    return name;
  }

  private async ownKey(user: AdminPrincipal, app: string, id: string): Promise<string> {
    const consumer = await this.own(user, app);
    const key = (await this.credentials.list(consumer)).find((c) => c.id === id);
    if (!key || key.kind !== 'key-auth') throw notFound(`key '${id}' in application '${app}'`);
    return consumer;
  }

  private describe(user: AdminPrincipal, c: Entity, creds: CredentialConfig[], now: number): ApplicationDto {
    const name = String(c.username);
    return {
      name: name.slice(appConsumerName(user.username, '').length),
      consumer: name,
      groups: (c.groups as string[] | undefined) ?? [],
      keys: creds.filter((k) => k.kind === 'key-auth' && keyStatus(k, now) === 'active').length,
    };
  }
}

function withKey(c: CredentialConfig & { secret?: string }): ApiKeyCreatedDto {
  if (c.secret === undefined) throw new GatewayError('GW_ERR_INTERNAL', 'the new key was not returned');
  return { ...toKey(c), key: c.secret };
}
