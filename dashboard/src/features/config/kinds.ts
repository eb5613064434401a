/**
 * The five entity kinds the Configure pages manage, described once: API path, key field, names, and
 * where their pages live. Every list, detail and editor page is the same component driven by this table.
 */

export type EntityKind = 'services' | 'routes' | 'upstreams' | 'consumers' | 'plugins';

/** An entity as the admin API returns it: the config object of its kind. */
export type Entity = Record<string, unknown>;

export interface KindInfo {
  kind: EntityKind;
  /** The field the API addresses an entity by (`/consumers/:username`). */
  key: 'name' | 'username' | 'id';
  singular: string;
  plural: string;
  /** Page title, capitalized plural. */
  title: string;
  listPath: string;
  detailPath: string;
}

function info(kind: EntityKind, key: KindInfo['key'], singular: string, plural: string): KindInfo {
  return { kind, key, singular, plural, title: plural[0]!.toUpperCase() + plural.slice(1), listPath: `/ui/${kind}`, detailPath: `/ui/${kind}/:${key === 'id' ? 'id' : 'name'}` };
}

export const KINDS: Record<EntityKind, KindInfo> = {
  services: info('services', 'name', 'service', 'services'),
  routes: info('routes', 'name', 'route', 'routes'),
  upstreams: info('upstreams', 'name', 'upstream', 'upstreams'),
  consumers: info('consumers', 'username', 'consumer', 'consumers'),
  plugins: info('plugins', 'id', 'plugin', 'plugins'),
};

export function keyOf(kind: EntityKind, entity: Entity): string {
  return String(entity[KINDS[kind].key] ?? '');
}

/** The dashboard page of one entity. */
export function detailHref(kind: EntityKind, key: string): string {
  return `/ui/${kind}/${encodeURIComponent(key)}`;
}

/** The admin API path of one entity. */
export function apiPath(kind: EntityKind, key?: string): string {
  return key === undefined ? `/${kind}` : `/${kind}/${encodeURIComponent(key)}`;
}

/** How a plugin instance is named in lists: its plugin, and what it applies to. */
export function pluginScope(p: Entity): string {
  const parts: string[] = [];
  if (typeof p.service === 'string') parts.push(`service ${p.service}`);
  if (typeof p.route === 'string') parts.push(`route ${p.route}`);
  if (typeof p.consumer === 'string') parts.push(`consumer ${p.consumer}`);
  return parts.length ? parts.join(', ') : 'global';
}

/** Where a service sends traffic: its URL, or the parts it is given as. */
export function serviceTarget(s: Entity): string {
  if (typeof s.url === 'string') return s.url;
  const protocol = typeof s.protocol === 'string' ? s.protocol : 'http';
  const host = typeof s.host === 'string' ? s.host : '?';
  const port = typeof s.port === 'number' ? `:${s.port}` : '';
  const path = typeof s.path === 'string' ? s.path : '';
  return `${protocol}://${host}${port}${path}`;
}

/** The entity's title on its detail page and in review dialogs. */
export function entityLabel(kind: EntityKind, e: Entity): string {
  if (kind === 'plugins') return `${String(e.name ?? 'plugin')} (${pluginScope(e)})`;
  return keyOf(kind, e);
}
