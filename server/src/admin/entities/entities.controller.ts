/**
 * One REST controller per entity kind (`/services`, `/routes`, `/upstreams`, `/consumers`, `/plugins`),
 * built from a single definition so the five stay identical in behaviour.
 */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Put, Query, type Type } from '@nestjs/common';
import type { EntityKind } from '../../config/schema.js';
import type { Entity } from '../../store/config-store.js';
import { CurrentUser, type AdminPrincipal } from '../common/current-user.js';
import { Roles } from '../auth/roles.decorator.js';
import type { PageDto, RawQuery } from './entities.dto.js';
import { EntitiesService } from './entities.service.js';

export const ENTITY_KIND_LIST: readonly EntityKind[] = ['services', 'routes', 'upstreams', 'consumers', 'plugins'];

export function createEntityController(kind: EntityKind): Type<unknown> {
  @Controller(kind)
  class EntityController {
    constructor(@Inject(EntitiesService) private readonly entities: EntitiesService) {}

    @Get()
    list(@Query() query: RawQuery): Promise<PageDto<Entity>> { return this.entities.list(kind, query); }

    @Get(':key')
    get(@Param('key') key: string): Promise<Entity> { return this.entities.get(kind, key); }

    @Post() @Roles('operator')
    create(@Body() body: unknown, @CurrentUser() user: AdminPrincipal): Promise<Entity> { return this.entities.create(kind, body, user); }

    @Put(':key') @Roles('operator')
    replace(@Param('key') key: string, @Body() body: unknown, @CurrentUser() user: AdminPrincipal): Promise<Entity> { return this.entities.replace(kind, key, body, user); }

    @Patch(':key') @Roles('operator')
    patch(@Param('key') key: string, @Body() body: unknown, @CurrentUser() user: AdminPrincipal): Promise<Entity> { return this.entities.patch(kind, key, body, user); }

    @Delete(':key') @Roles('operator') @HttpCode(204)
    remove(@Param('key') key: string, @CurrentUser() user: AdminPrincipal): Promise<void> { return this.entities.remove(kind, key, user); }
  }
  // A readable class name shows up in Nest's logs and stack traces instead of five `EntityController`s.
  Object.defineProperty(EntityController, 'name', { value: `${kind[0]!.toUpperCase()}${kind.slice(1)}Controller` });
  return EntityController;
}

export const ENTITY_CONTROLLERS = ENTITY_KIND_LIST.map(createEntityController);
