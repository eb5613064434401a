/**
 * CRUD over the five entity kinds: validates bodies against the entity schemas (and a plugin's config
 * against that plugin's schema) so errors name the field in the request body, then lets the store check
 * the whole resulting document.
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { ENTITY_KINDS, TargetSchema, type EntityKind, type TargetConfig, type UpstreamConfig } from '../../config/schema.js';
import { validate } from '../../config/validate.js';
import { GatewayError } from '../../errors/registry.js';
import { StoreConflictError, StoreValidationError, type ConfigStore, type Entity } from '../../store/config-store.js';
import { ADMIN_PLUGINS, ADMIN_STORE, type PluginRegistry } from '../admin-env.js';
import { ConfigWriter } from '../common/config-writer.service.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { mergePatch } from '../common/merge-patch.js';
import { parseWith } from '../common/typebox.pipe.js';
import { FILTERS, nextLink, parseListQuery, type PageDto, type RawQuery } from './entities.dto.js';
import { ADMIN_DISCOVERY, listTargets, type ListedTarget } from '../../discovery/admin.js';
import type { DiscoveryStatus, DiscoveryView } from '../../discovery/types.js';

const SINGULAR: Record<EntityKind, string> = { services: 'service', routes: 'route', upstreams: 'upstream', consumers: 'consumer', plugins: 'plugin' };

@Injectable()
export class EntitiesService {
  constructor(
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(ADMIN_PLUGINS) private readonly plugins: PluginRegistry,
    @Inject(ConfigWriter) private readonly writer: ConfigWriter,
    @Optional() @Inject(ADMIN_DISCOVERY) private readonly discovery: DiscoveryView | null = null,
  ) {}

  async list(kind: EntityKind, raw: RawQuery, basePath: string = `/${kind}`, fixed: Record<string, string> = {}): Promise<PageDto<Entity>> {
    const query = parseListQuery(raw, FILTERS[kind]);
    if (Object.keys(fixed).length) query.filter = { ...query.filter, ...fixed };
    const page = await this.store.list(kind, query);
    return { data: page.data, total: page.total, offset: query.offset, limit: query.limit, next: nextLink(basePath, raw, query.offset, query.limit, page.total) };
  }

  get(kind: EntityKind, key: string): Promise<Entity> {
    return this.store.get(kind, key);
  }

  async create(kind: EntityKind, body: unknown, user: AdminPrincipal): Promise<Entity> {
    const entity = this.check(kind, body);
    const key = String(entity[ENTITY_KINDS[kind].key] ?? '');
    const { entity: created } = await this.writer.write((s) => s.create(kind, entity, { author: user.username, message: `create ${SINGULAR[kind]} ${key}`.trim() }));
    return created;
  }

  /** Full replacement; the body may omit its key (taken from the path) or carry a new one (rename). */
  async replace(kind: EntityKind, key: string, body: unknown, user: AdminPrincipal): Promise<Entity> {
    const keyField = ENTITY_KINDS[kind].key;
    const withKey = isObject(body) && body[keyField] === undefined ? { ...body, [keyField]: key } : body;
    const entity = this.check(kind, withKey);
    const { entity: updated } = await this.writer.write((s) => s.update(kind, key, entity, { author: user.username, message: `update ${SINGULAR[kind]} ${key}` }));
    return updated;
  }

  async patch(kind: EntityKind, key: string, patch: unknown, user: AdminPrincipal): Promise<Entity> {
    if (!isObject(patch)) throw new GatewayError('GW_ERR_ADMIN_VALIDATION', 'a PATCH body must be a JSON object', [{ path: '/', message: 'expected an object' }]);
    const current = await this.store.get(kind, key);
    return this.replace(kind, key, mergePatch(current, patch), user);
  }

  async remove(kind: EntityKind, key: string, user: AdminPrincipal): Promise<void> {
    try {
      await this.writer.write((s) => s.remove(kind, key, { author: user.username, message: `delete ${SINGULAR[kind]} ${key}` }));
    } catch (e) {
      // Removing one entity can only conflict with, or invalidate, the document by leaving references to it dangling.
      if (e instanceof StoreConflictError) throw new GatewayError('GW_ERR_ADMIN_REFERENCE', e.message);
      if (e instanceof StoreValidationError) throw new GatewayError('GW_ERR_ADMIN_REFERENCE', `${SINGULAR[kind]} '${key}' is still referenced: ${e.message}`, e.issues);
      throw e;
    }
  }

  async routesOfService(service: string, raw: RawQuery): Promise<PageDto<Entity>> {
    await this.store.get('services', service);
    return this.list('routes', raw, `/services/${encodeURIComponent(service)}/routes`, { service });
  }

  /** Configured targets (`source: 'config'`) and, when the upstream has a discovery block, the discovered ones with its state. */
  async targets(upstream: string): Promise<{ data: ListedTarget[]; discovery?: DiscoveryStatus }> {
    const u = (await this.store.get('upstreams', upstream)) as unknown as UpstreamConfig;
    return listTargets(u.targets ?? [], this.discovery?.get(upstream));
  }

  async addTarget(upstream: string, body: unknown, user: AdminPrincipal): Promise<TargetConfig> {
    const target = parseWith(TargetSchema, body);
    const u = (await this.store.get('upstreams', upstream)) as unknown as UpstreamConfig;
    if ((u.targets ?? []).some((t) => t.target === target.target)) {
      throw new GatewayError('GW_ERR_ADMIN_CONFLICT', `upstream '${upstream}' already has target '${target.target}'`);
    }
    const next = { ...u, targets: [...(u.targets ?? []), target] };
    await this.writer.write((s) => s.update('upstreams', upstream, next, { author: user.username, message: `add target ${target.target} to upstream ${upstream}` }));
    return target;
  }

  async removeTarget(upstream: string, target: string, user: AdminPrincipal): Promise<void> {
    const u = (await this.store.get('upstreams', upstream)) as unknown as UpstreamConfig;
    const targets = u.targets ?? [];
    if (!targets.some((t) => t.target === target)) {
      throw new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `upstream '${upstream}' has no target '${target}'`);
    }
    const next = { ...u, targets: targets.filter((t) => t.target !== target) };
    await this.writer.write((s) => s.update('upstreams', upstream, next, { author: user.username, message: `remove target ${target} from upstream ${upstream}` }));
  }

  /** Schema check of one entity; for plugins also the plugin's own config schema, with paths under `/config`. */
  private check(kind: EntityKind, body: unknown): Entity {
    const entity = parseWith(ENTITY_KINDS[kind].schema, body) as Entity;
    if (kind !== 'plugins') return entity;
    const name = String(entity.name);
    const def = this.plugins.get(name);
    if (!def) {
      const known = [...this.plugins.keys()].join(', ') || 'none';
      throw new GatewayError('GW_ERR_ADMIN_VALIDATION', `unknown plugin '${name}' (available: ${known})`, [{ path: '/name', message: `unknown plugin '${name}'` }]);
    }
    const config = validate(def.schema, entity.config ?? {});
    if (!config.ok) {
      const errors = config.issues.map((i) => ({ path: `/config${i.path === '/' ? '' : i.path}`, message: i.message }));
      throw new GatewayError('GW_ERR_ADMIN_VALIDATION', errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
    }
    return entity;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
