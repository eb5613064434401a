/**
 * How developer-portal accounts map onto the existing store, without tables of their own:
 * - the account is an admin_users row with role `developer` (approved) or `developer-pending`;
 * - its profile (approval, allowed groups) is a credential-less consumer `dev.<username>` tagged
 *   `developer-profile`, so approvals and restrictions are versioned writes of the config document (with
 *   author and message) that every node sees, and admin_users never needs an update;
 * - each application is a consumer `dev.<username>.<app>` tagged `developer:<username>`.
 * Developer and application names admit no dot, so `dev.<a>.<b>` names can never collide across accounts.
 */
import { GatewayError } from '../../errors/registry.js';
import { StoreNotFoundError, type AdminUserRecord, type ConfigStore, type Entity } from '../../store/config-store.js';
import type { Role } from '../common/current-user.js';

/** Lower-case so that look-alike names (Alice / alice) cannot both exist; no dot (see above). */
export const DEVELOPER_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{1,39}$';
export const APP_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,39}$';
const DEVELOPER_NAME = new RegExp(DEVELOPER_NAME_PATTERN);
const APP_NAME = new RegExp(APP_NAME_PATTERN);

export const PROFILE_TAG = 'developer-profile';
export const APPROVED_TAG = 'developer-approved';
export const APP_TAG = 'developer-app';
export const ownerTag = (username: string): string => `developer:${username}`;
export const profileName = (username: string): string => `dev.${username}`;
export const appConsumerName = (username: string, app: string): string => `dev.${username}.${app}`;

/** Applications a developer may hold, and non-revoked keys per application (bounds what one account can write). */
export const MAX_APPS_PER_DEVELOPER = 20;
export const MAX_KEYS_PER_APP = 10;

export function isDeveloperRole(role: Role): boolean {
  return role === 'developer' || role === 'developer-pending';
}

export function isDeveloperName(name: string): boolean {
  return DEVELOPER_NAME.test(name);
}

export function isAppName(name: string): boolean {
  return APP_NAME.test(name);
}

export interface DeveloperProfile {
  approved: boolean;
  groups: string[];
  entity: Entity;
}

export async function readProfile(store: ConfigStore, username: string): Promise<DeveloperProfile | undefined> {
  try {
    const entity = await store.get('consumers', profileName(username));
    const tags = (entity.tags as string[] | undefined) ?? [];
    // A consumer of that name an operator made by hand is not a profile.
    if (!tags.includes(PROFILE_TAG) || !tags.includes(ownerTag(username))) return undefined;
    return { approved: tags.includes(APPROVED_TAG), groups: (entity.groups as string[] | undefined) ?? [], entity };
  } catch (err) {
    if (err instanceof StoreNotFoundError) return undefined;
    throw err;
  }
}

/**
 * The role an account acts with: a `developer-pending` row whose profile is approved acts as `developer`
 * (approval is recorded in the profile because admin_users rows are never updated). Used by login and by
 * the JWT strategy on every request, so an approval applies at once.
 */
export async function effectiveRole(store: ConfigStore, user: Pick<AdminUserRecord, 'username' | 'role'>): Promise<Role> {
  if (user.role !== 'developer-pending') return user.role;
  return (await readProfile(store, user.username))?.approved ? 'developer' : 'developer-pending';
}

/** Login gate: a pending developer gets a clear 403 instead of a token. */
export function assertMayLogIn(role: Role): asserts role is Exclude<Role, 'developer-pending'> {
  if (role === 'developer-pending') {
    throw new GatewayError('GW_ERR_DEVELOPER_PENDING', 'this developer account has not been approved yet; an administrator must approve it first');
  }
}
