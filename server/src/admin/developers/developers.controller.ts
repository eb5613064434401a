/**
 * The developer portal API. `/developers/**`: sign-up and invitation acceptance (public, throttled like
 * login), the list for operators, invitations, approval and restriction for admins. `/me/**`: a signed-in
 * developer's own applications and keys; no other role may call it, and developers may call nothing else
 * but `/auth/me` and `/health/*` (RolesGuard ranks them below viewer).
 */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { DevelopersOnly, Public, Roles } from '../auth/roles.decorator.js';
import { CurrentUser, type AdminPrincipal } from '../common/current-user.js';
import { KeyIssueThrottle, LoginThrottle } from '../common/throttles.js';
import { TypeBoxPipe } from '../common/typebox.pipe.js';
import type { RawQuery } from '../entities/entities.dto.js';
import { ApisService } from './apis.service.js';
import { ApplicationsService } from './applications.service.js';
import {
  AcceptInviteSchema,
  ApplicationCreateSchema,
  InvitationCreateSchema,
  KeyCreateSchema,
  KeyRotateSchema,
  RestrictSchema,
  SignupSchema,
  type AcceptInviteDto,
  type ApplicationCreateDto,
  type InvitationCreateDto,
  type KeyCreateDto,
  type KeyRotateDto,
  type RestrictDto,
  type SignupDto,
} from './developers.dto.js';
import { DevelopersService } from './developers.service.js';
import { UsageService } from './usage.service.js';

@Controller('developers')
export class DevelopersController {
  constructor(@Inject(DevelopersService) private readonly developers: DevelopersService) {}

  @Post('signup') @Public() @LoginThrottle() @HttpCode(201)
  signup(@Body(new TypeBoxPipe(SignupSchema)) body: SignupDto) {
    return this.developers.signup(body);
  }

  @Post('accept-invite') @Public() @LoginThrottle() @HttpCode(201)
  acceptInvite(@Body(new TypeBoxPipe(AcceptInviteSchema)) body: AcceptInviteDto) {
    return this.developers.acceptInvite(body);
  }

  @Get() @Roles('operator')
  list() {
    return this.developers.list();
  }

  @Post('invitations') @Roles('admin') @HttpCode(201)
  invite(@Body(new TypeBoxPipe(InvitationCreateSchema)) body: InvitationCreateDto, @CurrentUser() user: AdminPrincipal) {
    return this.developers.invite(body, user);
  }

  @Post(':username/approve') @Roles('admin') @HttpCode(200)
  approve(@Param('username') username: string, @CurrentUser() user: AdminPrincipal) {
    return this.developers.approve(username, user);
  }

  @Post(':username/restrict') @Roles('admin') @HttpCode(200)
  restrict(@Param('username') username: string, @Body(new TypeBoxPipe(RestrictSchema)) body: RestrictDto, @CurrentUser() user: AdminPrincipal) {
    return this.developers.restrict(username, body, user);
  }
}

@Controller('me/applications')
@DevelopersOnly()
export class MyApplicationsController {
  constructor(
    @Inject(ApplicationsService) private readonly apps: ApplicationsService,
    @Inject(UsageService) private readonly usageOf: UsageService,
  ) {}

  @Get()
  list(@CurrentUser() user: AdminPrincipal) {
    return this.apps.list(user);
  }

  @Post() @HttpCode(201)
  create(@Body(new TypeBoxPipe(ApplicationCreateSchema)) body: ApplicationCreateDto, @CurrentUser() user: AdminPrincipal) {
    return this.apps.create(user, body);
  }

  @Delete(':app') @HttpCode(204)
  async remove(@Param('app') app: string, @CurrentUser() user: AdminPrincipal): Promise<void> {
    await this.apps.remove(user, app);
  }

  @Get(':app/keys')
  keys(@Param('app') app: string, @CurrentUser() user: AdminPrincipal) {
    return this.apps.keys(user, app);
  }

  @Post(':app/keys') @KeyIssueThrottle() @HttpCode(201)
  createKey(@Param('app') app: string, @Body() body: unknown, @CurrentUser() user: AdminPrincipal) {
    // An empty POST is the common case; the body is optional.
    return this.apps.createKey(user, app, new TypeBoxPipe(KeyCreateSchema).transform(body ?? {}) as KeyCreateDto);
  }

  @Post(':app/keys/:id/rotate') @KeyIssueThrottle() @HttpCode(201)
  rotate(@Param('app') app: string, @Param('id') id: string, @Body() body: unknown, @CurrentUser() user: AdminPrincipal) {
    return this.apps.rotateKey(user, app, id, new TypeBoxPipe(KeyRotateSchema).transform(body ?? {}) as KeyRotateDto);
  }

  @Delete(':app/keys/:id') @HttpCode(200)
  revoke(@Param('app') app: string, @Param('id') id: string, @CurrentUser() user: AdminPrincipal) {
    return this.apps.revokeKey(user, app, id);
  }

  @Get(':app/limits')
  limits(@Param('app') app: string, @CurrentUser() user: AdminPrincipal) {
    return this.apps.limits(user, app);
  }

  @Get(':app/usage')
  usage(@Param('app') app: string, @Query() query: RawQuery, @CurrentUser() user: AdminPrincipal) {
    return this.usageOf.usage(user, app, query);
  }
}

/** The APIs the caller's keys may call, with their OpenAPI documents (rule in apis.service.ts). */
@Controller('me/apis')
@DevelopersOnly()
export class MyApisController {
  constructor(@Inject(ApisService) private readonly apis: ApisService) {}

  @Get()
  list(@CurrentUser() user: AdminPrincipal) {
    return this.apis.list(user);
  }
}
