/**
 * Reads the data plane's recent failed requests through the runtime (`GET /errors`).
 *
 * As with `/shadow/samples`, a `route` the current document does not name answers 404 unless failures are
 * recorded under it: entries outlive their route, but a typo must not look like a route without errors.
 */
import { Inject, Injectable } from '@nestjs/common';
import { GatewayError } from '../../errors/registry.js';
import { RECENT_ERRORS_CAPACITY, type RecentErrorsView } from '../../observability/recent-errors.js';
import type { GatewayRuntime } from '../../runtime/gateway-runtime.js';
import { ADMIN_RUNTIME } from '../admin-env.js';
import type { RawQuery } from '../entities/entities.dto.js';
import { badQuery, onlyQueryParams, routeQueryParam } from '../common/query.js';

export const DEFAULT_ERRORS_LIMIT = 100;

/** `?route=&limit=`; anything else (an unknown or repeated parameter) is a 400 rather than silently ignored. */
export function parseErrorsQuery(q: RawQuery): { route: string | undefined; limit: number } {
  onlyQueryParams(q, ['route', 'limit']);
  const route = routeQueryParam(q);
  let limit = DEFAULT_ERRORS_LIMIT;
  if (q.limit !== undefined) {
    const n = typeof q.limit === 'string' && /^\d{1,6}$/.test(q.limit) ? Number(q.limit) : NaN;
    if (!(n >= 1 && n <= RECENT_ERRORS_CAPACITY)) throw badQuery('limit', `expected one integer from 1 to ${RECENT_ERRORS_CAPACITY}`, `limit must be an integer from 1 to ${RECENT_ERRORS_CAPACITY}`);
    limit = n;
  }
  return { route, limit };
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
