/**
 * Reads the data plane's recent failed requests through the runtime (`GET /errors`).
 *
 * As with `/shadow/samples`, a `route` the current document does not name answers 404 unless failures are
 * recorded under it: entries outlive their route, but a typo must not look like a route without errors.
 */
import { Inject, Injectable } from '@nestjs/common';
import { RouteSchema } from '../../config/schema.js';
import { GatewayError } from '../../errors/registry.js';
import { RECENT_ERRORS_CAPACITY, type RecentErrorsView } from '../../observability/recent-errors.js';
import type { GatewayRuntime } from '../../runtime/gateway-runtime.js';
import { ADMIN_RUNTIME } from '../admin-env.js';
import type { RawQuery } from '../entities/entities.dto.js';

export const DEFAULT_ERRORS_LIMIT = 100;
const ROUTE_NAME = new RegExp(RouteSchema.properties.name.pattern!);
const ALLOWED = new Set(['route', 'limit']);

function bad(param: string, message: string, detail: string): GatewayError {
  return new GatewayError('GW_ERR_BAD_REQUEST', detail, [{ path: `/query/${param}`, message }]);
}

/** `?route=&limit=`; anything else (an unknown or repeated parameter) is a 400 rather than silently ignored. */
export function parseErrorsQuery(q: RawQuery): { route: string | undefined; limit: number } {
  for (const name of Object.keys(q)) {
    if (!ALLOWED.has(name)) throw bad(name, 'unknown parameter', `unknown query parameter '${name}' (allowed: route, limit)`);
  }
  const route = q.route;
  if (route !== undefined && (typeof route !== 'string' || !ROUTE_NAME.test(route))) {
    throw bad('route', `expected one value matching ${ROUTE_NAME.source}`, 'route must be one route name');
  }
  let limit = DEFAULT_ERRORS_LIMIT;
  if (q.limit !== undefined) {
    const n = typeof q.limit === 'string' && /^\d{1,6}$/.test(q.limit) ? Number(q.limit) : NaN;
    if (!(n >= 1 && n <= RECENT_ERRORS_CAPACITY)) throw bad('limit', `expected one integer from 1 to ${RECENT_ERRORS_CAPACITY}`, `limit must be an integer from 1 to ${RECENT_ERRORS_CAPACITY}`);
    limit = n;
  }
  return { route: route as string | undefined, limit };
}

@Injectable()
export class RecentErrorsService {
  constructor(@Inject(ADMIN_RUNTIME) private readonly runtime: GatewayRuntime) {}

  async list(q: RawQuery): Promise<RecentErrorsView> {
    const { route, limit } = parseErrorsQuery(q);
    const view = await this.runtime.recentErrors(route, limit);
    if (route !== undefined && view.data.length === 0 && !this.runtime.currentDocument().routes.some((r) => r.name === route)) {
      throw new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `no route '${route}' in the current config, and no failures recorded for it`);
    }
    return view;
  }
}
