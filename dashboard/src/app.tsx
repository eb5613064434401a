/**
 * The dashboard shell: routes the location (lib/router.tsx) to a page of routes.tsx. Public pages
 * (developer sign-up, invitations) open without a session; every other page needs one, else the
 * sign-in page shows in its place and the location is kept, so a deep link opens after sign-in.
 * The session ends on sign-out, on expiry, or on the first 401 from the admin API.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Shell } from './components/shell';
import { audienceOf } from './features/auth/roles';
import { clearSession, loadSession, saveSession, type Session } from './features/auth/session';
import { SignInPage } from './features/auth/sign-in-page';
import { createApiClient } from './lib/api-client';
import { Link, matchPath, navigate, useLocation, UI_PREFIX } from './lib/router';
import { homeFor, ROUTES, type AppRoute } from './routes';

export interface AppProps {
  /** Admin API origin; empty in production, where the admin listener serves the dashboard itself. */
  baseUrl?: string;
  storage?: Storage;
}

function findRoute(location: string): { route: AppRoute; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    const params = matchPath(route.path, location);
    if (params) return { route, params };
  }
  return undefined;
}

export function App({ baseUrl = '', storage = sessionStorage }: AppProps) {
  const [session, setSession] = useState<Session | undefined>(() => loadSession(storage));
  const [notice, setNotice] = useState<string | undefined>();
  const location = useLocation();

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

  const match = findRoute(location);
  const audience = session ? audienceOf(session.role) : undefined;
  const path = location.split('?')[0]!.replace(/\/+$/, '');
  const atRoot = path === '' || path === UI_PREFIX;

  useEffect(() => {
    // `/` and `/ui` land on the role's home page; replace, so Back does not bounce through the root.
    if (audience && atRoot) navigate(homeFor(audience), { replace: true });
  }, [audience, atRoot]);

  useEffect(() => {
    document.title = match ? `${match.route.title} · Gatehouse` : 'Gatehouse';
  }, [match]);

  if (match?.route.audience === 'public') {
    return <main className="public-page">{match.route.render({ api, session, params: match.params, baseUrl })}</main>;
  }

  if (!session) {
    return (
      <SignInPage
        api={api}
        notice={notice}
        onSignedIn={(s) => {
          saveSession(s, storage);
          setNotice(undefined);
          setSession(s);
        }}
      />
    );
  }

  let page;
  if (atRoot) page = null;
  else if (!match) page = <NotFound home={homeFor(audience!)} />;
  else if (match.route.audience !== audience) page = <NotAllowed home={homeFor(audience!)} />;
  else page = match.route.render({ api, session, params: match.params, baseUrl });

  return (
    <Shell session={session} onSignOut={() => endSession()}>
      {page}
    </Shell>
  );
}

function NotFound({ home }: { home: string }) {
  return (
    <section className="card">
      <h1>Page not found</h1>
      <p>
        There is no dashboard page at this address. <Link to={home}>Go to the start page</Link>.
      </p>
    </section>
  );
}

function NotAllowed({ home }: { home: string }) {
  return (
    <section className="card">
      <h1>Not available to your account</h1>
      <p>
        This page is for another kind of account. <Link to={home}>Go to your start page</Link>.
      </p>
    </section>
  );
}
