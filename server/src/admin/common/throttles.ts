/**
 * The admin API's throttles (@nestjs/throttler, stored in Redis when REDIS_URL is set so every node
 * counts together). Two named throttlers, each applied only where it belongs:
 * - `login`: sign-in, developer sign-up and invitation acceptance, per client address — slows password
 *   guessing.
 * - `keys`: issuing and rotating credentials and developer keys, per signed-in account — a leaked admin
 *   or developer session cannot mint keys in bulk.
 * A route guarded by ThrottlerGuard would count against every registered throttler, so each decorator
 * below also skips the other one.
 */
import { applyDecorators, Injectable, UseGuards, type ExecutionContext } from '@nestjs/common';
import { SkipThrottle, ThrottlerGuard } from '@nestjs/throttler';

export const LOGIN_LIMIT = { limit: 10, ttl: 60_000 };
export const KEY_ISSUE_LIMIT = { limit: 30, ttl: 60_000 };

export const THROTTLERS = [
  { name: 'login', ...LOGIN_LIMIT },
  { name: 'keys', ...KEY_ISSUE_LIMIT },
];

const KEY_PREFIX = 'keys:';

/** The 429's detail names what was throttled. */
export function throttleMessage(_context: unknown, detail: { key: string }): string {
  return detail.key.startsWith(KEY_PREFIX) ? 'too many credentials issued; retry later' : 'too many login attempts; retry later';
}

/**
 * Counts per account, across every key-issuing endpoint together (the stock guard keys by handler, so
 * create and rotate would each get the full budget). The auth guard (global) has already put the
 * principal on the request.
 */
@Injectable()
export class AccountThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const user = req.user as { username?: string } | undefined;
    return user?.username ? `user:${user.username}` : `ip:${String(req.ip)}`;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `${KEY_PREFIX}${name}:${tracker}`;
  }
}

/** Sign-in style endpoints: the `login` throttle per client address. */
export const LoginThrottle = () => applyDecorators(SkipThrottle({ keys: true }), UseGuards(ThrottlerGuard));

/** Endpoints that issue a secret: the `keys` throttle per account. */
export const KeyIssueThrottle = () => applyDecorators(SkipThrottle({ login: true }), UseGuards(AccountThrottlerGuard));
