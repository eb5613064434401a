/**
 * Tests of the History page against a loopback admin API stand-in: the version list, a version's diff
 * against the current config and its document, the one-click rollback (review → apply → refresh), the
 * whole-config editor, and the read-only viewer.
 */
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import type { Session } from '../auth/session';
import { DOC_V1, DOC_V2, DOC_V3, V1, V2, V3, versionPage } from './fixtures';
import { HistoryPage } from './history-page';
import type { VersionInfo } from './types';

const OPERATOR: Session = { token: 'tok', username: 'ops', role: 'operator', expiresAt: Date.now() + 3_600_000 };
const VIEWER: Session = { ...OPERATOR, username: 'vic', role: 'viewer' };

let peer: AdminPeer;
let versions: VersionInfo[];
let current: unknown;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  window.history.replaceState(null, '', '/ui/history');
  peer.requests.length = 0;
  versions = [V3, V2, V1];
  current = DOC_V3;
  peer.routes = {
    'GET /versions?offset=0&limit=20': () => ({ body: versionPage(versions) }),
    'GET /versions/1': () => ({ body: { ...V1, document: DOC_V1 } }),
    'GET /versions/2': () => ({ body: { ...V2, document: DOC_V2 } }),
    'GET /versions/3': () => ({ body: { ...V3, document: DOC_V3 } }),
    'GET /config': () => ({ body: current }),
  };
});

const api = () => createApiClient({ baseUrl: peer.url, getToken: () => 'tok' });
const table = () => within(screen.getByRole('table', { name: 'Config versions' }));
const rows = () => table().getAllByRole('row').slice(1);
const diffText = (el: HTMLElement, kind: 'add' | 'del') => [...el.querySelectorAll(`.diff-${kind}`)].map((l) => (l.textContent ?? '').replace(/\s+/g, ' '));

