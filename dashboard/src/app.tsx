/**
 * The dashboard shell: the sign-in page until there is a session, then the header (user, sign-out) and
 * the status page. The session ends on sign-out, on expiry, or on the first 401 from the admin API.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { createApiClient } from './lib/api-client';
import { clearSession, loadSession, saveSession, type Session } from './features/auth/session';
import { SignInPage } from './features/auth/sign-in-page';
import { StatusPage } from './features/status/status-page';

export interface AppProps {
  /** Admin API origin; empty in production, where the admin listener serves the dashboard itself. */
  baseUrl?: string;
  storage?: Storage;
}

export function App({ baseUrl = '', storage = sessionStorage }: AppProps) {
  const [session, setSession] = useState<Session | undefined>(() => loadSession(storage));
  const [notice, setNotice] = useState<string | undefined>();

  const endSession = useCallback(
    (why?: string) => {
      clearSession(storage);
      setSession(undefined);
      setNotice(why);
    },
    [storage],
  );

  const token = session?.token;
  const api = useMemo(
    () =>
      createApiClient({
        baseUrl,
        getToken: () => token,
        onUnauthorized: () => endSession('Your session has ended. Sign in again.'),
      }),
    [baseUrl, token, endSession],
  );

  const expiresAt = session?.expiresAt;
  useEffect(() => {
    if (expiresAt === undefined) return;
    // setTimeout's limit is ~24.8 days; a longer-lived token simply gets checked again on the next 401.
    const timer = setTimeout(() => endSession('Your session has expired. Sign in again.'), Math.min(expiresAt - Date.now(), 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [expiresAt, endSession]);

  function signedIn(s: Session) {
    saveSession(s, storage);
    setNotice(undefined);
    setSession(s);
  }

  if (!session) return <SignInPage api={api} onSignedIn={signedIn} notice={notice} />;

  return (
    <div className="shell">
      <header className="top-bar">
        <span className="brand">Gatehouse</span>
        <span className="user">
          {session.username} <span className="muted">({session.role})</span>
        </span>
        <button type="button" className="secondary" onClick={() => endSession()}>
          Sign out
        </button>
      </header>
      <main>
        <StatusPage api={api} />
      </main>
    </div>
  );
}
