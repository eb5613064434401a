/**
 * `/status`, `/health/live`, `/health/ready`, `/plugins-available` (each plugin's
 * name, description, scopes and config schema) and `/schemas/:kind` (entity schemas).
 */
import { Controller, Get, Param } from '@nestjs/common';
import type { TSchema } from '@sinclair/typebox';
import { Public } from '../auth/roles.decorator.js';
import { SystemService, type PluginInfo } from './system.service.js';

@Controller()
export class SystemController {
  constructor(private readonly system: SystemService) {}

  @Get('status')
  status(): ReturnType<SystemService['status']> { return this.system.status(); }

  @Get('health/live') @Public()
  live(): { status: 'ok' } { return { status: 'ok' }; }

  @Get('health/ready') @Public()
  ready(): ReturnType<SystemService['ready']> { return this.system.ready(); }

  @Get('plugins-available')
  plugins(): { data: PluginInfo[] } { return this.system.availablePlugins(); }

  @Get('schemas/:kind')
  schema(@Param('kind') kind: string): TSchema { return this.system.schema(kind); }
}