describe('HistoryPage', () => {
  it('lists the versions with author and message, the newest marked current', async () => {
    render(<HistoryPage api={api()} session={OPERATOR} />);
    await screen.findByRole('table', { name: 'Config versions' });
    expect(rows().map((r) => [within(r).getByRole('rowheader').textContent, ...within(r).getAllByRole('cell').slice(1, 3).map((c) => c.textContent)])).toEqual([
      ['v3 current', 'ops', 'update plugin p1'],
      ['v2 ', 'ops', 'create plugin rate-limiting'],
      ['v1 ', 'root', 'create service orders'],
    ]);
    expect(within(rows()[0]!).queryByRole('button', { name: /Roll back/ })).toBeNull();
    expect(within(rows()[1]!).getByRole('button', { name: 'Roll back to version 2' })).toBeTruthy();
    expect(rows()[2]!.querySelector('time')?.getAttribute('datetime')).toBe(V1.created_at);
  });

  it('shows a version as a diff against the current config, and as a document', async () => {
    const user = userEvent.setup();
    render(<HistoryPage api={api()} session={OPERATOR} />);
    await user.click(await screen.findByRole('button', { name: 'View version 2' }));
    const detail = screen.getByRole('region', { name: 'Version 2' });
    const diff = await within(detail).findByLabelText('Changes');
    expect(diffText(diff, 'del').map((t) => t.trim())).toEqual(['−removed: "minute": 100']);
    expect(diffText(diff, 'add').map((t) => t.trim())).toEqual(['+added: "minute": 3']);
    expect(window.location.search).toBe('?v=2');

    await user.click(within(detail).getByRole('button', { name: 'Document' }));
    expect(within(detail).getByLabelText('Config of version 2').textContent).toContain('"minute": 3');
    expect(window.location.search).toBe('?v=2&show=document');
  });

  it('rolls back with one click after reviewing the diff, then refreshes the list', async () => {
    const user = userEvent.setup();
    peer.routes['POST /versions/2/rollback'] = () => {
      versions = [{ version: 4, created_at: '2025-03-01T10:12:00.000Z', author: 'ops', message: 'rollback to v2' }, V3, V2, V1];
      current = DOC_V2;
      return { body: { version: 4, changed: true } };
    };
    render(<HistoryPage api={api()} session={OPERATOR} />);
    await user.click(await screen.findByRole('button', { name: 'Roll back to version 2' }));

    const dialog = within(await screen.findByRole('dialog', { name: 'Roll back to version 2' }));
    const diff = dialog.getByLabelText('Changes');
    expect(diffText(diff, 'del').map((t) => t.trim())).toEqual(['−removed: "minute": 100']);
    expect(diffText(diff, 'add').map((t) => t.trim())).toEqual(['+added: "minute": 3']);
    expect(peer.requests.some((r) => r.method === 'POST')).toBe(false);
    await user.click(dialog.getByRole('button', { name: 'Roll back' }));

    expect((await screen.findByText(/Rolled back to version 2/)).textContent).toBe('Rolled back to version 2; the config is now version 4.');
    expect(screen.queryByRole('dialog')).toBeNull();
    await expect.poll(() => rows().map((r) => within(r).getByRole('rowheader').textContent)).toEqual(['v4 current', 'v3 ', 'v2 ', 'v1 ']);
    expect(within(rows()[0]!).getAllByRole('cell')[2]!.textContent).toBe('rollback to v2');
    const post = peer.requests.find((r) => r.method === 'POST');
    expect(post).toMatchObject({ path: '/versions/2/rollback', authorization: 'Bearer tok' });
    // The current config was read again after the rollback.
    expect(peer.requests.filter((r) => r.path === '/config').length).toBeGreaterThanOrEqual(3);
  });

  it('keeps the rollback review open with the error when the rollback fails', async () => {
    const user = userEvent.setup();
    peer.routes['POST /versions/1/rollback'] = () => ({ status: 503, body: { title: 'The config store is unavailable', status: 503, code: 'GW_ERR_STORE_UNAVAILABLE' } });
    render(<HistoryPage api={api()} session={OPERATOR} />);
    await user.click(await screen.findByRole('button', { name: 'Roll back to version 1' }));
    const dialog = within(await screen.findByRole('dialog', { name: 'Roll back to version 1' }));
    await user.click(dialog.getByRole('button', { name: 'Roll back' }));
    expect((await dialog.findByRole('alert')).textContent).toBe('The config store is unavailable');
  });

  it('edits the whole config: invalid JSON, server validation, review and apply with a message', async () => {
    const user = userEvent.setup();
    let diffs = 0;
    peer.routes['POST /config/diff'] = (req) => {
      diffs++;
      const body = JSON.parse(req.body) as typeof DOC_V3;
      if (body.routes.length === 0) {
        return { status: 422, body: { title: 'The config is invalid', status: 422, code: 'GW_ERR_CONFIG_INVALID', errors: [{ path: '/routes', message: 'must not be empty' }] } };
      }
      return { body: { base_version: 3, text: '', diff: { created: [], updated: [{}], deleted: [], unchanged: 2 } } };
    };
    peer.routes['PUT /config?message=raise%20limit'] = () => ({ body: { dry_run: false, changed: true, version: 4, base_version: 3, text: '', diff: { created: [], updated: [], deleted: [], unchanged: 0 } } });
    render(<HistoryPage api={api()} session={OPERATOR} />);
    await user.click(await screen.findByRole('button', { name: 'Edit config' }));
    const editor = screen.getByLabelText('Config document (JSON)') as HTMLTextAreaElement;
    expect(JSON.parse(editor.value)).toEqual(DOC_V3);

    await user.clear(editor);
    await user.click(editor);
    await user.paste('{ nope');
    await user.click(screen.getByRole('button', { name: 'Review change' }));
    expect(screen.getByRole('alert').textContent).toMatch(/^Not valid JSON/);
    expect(diffs).toBe(0);

    await user.clear(editor);
    await user.paste(JSON.stringify({ ...DOC_V3, routes: [] }));
    await user.click(screen.getByRole('button', { name: 'Review change' }));
    expect((await screen.findByRole('alert')).textContent).toBe('The config is invalid/routes: must not be empty');

    await user.clear(editor);
    await user.paste(JSON.stringify(DOC_V2));
    await user.type(screen.getByLabelText('Message for the history'), 'raise limit');
    await user.click(screen.getByRole('button', { name: 'Review change' }));
    const dialog = within(await screen.findByRole('dialog', { name: 'Replace the config (1 updated)' }));
    expect(diffText(dialog.getByLabelText('Changes'), 'add').map((t) => t.trim())).toEqual(['+added: "minute": 3']);
    await user.click(dialog.getByRole('button', { name: 'Apply change' }));
    expect(await screen.findByText('Applied: the config is now version 4.')).toBeTruthy();
    expect(JSON.parse(peer.requests.find((r) => r.method === 'PUT')!.body)).toEqual(DOC_V2);
  });

  it('is read-only for a viewer and says when there are no versions', async () => {
    versions = [];
    render(<HistoryPage api={api()} session={VIEWER} />);
    expect(await screen.findByText(/No versions yet/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Edit config' })).toBeNull();
    await userEvent.setup().click(await screen.findByRole('button', { name: 'Show' }));
    expect(screen.getByLabelText('Current config document').textContent).toContain('"minute": 100');
  });

  it('hides rollback from a viewer on a version detail', async () => {
    window.history.replaceState(null, '', '/ui/history?v=1');
    render(<HistoryPage api={api()} session={VIEWER} />);
    const detail = await screen.findByRole('region', { name: 'Version 1' });
    await within(detail).findByLabelText('Changes');
    expect(screen.queryByRole('button', { name: /Roll back/ })).toBeNull();
    // Versions never change, so the detail is read once even though the list loads after it.
    expect(peer.requests.filter((r) => r.path === '/versions/1')).toHaveLength(1);
  });
});
