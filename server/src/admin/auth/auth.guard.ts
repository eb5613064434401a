/**
 * The global authentication guard: public routes pass; a bearer equal to GATEHOUSE_ADMIN_TOKEN (compared
 * in constant time) is an admin; anything else must be a valid login JWT, checked by the passport-jwt
 * strategy. Authorization by role is RolesGuard's job, which runs after this one.
 */
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard, type IAuthGuard } from '@nestjs/passport';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../../errors/registry.js';
import { ADMIN_ENV, AUTH_SETTINGS, type AdminEnv, type AuthSettings } from '../admin-env.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { IS_PUBLIC } from './roles.decorator.js';

/** Hashing both sides first gives equal-length buffers, so the comparison time doesn't leak the length. */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

@Injectable()
export class AdminAuthGuard implements CanActivate {
  private readonly jwtGuard: IAuthGuard;

  constructor(
    private readonly reflector: Reflector,
    @Inject(ADMIN_ENV) private readonly env: AdminEnv,
    @Inject(AUTH_SETTINGS) settings: AuthSettings,
  ) {
    const JwtGuard = AuthGuard(settings.strategyName);
    this.jwtGuard = new JwtGuard();
    this.jwtGuard.handleRequest = function rejectUnauthenticated<T>(err: unknown, user: unknown, info: unknown): T {
      if (err || !user) {
        const reason = info instanceof Error ? info.message : 'a valid bearer token is required';
        throw new GatewayError('GW_ERR_ADMIN_UNAUTHORIZED', reason);
      }
      return user as T;
    };
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<FastifyRequest & { user?: AdminPrincipal }>();
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer) throw new GatewayError('GW_ERR_ADMIN_UNAUTHORIZED', 'send `Authorization: Bearer <token>`');
    if (this.env.adminToken && sameSecret(bearer, this.env.adminToken)) {
      req.user = { username: 'admin-token', role: 'admin', via: 'token' };
    } else {
      await this.jwtGuard.canActivate(context);
    }
    if (!req.user) throw new GatewayError('GW_ERR_ADMIN_UNAUTHORIZED');
    return true;
  }
}
