/**
 * Query parameters of the entity list endpoints and the page shape they answer with.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { EntityKind } from '../../config/schema.js';
import { GatewayError } from '../../errors/registry.js';
import type { ListQuery } from '../../store/config-store.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** Exact-match filters each kind accepts, e.g. `GET /routes?service=orders`; all are top-level string fields. */
export const FILTERS: Record<EntityKind, readonly string[]> = {
  services: ['protocol', 'host', 'path', 'url'],
  routes: ['service'],
  upstreams: ['algorithm', 'hash_on'],
  consumers: ['custom_id'],
  plugins: ['name', 'service', 'route', 'consumer'],
};

const COMMON = ['offset', 'limit', 'tags', 'search'];

export type RawQuery = Record<string, string | string[] | undefined>;

function one(q: RawQuery, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function integer(q: RawQuery, name: string, min: number, max: number, fallback: number): number {
  const raw = one(q, name);
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new GatewayError('GW_ERR_BAD_REQUEST', `query parameter '${name}' must be an integer from ${min} to ${max}`, [
      { path: `/query/${name}`, message: `expected an integer from ${min} to ${max}` },
    ]);
  }
  return n;
}

/** Unknown parameters are rejected rather than ignored, so a typo (`?servce=`) doesn't silently list everything. */
export function parseListQuery(q: RawQuery, filters: readonly string[]): Required<Pick<ListQuery, 'offset' | 'limit'>> & ListQuery {
  for (const name of Object.keys(q)) {
    if (!COMMON.includes(name) && !filters.includes(name)) {
      const allowed = [...COMMON, ...filters].join(', ');
      throw new GatewayError('GW_ERR_BAD_REQUEST', `unknown query parameter '${name}' (allowed: ${allowed})`, [{ path: `/query/${name}`, message: 'unknown parameter' }]);
    }
  }
  const query: Required<Pick<ListQuery, 'offset' | 'limit'>> & ListQuery = {
    offset: integer(q, 'offset', 0, Number.MAX_SAFE_INTEGER, 0),
    limit: integer(q, 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT),
  };
  const tagsRaw = q.tags;
  const tags = (Array.isArray(tagsRaw) ? tagsRaw : tagsRaw ? [tagsRaw] : []).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  if (tags.length) query.tags = tags;
  const search = one(q, 'search');
  if (search) query.search = search;
  const filter: Record<string, string> = {};
  for (const f of filters) {
    const v = one(q, f);
    if (v !== undefined) filter[f] = v;
  }
  if (Object.keys(filter).length) query.filter = filter;
  return query;
}

/** The next page's URL, or null on the last page; other parameters are kept so filters carry over. */
export function nextLink(basePath: string, q: RawQuery, offset: number, limit: number, total: number): string | null {
  if (offset + limit >= total) return null;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (k === 'offset' || k === 'limit' || v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
  }
  params.set('offset', String(offset + limit));
  params.set('limit', String(limit));
  return `${basePath}?${params.toString()}`;
}

export function pageSchema(item: TSchema): TSchema {
  return Type.Object({
    data: Type.Array(item),
    total: Type.Integer({ description: 'Entities matching the query, over all pages.' }),
    offset: Type.Integer(),
    limit: Type.Integer(),
    next: Type.Union([Type.String(), Type.Null()], { description: 'URL of the next page, null on the last one.' }),
  });
}

export interface PageDto<T> {
  data: T[];
  total: number;
  offset: number;
  limit: number;
  next: string | null;
}
