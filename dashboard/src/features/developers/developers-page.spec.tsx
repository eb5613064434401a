/**
 * Developer management against a loopback admin API stand-in: the list, approval and groups through the
 * change review (admin), an invitation link shown once, and what operators and viewers are offered.
 */
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import { DevelopersPage, parseGroups, type Developer } from './developers-page';

const DEVS: { data: Developer[] } = {
  data: [
    { username: 'alice', status: 'pending', groups: [], email: 'alice@example.com', applications: 0, created_at: '2026-11-27T10:00:00.000Z' },
    { username: 'bob', status: 'approved', groups: ['partners'], applications: 2, created_at: '2026-11-20T10:00:00.000Z' },
  ],
};

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.requests.length = 0;
  peer.routes = { 'GET /developers': () => ({ body: DEVS }) };
});

const api = () => createApiClient({ baseUrl: peer.url, getToken: () => 'tok' });
const rowOf = (name: string) => within(screen.getByText(name).closest('tr')!);

describe('DevelopersPage', () => {
  it('lists developers and lets an admin approve after reviewing the change', async () => {
    peer.routes['POST /developers/alice/approve'] = () => ({ body: { ...DEVS.data[0], status: 'approved' } });
    const user = userEvent.setup();
    render(<DevelopersPage api={api()} role="admin" origin="https://gw.example" />);
    await screen.findByText('alice');
    expect(rowOf('alice').getByText('pending')).toBeTruthy();
    expect(rowOf('alice').getByText('alice@example.com')).toBeTruthy();
    expect(rowOf('bob').getByText('partners')).toBeTruthy();
    expect(rowOf('bob').queryByRole('button', { name: /Approve/ })).toBeNull();

    await user.click(rowOf('alice').getByRole('button', { name: 'Approve alice' }));
    const dialog = within(await screen.findByRole('dialog'));
    expect(dialog.getByText('Approve developer alice')).toBeTruthy();
    expect(dialog.getByText(/"status": "approved"/)).toBeTruthy();
    await user.click(dialog.getByRole('button', { name: 'Approve' }));
    await expect.poll(() => peer.requests.filter((r) => r.path === '/developers').length).toBe(2);
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(peer.requests.find((r) => r.path === '/developers/alice/approve')!.method).toBe('POST');
  });

  it("sets a developer's groups through the review", async () => {
    peer.routes['POST /developers/bob/restrict'] = () => ({ body: DEVS.data[1] });
    const user = userEvent.setup();
    render(<DevelopersPage api={api()} role="admin" />);
    await user.click(await screen.findByRole('button', { name: 'Set groups of bob' }));
    const input = screen.getByLabelText('Groups of bob');
    await user.clear(input);
    await user.type(input, 'partners, beta beta');
    await user.click(screen.getByRole('button', { name: 'Review' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Apply groups' }));
    await expect.poll(() => peer.requests.find((r) => r.path === '/developers/bob/restrict')?.body).toBe(JSON.stringify({ groups: ['partners', 'beta'] }));
    expect(parseGroups(' a,,b  a ')).toEqual(['a', 'b']);
  });

  it('shows the invitation link once, and field errors of the invitation', async () => {
    peer.routes['POST /developers/invitations'] = (req) => {
      const body = JSON.parse(req.body) as { username: string };
      if (body.username === 'alice') return { status: 409, body: { title: 'Conflict', status: 409, code: 'GW_ERR_ADMIN_CONFLICT' } };
      return { status: 201, body: { username: body.username, token: 'gdi_tok.mac', expires_at: '2026-12-04T10:00:00.000Z' } };
    };
    const user = userEvent.setup();
    render(<DevelopersPage api={api()} role="admin" origin="https://gw.example" />);
    await screen.findByText('alice');
    const form = within(screen.getByRole('region', { name: 'Invite a developer' }));
    await user.type(form.getByLabelText(/^User name/), 'alice');
    await user.click(form.getByRole('button', { name: 'Create invitation' }));
    expect(await form.findByText('This user name is taken.')).toBeTruthy();

    await user.clear(form.getByLabelText(/^User name/));
    await user.type(form.getByLabelText(/^User name/), 'carol');
    await user.type(form.getByLabelText(/^Groups/), 'partners');
    await user.selectOptions(form.getByLabelText('Valid for'), '1 day');
    await user.click(form.getByRole('button', { name: 'Create invitation' }));
    const link = (await screen.findByTestId('new-secret')) as HTMLInputElement;
    expect(link.value).toBe('https://gw.example/ui/accept-invite?token=gdi_tok.mac');
    expect(JSON.parse(peer.requests.filter((r) => r.path === '/developers/invitations').at(-1)!.body)).toEqual({ username: 'carol', expires_in_seconds: 86_400, groups: ['partners'] });
    await user.click(screen.getByRole('button', { name: 'I have saved the invitation link' }));
    expect(screen.queryByTestId('new-secret')).toBeNull();
  });

  it('gives operators the list without admin controls, and viewers a notice without a request', async () => {
    const { unmount } = render(<DevelopersPage api={api()} role="operator" />);
    await screen.findByText('alice');
    expect(screen.queryByRole('button', { name: /Approve/ })).toBeNull();
    expect(screen.queryByRole('region', { name: 'Invite a developer' })).toBeNull();
    unmount();
    peer.requests.length = 0;
    render(<DevelopersPage api={api()} role="viewer" />);
    expect(screen.getByText(/visible to operators and administrators/)).toBeTruthy();
    expect(peer.requests).toHaveLength(0);
  });
});
