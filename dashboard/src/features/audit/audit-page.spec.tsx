/**
 * Tests of the Audit page against a loopback admin API stand-in: the list, an entry's before/after diff,
 * the config diff of a rollback entry, filters (sent to the server and kept in the URL), paging with
 * the cursor, and the non-admin message.
 */
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import type { Session } from '../auth/session';
import { AuditLogPage } from './audit-page';
import { CREATE, doc, LOGIN_FAILED, ROLLBACK, UPDATE } from './fixtures';

const ADMIN: Session = { token: 'tok', username: 'root', role: 'admin', expiresAt: Date.now() + 3_600_000 };

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  window.history.replaceState(null, '', '/ui/audit');
  peer.requests.length = 0;
  peer.routes = {
    'GET /audit?limit=50': () => ({ body: { data: [ROLLBACK, UPDATE, CREATE], next_cursor: 12 } }),
    'GET /audit?limit=50&cursor=12': () => ({ body: { data: [LOGIN_FAILED], next_cursor: null } }),
    'GET /versions/3': () => ({ body: { version: 3, created_at: UPDATE.at, author: 'ops', message: 'update plugin p1', document: doc(100) } }),
    'GET /versions/4': () => ({ body: { version: 4, created_at: ROLLBACK.at, author: 'root', message: 'rollback to v2', document: doc(3) } }),
  };
});

const api = () => createApiClient({ baseUrl: peer.url, getToken: () => 'tok' });
const rows = () =>
  within(screen.getByRole('table', { name: 'Audit events' }))
    .getAllByRole('row')
    .slice(1)
    .filter((r) => !r.classList.contains('audit-detail'));
const cellText = (r: HTMLElement) => within(r).getAllByRole('cell').slice(1, 5).map((c) => c.textContent);
const lines = (el: Element, kind: 'add' | 'del') => [...el.querySelectorAll(`.diff-${kind}`)].map((l) => (l.textContent ?? '').replace(/\s+/g, ' ').trim());

describe('AuditLogPage', () => {
  it('lists who changed what, and shows the before/after diff of an entry', async () => {
    const user = userEvent.setup();
    render(<AuditLogPage api={api()} session={ADMIN} />);
    await screen.findByRole('table', { name: 'Audit events' });
    expect(rows().map(cellText)).toEqual([
      ['root (admin)', 'versions.rollback', 'versions 2', '200'],
      ['ops (operator)', 'plugins.update', 'plugins p1', '200'],
      ['ops (operator)', 'plugins.create', 'plugins p1', '201'],
    ]);

    await user.click(within(rows()[1]!).getByRole('button', { name: /^Changes/ }));
    const detail = screen.getByRole('table', { name: 'Audit events' }).querySelector('.audit-detail')!;
    expect(detail.textContent).toContain('via jwt from 127.0.0.1 · request req-13');
    expect(lines(detail, 'del')).toEqual(['−removed: "minute": 3']);
    expect(lines(detail, 'add')).toEqual(['+added: "minute": 100']);

    await user.click(within(rows()[2]!).getByRole('button', { name: /^Changes/ }));
    const created = screen.getByRole('table', { name: 'Audit events' }).querySelectorAll('.audit-detail')[1]!;
    expect(lines(created, 'del')).toEqual([]);
    expect(lines(created, 'add')).toContain('+added: "name": "rate-limiting",');
  });

  it('diffs the two config versions of a rollback entry on request', async () => {
    const user = userEvent.setup();
    render(<AuditLogPage api={api()} session={ADMIN} />);
    await user.click(await screen.findByRole('button', { name: /^Changes.*versions\.rollback/ }));
    expect(screen.getByText(/Config version 3 → 4/)).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Open version 4 in History' }).getAttribute('href')).toBe('/ui/history?v=4');
    expect(peer.requests.some((r) => r.path.startsWith('/versions'))).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Show the config diff' }));
    const diff = await screen.findByLabelText('Changes');
    expect(lines(diff, 'del')).toEqual(['−removed: "minute": 100']);
    expect(lines(diff, 'add')).toEqual(['+added: "minute": 3']);
  });

  it('filters on the server and keeps the filters in the URL', async () => {
    const user = userEvent.setup();
    peer.routes['GET /audit?actor=ops&action=plugins.&limit=50'] = () => ({ body: { data: [UPDATE, CREATE], next_cursor: null } });
    peer.routes['GET /audit?actor=nobody&limit=50'] = () => ({ body: { data: [], next_cursor: null } });
    render(<AuditLogPage api={api()} session={ADMIN} />);
    await screen.findByRole('table', { name: 'Audit events' });
    await user.type(screen.getByLabelText('User'), 'ops');
    await user.type(screen.getByLabelText('Action'), 'plugins.');
    await user.click(screen.getByRole('button', { name: 'Filter' }));
    await expect.poll(() => rows().length).toBe(2);
    expect(window.location.search).toBe('?actor=ops&action=plugins.');
    expect(screen.queryByRole('button', { name: 'Load older' })).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Clear' }));
    await expect.poll(() => rows().length).toBe(3);
    expect(window.location.search).toBe('');
    await user.type(screen.getByLabelText('User'), 'nobody');
    await user.click(screen.getByRole('button', { name: 'Filter' }));
    expect(await screen.findByText('No changes match these filters.')).toBeTruthy();
  });

  it('loads older entries with the cursor', async () => {
    const user = userEvent.setup();
    render(<AuditLogPage api={api()} session={ADMIN} />);
    await user.click(await screen.findByRole('button', { name: 'Load older' }));
    await expect.poll(() => rows().length).toBe(4);
    expect(cellText(rows()[3]!)).toEqual(['mallory', 'login.failed', '—', '401']);
    expect(rows()[3]!.className).toBe('failed');
    expect(screen.queryByRole('button', { name: 'Load older' })).toBeNull();
  });

  it('tells a non-admin that the audit log is for admins, without asking the server', () => {
    render(<AuditLogPage api={api()} session={{ ...ADMIN, role: 'operator' }} />);
    expect(screen.getByText(/only admins can read it/)).toBeTruthy();
    expect(peer.requests).toEqual([]);
  });

  it('shows the empty state and a load error with Retry', async () => {
    let fail = true;
    peer.routes['GET /audit?limit=50'] = () =>
      fail ? { status: 503, body: { title: 'The config store is unavailable', status: 503, code: 'GW_ERR_STORE_UNAVAILABLE' } } : { body: { data: [], next_cursor: null } };
    render(<AuditLogPage api={api()} session={ADMIN} />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Could not load audit log');
    fail = false;
    await userEvent.setup().click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByText('No changes recorded yet.')).toBeTruthy();
  });
});
