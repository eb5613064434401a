/**
 * Reads the data plane's traffic-split and mirror state through the runtime, and reads or forgets its
 * shadow-comparison records.
 *
 * A `route` the current document does not name answers 404 unless the proxy thread still holds shadow
 * state for it: records outlive their route (a removed or renamed route's mismatches can still be read and
 * cleared), but a typo must not look like a route without mismatches — nor, on DELETE, like a success.
 */
import { Inject, Injectable } from '@nestjs/common';
import { GatewayError } from '../../errors/registry.js';
import type { ShadowSample } from '../../proxy/resilience-view.js';
import type { GatewayRuntime } from '../../runtime/gateway-runtime.js';
import type { TrafficView } from '../../traffic/index.js';
import { ADMIN_RUNTIME } from '../admin-env.js';
import type { RawQuery } from '../entities/entities.dto.js';
import { onlyQueryParams, routeQueryParam } from '../common/query.js';

/**
 * `?route=` or nothing. Anything else is a 400: an unknown parameter (`?rout=x`) or a repeated one would
 * otherwise widen the request to every route, which for DELETE clears them all.
 */
export function parseRouteQuery(q: RawQuery): string | undefined {
  onlyQueryParams(q, ['route']);
  return routeQueryParam(q);
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
