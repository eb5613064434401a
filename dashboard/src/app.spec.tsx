/**
 * Tests of the shell's session flow: sign in, see the status page, sign out, and lose the session on a 401.
 */
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { App } from './app';
import { saveSession } from './features/auth/session';
import { startAdminPeer, type AdminPeer } from './test-support/admin-peer';
import { EMPTY_PAGE, LOGIN_OK, ROUTES, SERVICES, STATUS } from './test-support/fixtures';

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  // A deep link: the session flow is the same on every page, and the status page needs no live socket.
  window.history.replaceState(null, '', '/ui/system');
  peer.requests.length = 0;
  peer.routes = {
    'POST /auth/login': (req) =>
      (JSON.parse(req.body) as { password: string }).password === 'right'
        ? { body: LOGIN_OK }
        : { status: 401, body: { title: 'Authentication required', status: 401, code: 'GW_ERR_ADMIN_UNAUTHORIZED' } },
    'GET /status': (req) =>
      req.authorization === 'Bearer jwt-abc'
        ? { body: STATUS }
        : { status: 401, body: { title: 'Authentication required', status: 401, code: 'GW_ERR_ADMIN_UNAUTHORIZED' } },
    'GET /services': () => ({ body: SERVICES }),
    'GET /routes': () => ({ body: ROUTES }),
  };
});

describe('App', () => {
  it('signs in, keeps the token in sessionStorage, shows the status page, and signs out', async () => {
    const user = userEvent.setup();
    render(<App baseUrl={peer.url} />);
    await user.type(screen.getByLabelText('User name'), 'ada');
    await user.type(screen.getByLabelText('Password'), 'right');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('heading', { name: 'Status' })).toBeTruthy();
    expect(await screen.findByText('1d 2h 3m')).toBeTruthy();
    expect(screen.getByText('ada')).toBeTruthy();
    expect(JSON.parse(sessionStorage.getItem('gatehouse.session') ?? '{}')).toMatchObject({ token: 'jwt-abc', username: 'ada' });
    expect(peer.requests.find((r) => r.path === '/status')?.authorization).toBe('Bearer jwt-abc');

    await user.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeTruthy();
    expect(sessionStorage.getItem('gatehouse.session')).toBeNull();
  });

  it('resumes a stored session without signing in again', async () => {
    saveSession({ token: 'jwt-abc', username: 'ada', role: 'admin', expiresAt: Date.now() + 60_000 });
    peer.routes['GET /services'] = () => ({ body: EMPTY_PAGE });
    render(<App baseUrl={peer.url} />);
    expect(await screen.findByText('No services yet.')).toBeTruthy();
    expect(peer.requests.some((r) => r.path === '/auth/login')).toBe(false);
  });

  it('ignores an expired stored session', () => {
    saveSession({ token: 'jwt-abc', username: 'ada', role: 'admin', expiresAt: Date.now() - 1 });
    render(<App baseUrl={peer.url} />);
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeTruthy();
    expect(sessionStorage.getItem('gatehouse.session')).toBeNull();
  });

  it('goes back to sign-in with a notice when the API answers 401', async () => {
    saveSession({ token: 'revoked', username: 'ada', role: 'admin', expiresAt: Date.now() + 60_000 });
    render(<App baseUrl={peer.url} />);
    expect((await screen.findByRole('status')).textContent).toBe('Your session has ended. Sign in again.');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeTruthy();
    expect(sessionStorage.getItem('gatehouse.session')).toBeNull();
  });

  it('lands on the role\'s start page from the root: Overview for staff, the portal for developers', async () => {
    window.history.replaceState(null, '', '/');
    saveSession({ token: 'jwt-abc', username: 'ada', role: 'viewer', expiresAt: Date.now() + 60_000 });
    const { unmount } = render(<App baseUrl={peer.url} />);
    await waitFor(() => expect(window.location.pathname).toBe('/ui/overview'));
    unmount();
    window.history.replaceState(null, '', '/ui');
    saveSession({ token: 'jwt-dev', username: 'dev', role: 'developer', expiresAt: Date.now() + 60_000 });
    render(<App baseUrl={peer.url} />);
    await waitFor(() => expect(window.location.pathname).toBe('/ui/apps'));
  });

  it('tells a developer that an operator page is not for them', async () => {
    saveSession({ token: 'jwt-dev', username: 'dev', role: 'developer', expiresAt: Date.now() + 60_000 });
    render(<App baseUrl={peer.url} />);
    expect(await screen.findByRole('heading', { name: 'Not available to your account' })).toBeTruthy();
    expect(screen.queryByRole('link', { name: 'System' })).toBeNull();
  });

  it('shows a wrong password without leaving the sign-in page', async () => {
    const user = userEvent.setup();
    render(<App baseUrl={peer.url} />);
    await user.type(screen.getByLabelText('User name'), 'ada');
    await user.type(screen.getByLabelText('Password'), 'wrong');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Wrong user name or password.');
    expect(sessionStorage.getItem('gatehouse.session')).toBeNull();
  });
});
