/**
 * `GET /metrics`: Prometheus text exposition. Scrapers rarely carry an admin JWT, so the route can be
 * opened with GATEHOUSE_METRICS_PUBLIC=true (read once when the admin app is built); otherwise it needs
 * a viewer, like any other read. Two controllers because a route's guards are fixed by its metadata.
 */
import { Controller, Get, Header } from '@nestjs/common';
import { PROMETHEUS_CONTENT_TYPE } from '../../observability/prometheus.js';
import { Public } from '../auth/roles.decorator.js';
import { ResilienceService } from './resilience.service.js';

/** A typo must not silently leave the endpoint closed (or open): anything but true/false/1/0 fails start-up. */
export function metricsPublicFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = (env.GATEHOUSE_METRICS_PUBLIC ?? '').trim().toLowerCase();
  if (raw !== '' && !['true', 'false', '1', '0'].includes(raw)) {
    throw new Error(`GATEHOUSE_METRICS_PUBLIC must be true or false, not '${env.GATEHOUSE_METRICS_PUBLIC}'`);
  }
  return raw === 'true' || raw === '1';
}

@Controller()
export class MetricsController {
  constructor(private readonly resilience: ResilienceService) {}

  @Get('metrics') @Header('content-type', PROMETHEUS_CONTENT_TYPE) @Header('cache-control', 'no-store')
  metrics(): Promise<string> { return this.resilience.metrics(); }
}

@Controller()
@Public()
export class PublicMetricsController {
  constructor(private readonly resilience: ResilienceService) {}

  @Get('metrics') @Header('content-type', PROMETHEUS_CONTENT_TYPE) @Header('cache-control', 'no-store')
  metrics(): Promise<string> { return this.resilience.metrics(); }
}
