/** `/consumers/:username/credentials`: list, create, get, delete, rotate, revoke. Writes need the operator role. */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import type { CredentialConfig } from '../../config/schema.js';
import { Roles } from '../auth/roles.decorator.js';
import { CurrentUser, type AdminPrincipal } from '../common/current-user.js';
import { KeyIssueThrottle } from '../common/throttles.js';
import { CredentialsService, type CredentialCreated } from './credentials.service.js';

@Controller('consumers/:username/credentials')
export class CredentialsController {
  constructor(@Inject(CredentialsService) private readonly credentials: CredentialsService) {}

  @Get()
  async list(@Param('username') username: string): Promise<{ data: CredentialConfig[] }> {
    return { data: await this.credentials.list(username) };
  }

  @Post() @Roles('operator') @KeyIssueThrottle()
  create(@Param('username') username: string, @Body() body: unknown, @CurrentUser() user: AdminPrincipal): Promise<CredentialCreated> {
    return this.credentials.create(username, body, user);
  }

  @Get(':id')
  get(@Param('username') username: string, @Param('id') id: string): Promise<CredentialConfig> {
    return this.credentials.get(username, id);
  }

  @Delete(':id') @Roles('operator') @HttpCode(204)
  remove(@Param('username') username: string, @Param('id') id: string, @CurrentUser() user: AdminPrincipal): Promise<void> {
    return this.credentials.remove(username, id, user);
  }

  @Post(':id/rotate') @Roles('operator') @KeyIssueThrottle() @HttpCode(201)
  rotate(@Param('username') username: string, @Param('id') id: string, @Body() body: unknown, @CurrentUser() user: AdminPrincipal) {
    return this.credentials.rotate(username, id, body, user);
  }

  @Post(':id/revoke') @Roles('operator') @HttpCode(200)
  revoke(@Param('username') username: string, @Param('id') id: string, @CurrentUser() user: AdminPrincipal): Promise<CredentialConfig> {
    return this.credentials.revoke(username, id, user);
  }
}
