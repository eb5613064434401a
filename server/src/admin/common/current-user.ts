/**
 * The authenticated caller as the guards leave it on the request, and a parameter decorator for it.
 */
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AdminUserRecord } from '../../store/config-store.js';

export type Role = AdminUserRecord['role'];

export interface AdminPrincipal {
  username: string;
  role: Role;
  /** How the caller authenticated: a login JWT or the static GATEHOUSE_ADMIN_TOKEN. */
  via: 'jwt' | 'token';
}

export const CurrentUser = createParamDecorator(function currentUser(_data: unknown, ctx: ExecutionContext): AdminPrincipal {
  return ctx.switchToHttp().getRequest<{ user: AdminPrincipal }>().user;
});
