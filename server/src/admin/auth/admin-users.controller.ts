/**
 * Admin API users, admin role only: operators and viewers are created here.
 */
import { Body, Controller, Get, Post } from '@nestjs/common';
import { TypeBoxPipe } from '../common/typebox.pipe.js';
import { AdminUserCreateSchema, type AdminUserCreateDto, type AdminUserDto } from './auth.dto.js';
import { AuthService } from './auth.service.js';
import { Roles } from './roles.decorator.js';

@Controller('admin-users')
@Roles('admin')
export class AdminUsersController {
  constructor(private readonly auth: AuthService) {}

  @Get()
  list(): Promise<{ data: AdminUserDto[] }> { return this.auth.listUsers(); }

  @Post()
  create(@Body(new TypeBoxPipe(AdminUserCreateSchema)) body: AdminUserCreateDto): Promise<AdminUserDto> { return this.auth.createUser(body); }
}
