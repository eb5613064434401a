/**
 * Public sign-up and invitation forms against a loopback admin API stand-in: what is sent, what happens
 * next, and server-side validation errors shown on their fields.
 */
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import { AcceptInvitePage } from './accept-invite-page';
import { SignupPage } from './signup-page';

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.requests.length = 0;
});

const api = () => createApiClient({ baseUrl: peer.url, getToken: () => 'should-not-be-sent' });

describe('SignupPage', () => {
  it('signs up without a token and says the account awaits approval', async () => {
    peer.routes = { 'POST /developers/signup': () => ({ status: 201, body: { username: 'alice', status: 'pending' } }) };
    const user = userEvent.setup();
    render(<SignupPage api={api()} />);
    await user.type(screen.getByLabelText(/User name/), 'alice');
    await user.type(screen.getByLabelText(/Email/), 'alice@example.com');
    await user.type(screen.getByLabelText(/^Password/), 'a-long-password-1');
    await user.click(screen.getByRole('button', { name: 'Create account' }));

    expect((await screen.findByRole('status')).textContent).toMatch(/alice waits for an administrator's approval/);
    expect(screen.getByRole('link', { name: 'Go to sign in' }).getAttribute('href')).toBe('/ui/apps');
    expect(peer.requests).toHaveLength(1);
    expect(peer.requests[0]!.authorization).toBeUndefined();
    expect(JSON.parse(peer.requests[0]!.body)).toEqual({ username: 'alice', password: 'a-long-password-1', email: 'alice@example.com' });
  });

  it('says the account is ready when sign-ups are approved at once', async () => {
    peer.routes = { 'POST /developers/signup': () => ({ status: 201, body: { username: 'bob', status: 'approved' } }) };
    const user = userEvent.setup();
    render(<SignupPage api={api()} />);
    await user.type(screen.getByLabelText(/User name/), 'bob');
    await user.type(screen.getByLabelText(/^Password/), 'a-long-password-1');
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    expect((await screen.findByRole('status')).textContent).toMatch(/bob is ready/);
    // No email typed: none sent.
    expect(JSON.parse(peer.requests[0]!.body)).toEqual({ username: 'bob', password: 'a-long-password-1' });
  });

  it('shows server validation errors on their fields and a taken name on the user name', async () => {
    peer.routes = {
      'POST /developers/signup': () => ({
        status: 400,
        body: {
          title: 'Invalid request',
          status: 400,
          code: 'GW_ERR_ADMIN_VALIDATION',
          errors: [
            { path: '/username', message: 'must match pattern "^[a-z0-9][a-z0-9_-]{1,39}$"' },
            { path: '/password', message: 'must NOT have fewer than 12 characters' },
          ],
        },
      }),
    };
    const user = userEvent.setup();
    render(<SignupPage api={api()} />);
    await user.type(screen.getByLabelText(/User name/), 'Alice.X');
    await user.type(screen.getByLabelText(/^Password/), 'short');
    await user.click(screen.getByRole('button', { name: 'Create account' }));

    expect(await screen.findByText('must NOT have fewer than 12 characters')).toBeTruthy();
    const name = screen.getByLabelText(/User name/);
    expect(name.getAttribute('aria-invalid')).toBe('true');
    expect(name.getAttribute('aria-describedby')).toContain('signup-username-error');
    expect(screen.getByText(/must match pattern/).id).toBe('signup-username-error');
    expect(screen.getByLabelText(/^Password/).getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByLabelText(/Email/).getAttribute('aria-invalid')).toBeNull();
    // Still the form: nothing typed is lost.
    expect((name as HTMLInputElement).value).toBe('Alice.X');

    peer.routes = { 'POST /developers/signup': () => ({ status: 409, body: { title: 'Conflict', status: 409, code: 'GW_ERR_ADMIN_CONFLICT', detail: "the user name 'alice' is taken" } }) };
    await user.clear(name);
    await user.type(name, 'alice');
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findByText('This user name is taken. Choose another.')).toBeTruthy();
    expect(screen.queryByText('must NOT have fewer than 12 characters')).toBeNull();
  });
});

describe('AcceptInvitePage', () => {
  it('takes the token from the link, refuses differing passwords, and reports an invalid invitation', async () => {
    window.history.replaceState(null, '', '/ui/accept-invite?token=gdi_abc.def');
    peer.routes = { 'POST /developers/accept-invite': () => ({ status: 400, body: { title: 'Invalid', status: 400, code: 'GW_ERR_DEVELOPER_INVITE_INVALID' } }) };
    const user = userEvent.setup();
    render(<AcceptInvitePage api={api()} />);
    expect((screen.getByLabelText('Invitation token') as HTMLInputElement).value).toBe('gdi_abc.def');
    await user.type(screen.getByLabelText(/^Password/), 'a-long-password-1');
    await user.type(screen.getByLabelText(/^Repeat the password/), 'another-password');
    expect(screen.getByText('The passwords differ.')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Accept invitation' }) as HTMLButtonElement).disabled).toBe(true);
    await user.clear(screen.getByLabelText(/^Repeat the password/));
    await user.type(screen.getByLabelText(/^Repeat the password/), 'a-long-password-1');
    await user.click(screen.getByRole('button', { name: 'Accept invitation' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/invalid, expired or already used/);
    expect(JSON.parse(peer.requests[0]!.body)).toEqual({ token: 'gdi_abc.def', password: 'a-long-password-1' });

    peer.routes = { 'POST /developers/accept-invite': () => ({ status: 201, body: { username: 'carol', status: 'approved' } }) };
    await user.click(screen.getByRole('button', { name: 'Accept invitation' }));
    expect((await screen.findByRole('status')).textContent).toMatch(/carol is ready/);
  });
});
