/**
 * The APIs a developer may call (`GET /me/apis`), with the OpenAPI document attached to each service.
 *
 * "May call", decided from the config document the way the proxy builds a route's chains (proxy/snapshot.ts):
 * an enabled service is listed when at least one of its routes
 * 1. has `key-auth` among the auth plugins that win for it (most specific enabled instance per plugin,
 *    consumer-scoped instances aside), and, when the route is in `all` mode (some auth plugin says
 *    `auth_mode: all`), key-auth is its only auth plugin — a key alone must be enough; and
 * 2. for at least one of the developer's applications (or, before they have any, the groups a new
 *    application would get), the winning `acl` instance, if any, admits its groups: `allow` shares a
 *    group, `deny` shares none, and no `required_scopes` (an API key carries no token scopes).
 * Routes that fail the test are not shown, so a developer learns nothing about APIs closed to them.
 */
import { Inject, Injectable } from '@nestjs/common';
import { AUTH_PLUGIN_NAMES } from '../../auth/gate.js';
import type { ConfigDocument, PluginInstanceConfig, RouteConfig, ServiceConfig } from '../../config/schema.js';
import type { ConfigStore } from '../../store/config-store.js';
import { ADMIN_STORE } from '../admin-env.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { APP_TAG, appConsumerName, isDeveloperName, ownerTag, readProfile } from './developer-accounts.js';
import type { DeveloperApiDto, DeveloperApiRouteDto } from './developers.dto.js';
import { isOpenApiDocument, OpenApiDocuments } from './openapi-documents.js';

/** Injection token of the document fetcher (one per admin app, so its cache is shared by all developers). */
export const OPENAPI_DOCUMENTS = Symbol('OPENAPI_DOCUMENTS');

interface Caller {
  /** Application name, or undefined for "an application created now". */
  app: string | undefined;
  consumer: string | undefined;
  groups: readonly string[];
}

function appliesTo(p: PluginInstanceConfig, r: RouteConfig): boolean {
  if (p.route !== undefined && p.route !== r.name) return false;
  if (p.service !== undefined && p.service !== r.service) return false;
  return true;
}

function specificity(p: PluginInstanceConfig): number {
  return (p.consumer !== undefined ? 4 : 0) + (p.route !== undefined ? 2 : p.service !== undefined ? 1 : 0);
}

/** The instances that win for a route (per plugin name), for a consumer or for none. */
function winners(plugins: readonly PluginInstanceConfig[], r: RouteConfig, consumer: string | undefined): Map<string, PluginInstanceConfig> {
  const best = new Map<string, PluginInstanceConfig>();
  for (const p of plugins) {
    if (!p.enabled) continue;
    if (p.consumer !== undefined && p.consumer !== consumer) continue;
    if (!appliesTo(p, r)) continue;
    const cur = best.get(p.name);
    if (!cur || specificity(p) > specificity(cur)) best.set(p.name, p);
  }
  return best;
}

/** The key-auth instance that authenticates the route when a key alone is enough to pass; undefined otherwise. */
function keyAuthFor(plugins: readonly PluginInstanceConfig[], r: RouteConfig): PluginInstanceConfig | undefined {
  const auth = [...winners(plugins, r, undefined).values()].filter((p) => AUTH_PLUGIN_NAMES.has(p.name));
  const key = auth.find((p) => p.name === 'key-auth');
  if (!key) return undefined;
  const all = auth.some((p) => (p.config as { auth_mode?: unknown }).auth_mode === 'all');
  return all && auth.length > 1 ? undefined : key;
}

export function aclAdmits(acl: PluginInstanceConfig | undefined, groups: readonly string[]): boolean {
  if (!acl) return true;
  const c = acl.config as { allow?: string[]; deny?: string[]; required_scopes?: string[] };
  if ((c.required_scopes ?? []).length > 0) return false;
  if (c.allow) return groups.some((g) => c.allow!.includes(g));
  if (c.deny) return !groups.some((g) => c.deny!.includes(g));
  return true;
}

@Injectable()
export class ApisService {
  constructor(
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(OPENAPI_DOCUMENTS) private readonly documents: OpenApiDocuments,
  ) {}

  async list(user: AdminPrincipal): Promise<{ data: DeveloperApiDto[] }> {
    if (!isDeveloperName(user.username)) return { data: [] };
    const { document } = await this.store.current();
    const callers = await this.callers(user, document);
    const out: DeveloperApiDto[] = [];
    for (const service of [...document.services].sort((a, b) => a.name.localeCompare(b.name))) {
      if (!service.enabled) continue;
      const routes: DeveloperApiRouteDto[] = [];
      const apps = new Set<string>();
      for (const r of document.routes) {
        if (r.service !== service.name) continue;
        const key = keyAuthFor(document.plugins, r);
        if (!key) continue;
        const admitted = callers.filter((c) => aclAdmits(winners(document.plugins, r, c.consumer).get('acl'), c.groups));
        if (admitted.length === 0) continue;
        for (const c of admitted) if (c.app !== undefined) apps.add(c.app);
        const kc = key.config as { key_names?: string[]; key_in_header?: boolean; key_in_query?: boolean };
        routes.push({
          name: r.name,
          hosts: r.hosts,
          paths: r.paths,
          methods: r.methods,
          key_names: kc.key_names ?? ['apikey'],
          key_in_header: kc.key_in_header ?? true,
          key_in_query: kc.key_in_query ?? true,
        });
      }
      if (routes.length === 0) continue;
      out.push({ service: service.name, routes: routes.sort((a, b) => a.name.localeCompare(b.name)), applications: [...apps].sort(), openapi: await this.openapi(service) });
    }
    return { data: out };
  }

  private async callers(user: AdminPrincipal, document: ConfigDocument): Promise<Caller[]> {
    const tag = ownerTag(user.username);
    const prefix = appConsumerName(user.username, '');
    const apps: Caller[] = document.consumers
      .filter((c) => c.tags.includes(tag) && c.tags.includes(APP_TAG))
      .map((c) => ({ app: c.username.slice(prefix.length), consumer: c.username, groups: c.groups }));
    const profile = await readProfile(this.store, user.username);
    return [...apps, { app: undefined, consumer: undefined, groups: profile?.groups ?? [] }];
  }

  private async openapi(service: ServiceConfig): Promise<DeveloperApiDto['openapi']> {
    const o = service.openapi;
    if (o?.document !== undefined) {
      return isOpenApiDocument(o.document) ? { source: 'inline', document: o.document } : { source: 'inline', error: 'the document is not an OpenAPI 3.x or Swagger 2.0 document' };
    }
    if (o?.url !== undefined) return { source: 'url', url: o.url, ...(await this.documents.get(o.url)) };
    return { source: 'none' };
  }
}
