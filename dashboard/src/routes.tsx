/**
 * Every page of the dashboard in one table: its path under /ui/, who may open it, and its place in the
 * navigation. The shell (app.tsx) matches the location against this list in order, so a more specific
 * path must come before a pattern that would also match it.
 */
import type { ReactNode } from 'react';
import type { Audience } from './features/auth/roles';
import type { Session } from './features/auth/session';
import { StatusPage } from './features/status/status-page';
import type { ApiClient } from './lib/api-client';
import type { Params } from './lib/router';

export interface PageContext {
  api: ApiClient;
  /** Undefined only on public pages (sign-up, invitation). */
  session: Session | undefined;
  params: Params;
  /** Admin API origin, for the live socket; empty when the admin listener serves the dashboard. */
  baseUrl: string;
}

export type NavGroup = 'Monitor' | 'Configure' | 'Govern' | 'Portal';

export interface AppRoute {
  path: string;
  title: string;
  audience: Audience;
  nav?: { label: string; group: NavGroup };
  render: (ctx: PageContext) => ReactNode;
}

export const ROUTES: AppRoute[] = [
  // routes: keep this marker; feature pages are listed below it in navigation order.
  { path: '/ui/system', title: 'System', audience: 'staff', nav: { label: 'System', group: 'Monitor' }, render: ({ api }) => <StatusPage api={api} /> },
];

/** Where a role lands after sign-in or on `/`: the first page of the navigation it may open. */
export function homeFor(audience: Audience): string {
  return ROUTES.find((r) => r.audience === audience && r.nav)?.path ?? '/ui/system';
}
