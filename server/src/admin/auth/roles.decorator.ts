/**
 * Route metadata for the guards: `@Public()` skips authentication, `@Roles('operator')` names the least
 * role allowed. Roles are ordered viewer < operator < admin. Developer-portal accounts sit outside that
 * order: they rank below viewer, so every route without an explicit opening is closed to them, and
 * only `@DevelopersOnly()` (the `/me/**` API) or `@AnyRole()` (e.g. `/auth/me`) let them in.
 */
import { SetMetadata } from '@nestjs/common';
import type { Role } from '../common/current-user.js';

export const IS_PUBLIC = 'gatehouse:public';
export const MIN_ROLE = 'gatehouse:min-role';
/** Route open to exactly these roles (not rank-based). */
export const ONLY_ROLES = 'gatehouse:only-roles';

export const Public = () => SetMetadata(IS_PUBLIC, true);
export const Roles = (role: 'viewer' | 'operator' | 'admin') => SetMetadata(MIN_ROLE, role);
/** Only developer accounts (their own applications and keys); admins, operators and viewers get 403. */
export const DevelopersOnly = () => SetMetadata(ONLY_ROLES, ['developer'] satisfies Role[]);
/** Any signed-in, active account: viewer, operator, admin or an approved developer. */
export const AnyRole = () => SetMetadata(ONLY_ROLES, ['viewer', 'operator', 'admin', 'developer'] satisfies Role[]);

export const ROLE_RANK: Record<Role, number> = { 'developer-pending': -2, developer: -1, viewer: 0, operator: 1, admin: 2 };
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
