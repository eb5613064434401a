/**
 * The signed-in session, kept in sessionStorage so it ends with the tab and is never shared between tabs.
 */

export type Role = 'admin' | 'operator' | 'viewer' | 'developer';

export interface Session {
  token: string;
  username: string;
  role: Role;
  /** Epoch milliseconds after which the token is no longer accepted. */
  expiresAt: number;
}

/** What POST /auth/login answers. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  role: Role;
}

const KEY = 'gatehouse.session';

export function sessionFromLogin(username: string, res: TokenResponse, now = Date.now()): Session {
  return { token: res.access_token, username, role: res.role, expiresAt: now + res.expires_in * 1000 };
}

export function loadSession(storage: Storage = sessionStorage, now = Date.now()): Session | undefined {
  const raw = storage.getItem(KEY);
  if (!raw) return undefined;
  try {
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.token === 'string' && typeof s.username === 'string' && typeof s.expiresAt === 'number' && s.expiresAt > now) {
      return s as Session;
    }
  } catch {
    // A corrupt entry is treated as signed out.
  }
  storage.removeItem(KEY);
  return undefined;
}

export function saveSession(session: Session, storage: Storage = sessionStorage): void {
  storage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(storage: Storage = sessionStorage): void {
  storage.removeItem(KEY);
}
