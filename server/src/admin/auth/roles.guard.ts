/**
 * Authorization after AdminAuthGuard: the caller's role must reach the route's `@Roles`. Without the
 * decorator, reads need viewer and writes operator, so a route that forgets it is not open to viewers
 * (nor to developer accounts, which rank below viewer). `@DevelopersOnly()`/`@AnyRole()` list roles exactly.
 */
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../../errors/registry.js';
import type { AdminPrincipal, Role } from '../common/current-user.js';
import { IS_PUBLIC, MIN_ROLE, ONLY_ROLES, ROLE_RANK } from './roles.decorator.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<FastifyRequest & { user?: AdminPrincipal }>();
    const user = req.user;
    if (!user) throw new GatewayError('GW_ERR_ADMIN_UNAUTHORIZED');
    const only = this.reflector.getAllAndOverride<readonly Role[] | undefined>(ONLY_ROLES, targets);
    if (only) {
      if (only.includes(user.role)) return true;
      throw new GatewayError('GW_ERR_ADMIN_FORBIDDEN', `role '${user.role}' cannot do this; it is for ${only.join(', ')}`);
    }
    const needed = this.reflector.getAllAndOverride<Role | undefined>(MIN_ROLE, targets) ?? (SAFE_METHODS.has(req.method) ? 'viewer' : 'operator');
    if (ROLE_RANK[user.role] < ROLE_RANK[needed]) {
      throw new GatewayError('GW_ERR_ADMIN_FORBIDDEN', `role '${user.role}' cannot do this; it needs '${needed}'`);
    }
    return true;
  }
}
