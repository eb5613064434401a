/**
 * `/config` (export, validate, diff, apply) and `/versions` (history, one version, rollback).
 */
import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { ConfigDocument } from '../../config/schema.js';
import type { ValidationIssue } from '../../config/validate.js';
import type { VersionInfo } from '../../store/config-store.js';
import { Roles } from '../auth/roles.decorator.js';
import { CurrentUser, type AdminPrincipal } from '../common/current-user.js';
import type { PageDto, RawQuery } from '../entities/entities.dto.js';
import { ConfigService, type DiffResult } from './config.service.js';

@Controller()
export class ConfigController {
  constructor(private readonly config: ConfigService) {}

  @Get('config')
  async export(@Query('format') format: string | undefined, @Res() reply: FastifyReply): Promise<void> { const out = await this.config.export(format); await reply.type(out.contentType).send(out.body); }

  @Post('config/validate') @HttpCode(200) @Roles('viewer')
  validate(@Body() body: unknown): { valid: boolean; errors: ValidationIssue[] } { return this.config.validate(body); }

  @Post('config/diff') @HttpCode(200) @Roles('viewer')
  diff(@Body() body: unknown): Promise<DiffResult> { return this.config.diff(body); }

  @Put('config') @Roles('operator')
  apply(@Body() body: unknown, @Query('dry_run') dryRun: string | undefined, @Query('message') message: string | undefined, @CurrentUser() user: AdminPrincipal): ReturnType<ConfigService['apply']> { return this.config.apply(body, { dryRun: dryRun === 'true' || dryRun === '1', message }, user); }

  @Get('versions')
  versions(@Query() query: RawQuery): Promise<PageDto<VersionInfo>> { return this.config.versions(query); }

  @Get('versions/:n')
  version(@Param('n') n: string): Promise<VersionInfo & { document: ConfigDocument }> { return this.config.version(n); }

  @Post('versions/:n/rollback') @HttpCode(200) @Roles('operator')
  rollback(@Param('n') n: string, @Query('message') message: string | undefined, @CurrentUser() user: AdminPrincipal): Promise<{ version: number; changed: boolean }> { return this.config.rollback(n, user, message); }
}
