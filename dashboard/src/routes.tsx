/**
 * Every page of the dashboard in one table: its path under /ui/, who may open it, and its place in the
 * navigation. The shell (app.tsx) matches the location against this list in order, so a more specific
 * path must come before a pattern that would also match it.
 */
import type { ReactNode } from 'react';
import type { Audience } from './features/auth/roles';
import type { Session } from './features/auth/session';
import { detailPage, listPage } from './features/config/pages';
import { StatusPage } from './features/status/status-page';
import { OverviewPage } from './features/overview/overview-page';
import { LimitsRoute } from './features/limits/limits-route';
import { HistoryPage } from './features/history/history-page';
import { AuditLogPage } from './features/audit/audit-page';
import { DevelopersPage } from './features/developers/developers-page';
import { ImportPage } from './features/import/import-page';
import { CertificatesPage } from './features/certificates/certificates-page';
import { AcceptInvitePage } from './features/portal/accept-invite-page';
import { ApisPage } from './features/portal/apis-page';
import { AppDetailPage } from './features/portal/app-detail-page';
import { AppsPage } from './features/portal/apps-page';
import { SignupPage } from './features/portal/signup-page';
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
  // The staff home (first staff nav entry): live traffic, errors, latency (features/overview).
  { path: '/ui/overview', title: 'Overview', audience: 'staff', nav: { label: 'Overview', group: 'Monitor' }, render: ({ api, session, baseUrl }) => <OverviewPage api={api} baseUrl={baseUrl} token={session?.token} /> },
  { path: '/ui/system', title: 'System', audience: 'staff', nav: { label: 'System', group: 'Monitor' }, render: ({ api }) => <StatusPage api={api} /> },
  // Configure (features/config): list pages in the navigation, detail pages reached from them.
  { path: '/ui/services', title: 'Services', audience: 'staff', nav: { label: 'Services', group: 'Configure' }, render: listPage('services') },
  { path: '/ui/services/:name', title: 'Service', audience: 'staff', render: detailPage('services') },
  { path: '/ui/routes', title: 'Routes', audience: 'staff', nav: { label: 'Routes', group: 'Configure' }, render: listPage('routes') },
  { path: '/ui/routes/:name', title: 'Route', audience: 'staff', render: detailPage('routes') },
  { path: '/ui/upstreams', title: 'Upstreams', audience: 'staff', nav: { label: 'Upstreams', group: 'Configure' }, render: listPage('upstreams') },
  { path: '/ui/upstreams/:name', title: 'Upstream', audience: 'staff', render: detailPage('upstreams') },
  { path: '/ui/consumers', title: 'Consumers', audience: 'staff', nav: { label: 'Consumers', group: 'Configure' }, render: listPage('consumers') },
  { path: '/ui/consumers/:name', title: 'Consumer', audience: 'staff', render: detailPage('consumers') },
  { path: '/ui/plugins', title: 'Plugins', audience: 'staff', nav: { label: 'Plugins', group: 'Configure' }, render: listPage('plugins') },
  { path: '/ui/plugins/:id', title: 'Plugin', audience: 'staff', render: detailPage('plugins') },
  { path: '/ui/certificates', title: 'Certificates', audience: 'staff', nav: { label: 'Certificates', group: 'Configure' }, render: ({ api, session }) => <CertificatesPage api={api} role={session!.role} /> },
  // Govern (limits, history, audit) after the others, so a role's home page stays a Monitor page.
  { path: '/ui/limits', title: 'Limits', audience: 'staff', nav: { label: 'Limits', group: 'Govern' }, render: ({ api, session, baseUrl }) => <LimitsRoute api={api} session={session!} baseUrl={baseUrl} /> },
  { path: '/ui/history', title: 'History', audience: 'staff', nav: { label: 'History', group: 'Govern' }, render: ({ api, session }) => <HistoryPage api={api} session={session!} /> },
  { path: '/ui/audit', title: 'Audit log', audience: 'staff', nav: { label: 'Audit', group: 'Govern' }, render: ({ api, session }) => <AuditLogPage api={api} session={session!} /> },
  { path: '/ui/developers', title: 'Developers', audience: 'staff', nav: { label: 'Developers', group: 'Govern' }, render: ({ api, session }) => <DevelopersPage api={api} role={session!.role} /> },
  { path: '/ui/import', title: 'Import', audience: 'staff', nav: { label: 'Import', group: 'Govern' }, render: ({ api, session }) => <ImportPage api={api} session={session!} /> },
  // Developer portal (features/portal): /ui/apps is the developers' home; sign-up and invitations are public.
  { path: '/ui/apps', title: 'My applications', audience: 'developer', nav: { label: 'My applications', group: 'Portal' }, render: ({ api }) => <AppsPage api={api} /> },
  { path: '/ui/apps/:app', title: 'Application', audience: 'developer', render: ({ api, params }) => <AppDetailPage key={params.app} api={api} app={params.app!} /> },
  { path: '/ui/apis', title: 'APIs', audience: 'developer', nav: { label: 'APIs', group: 'Portal' }, render: ({ api }) => <ApisPage api={api} /> },
  { path: '/ui/signup', title: 'Developer sign-up', audience: 'public', render: ({ api }) => <SignupPage api={api} /> },
  { path: '/ui/accept-invite', title: 'Accept invitation', audience: 'public', render: ({ api }) => <AcceptInvitePage api={api} /> },
];

/** Where a role lands after sign-in or on `/`: the first page of the navigation it may open. */
export function homeFor(audience: Audience): string {
  return ROUTES.find((r) => r.audience === audience && r.nav)?.path ?? '/ui/system';
}
