/**
 * Conveniences over relations: a service's routes and an upstream's targets.
 */
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import type { TargetConfig } from '../../config/schema.js';
import type { Entity } from '../../store/config-store.js';
import { Roles } from '../auth/roles.decorator.js';
import { CurrentUser, type AdminPrincipal } from '../common/current-user.js';
import type { PageDto, RawQuery } from './entities.dto.js';
import { EntitiesService } from './entities.service.js';
import type { ListedTarget } from '../../discovery/admin.js';
import type { DiscoveryStatus } from '../../discovery/types.js';

@Controller()
export class NestedController {
  constructor(private readonly entities: EntitiesService) {}

  @Get('services/:name/routes')
  serviceRoutes(@Param('name') name: string, @Query() query: RawQuery): Promise<PageDto<Entity>> { return this.entities.routesOfService(name, query); }

  @Get('upstreams/:name/targets')
  targets(@Param('name') name: string): Promise<{ data: ListedTarget[]; discovery?: DiscoveryStatus }> { return this.entities.targets(name); }

  @Post('upstreams/:name/targets') @Roles('operator')
  addTarget(@Param('name') name: string, @Body() body: unknown, @CurrentUser() user: AdminPrincipal): Promise<TargetConfig> { return this.entities.addTarget(name, body, user); }

  @Delete('upstreams/:name/targets/:target') @Roles('operator') @HttpCode(204)
  removeTarget(@Param('name') name: string, @Param('target') target: string, @CurrentUser() user: AdminPrincipal): Promise<void> { return this.entities.removeTarget(name, target, user); }
}
