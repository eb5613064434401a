/**
 * The Limits page as routed: the page plus the last minute of 429s from the live stream.
 */
import { useMemo } from 'react';
import type { ApiClient } from '../../lib/api-client';
import { useLiveTicks } from '../../lib/live';
import type { Session } from '../auth/session';
import { LimitsPage } from './limits-page';
import { sumLimited } from './live-limited';

const WINDOW_SECONDS = 60;

export function LimitsRoute({ api, session, baseUrl }: { api: ApiClient; session: Session; baseUrl: string }) {
  const live = useLiveTicks({ baseUrl, token: session.token, windowSeconds: WINDOW_SECONDS });
  const limited = useMemo(() => sumLimited(live, WINDOW_SECONDS), [live]);
  return <LimitsPage api={api} session={session} live={limited} />;
}
