/**
 * Reads the data plane's traffic-split and mirror state through the runtime, and reads or forgets its
 * shadow-comparison records.
 *
 * A `route` the current document does not name answers 404 unless the proxy thread still holds shadow
 * state for it: records outlive their route (a removed or renamed route's mismatches can still be read and
 * cleared), but a typo must not look like a route without mismatches — nor, on DELETE, like a success.
 */
import { Inject, Injectable } from '@nestjs/common';
import { RouteSchema } from '../../config/schema.js';
import { GatewayError } from '../../errors/registry.js';
import type { ShadowSample } from '../../proxy/resilience-view.js';
import type { GatewayRuntime } from '../../runtime/gateway-runtime.js';
import type { TrafficView } from '../../traffic/index.js';
import { ADMIN_RUNTIME } from '../admin-env.js';
import type { RawQuery } from '../entities/entities.dto.js';

const ROUTE_NAME = new RegExp(RouteSchema.properties.name.pattern!);

/**
 * `?route=` or nothing. Anything else is a 400: an unknown parameter (`?rout=x`) or a repeated one would
 * otherwise widen the request to every route, which for DELETE clears them all.
 */
export function parseRouteQuery(q: RawQuery): string | undefined {
  for (const name of Object.keys(q)) {
    if (name !== 'route') throw new GatewayError('GW_ERR_BAD_REQUEST', `unknown query parameter '${name}' (allowed: route)`, [{ path: `/query/${name}`, message: 'unknown parameter' }]);
  }
  const route = q.route;
  if (route === undefined) return undefined;
  if (typeof route !== 'string' || !ROUTE_NAME.test(route)) {
    throw new GatewayError('GW_ERR_BAD_REQUEST', 'route must be one route name', [{ path: '/query/route', message: `expected one value matching ${ROUTE_NAME.source}` }]);
  }
  return route;
}

@Injectable()
export class TrafficService {
  constructor(@Inject(ADMIN_RUNTIME) private readonly runtime: GatewayRuntime) {}

  async view(): Promise<TrafficView> {
    return (await this.runtime.resilience()).traffic;
  }

  async samples(q: RawQuery): Promise<{ data: ShadowSample[] }> {
    const route = await this.knownRoute(parseRouteQuery(q));
    return { data: await this.runtime.shadowSamples(route) };
  }

  async clear(q: RawQuery): Promise<{ cleared: number }> {
    const route = await this.knownRoute(parseRouteQuery(q));
    return { cleared: await this.runtime.clearShadowSamples(route) };
  }

  private async knownRoute(route: string | undefined): Promise<string | undefined> {
    if (route === undefined || this.runtime.currentDocument().routes.some((r) => r.name === route)) return route;
    // Rare (a name outside the document): worth one read of the proxy thread's counters.
    if ((await this.runtime.resilience()).traffic.shadow.some((s) => s.route === route)) return route;
    throw new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `no route '${route}' in the current config, and no shadow records for it`);
  }
}
