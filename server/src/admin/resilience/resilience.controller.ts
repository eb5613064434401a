/**
 * `/resilience` (breakers, target health, cache and shedding counters of the data plane),
 * `/upstreams/:name/health` (Kong's shape) and `/proxy-cache` (stats and purge).
 */
import { Controller, Delete, Get, Param } from '@nestjs/common';
import type { ProxyCacheStats } from '../../plugins/proxy-cache/plugin.js';
import { Roles } from '../auth/roles.decorator.js';
import { ResilienceService, type AdminResilienceView } from './resilience.service.js';

@Controller()
export class ResilienceController {
  constructor(private readonly resilience: ResilienceService) {}

  @Get('resilience')
  view(): Promise<AdminResilienceView> { return this.resilience.view(); }

  // One segment more than the entity routes (`/upstreams/:key`), and a sibling of NestedController's
  // `/upstreams/:name/targets`: no route claims this path but this one.
  @Get('upstreams/:name/health')
  upstreamHealth(@Param('name') name: string): ReturnType<ResilienceService['upstreamHealth']> { return this.resilience.upstreamHealth(name); }

  @Get('proxy-cache')
  cacheStats(): Promise<ProxyCacheStats> { return this.resilience.cacheStats(); }

  @Delete('proxy-cache') @Roles('operator')
  purgeAll(): Promise<{ purged: number }> { return this.resilience.purgeAll(); }

  @Delete('proxy-cache/:key') @Roles('operator')
  purgeKey(@Param('key') key: string): Promise<{ purged: number }> { return this.resilience.purgeKey(key); }
}
