/**
 * `/auth/login` (public, throttled per client IP) and `/auth/me`.
 */
import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CurrentUser, type AdminPrincipal } from '../common/current-user.js';
import { LoginThrottle } from '../common/throttles.js';
import { TypeBoxPipe } from '../common/typebox.pipe.js';
import { LoginSchema, type LoginDto, type TokenDto } from './auth.dto.js';
import { AuthService } from './auth.service.js';
import { AnyRole, Public } from './roles.decorator.js';

@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login') @Public() @LoginThrottle() @HttpCode(200)
  login(@Body(new TypeBoxPipe(LoginSchema)) body: LoginDto): Promise<TokenDto> { return this.auth.login(body); }

  @Get('me') @AnyRole()
  me(@CurrentUser() user: AdminPrincipal): AdminPrincipal { return user; }
}
