/**
 * What a signed-in role may do in the dashboard. The admin API enforces the same rules (RolesGuard);
 * the dashboard only hides what would be refused, so a viewer never meets a form that cannot be saved.
 */
import type { Role } from './session';

/** Staff roles see the operator pages; developers see only their portal. */
export type Audience = 'staff' | 'developer' | 'public';

export function audienceOf(role: Role): Exclude<Audience, 'public'> {
  return role === 'developer' ? 'developer' : 'staff';
}

/** Operators and admins change config; viewers only read. */
export function canEdit(role: Role): boolean {
  return role === 'admin' || role === 'operator';
}

/** Admin-only actions: users, developer approval and restriction, invitations. */
export function isAdmin(role: Role): boolean {
  return role === 'admin';
}
