/**
 * Route metadata for the guards: `@Public()` skips authentication, `@Roles('operator')` names the least
 * role allowed. Roles are ordered viewer < operator < admin.
 */
import { SetMetadata } from '@nestjs/common';
import type { Role } from '../common/current-user.js';

export const IS_PUBLIC = 'gatehouse:public';
export const MIN_ROLE = 'gatehouse:min-role';

export const Public = () => SetMetadata(IS_PUBLIC, true);
export const Roles = (role: Role) => SetMetadata(MIN_ROLE, role);

export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
