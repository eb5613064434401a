/**
 * Strict query parameters for the admin's read endpoints: an unknown or repeated parameter is a 400 rather
 * than silently ignored (a misspelt `?rout=` on a DELETE would otherwise widen it to everything).
 */
import { RouteSchema } from '../../config/schema.js';
import { GatewayError } from '../../errors/registry.js';
import type { RawQuery } from '../entities/entities.dto.js';

const ROUTE_NAME = new RegExp(RouteSchema.properties.name.pattern!);

export function badQuery(param: string, message: string, detail: string): GatewayError {
  return new GatewayError('GW_ERR_BAD_REQUEST', detail, [{ path: `/query/${param}`, message }]);
}

/** Throws on a parameter not in `allowed`. */
export function onlyQueryParams(q: RawQuery, allowed: readonly string[]): void {
  for (const name of Object.keys(q)) {
    if (!allowed.includes(name)) throw badQuery(name, 'unknown parameter', `unknown query parameter '${name}' (allowed: ${allowed.join(', ')})`);
  }
}

/** `?route=`: one route name, or undefined when absent. */
export function routeQueryParam(q: RawQuery): string | undefined {
  const route = q.route;
  if (route === undefined) return undefined;
  if (typeof route !== 'string' || !ROUTE_NAME.test(route)) throw badQuery('route', `expected one value matching ${ROUTE_NAME.source}`, 'route must be one route name');
  return route;
}
