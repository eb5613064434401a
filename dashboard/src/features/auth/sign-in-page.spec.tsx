/**
 * Tests of the sign-in form against a loopback admin API stand-in.
 */
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { gate, startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import { LOGIN_OK } from '../../test-support/fixtures';
import type { Session } from './session';
import { SignInPage } from './sign-in-page';

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.requests.length = 0;
});

async function fillAndSubmit(username: string, password: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText('User name'), username);
  await user.type(screen.getByLabelText('Password'), password);
  await user.click(screen.getByRole('button', { name: 'Sign in' }));
}

describe('SignInPage', () => {
  it('keeps the button disabled until both fields are filled', async () => {
    render(<SignInPage api={createApiClient({ baseUrl: peer.url })} onSignedIn={() => {}} />);
    const button = screen.getByRole('button', { name: 'Sign in' });
    expect((button as HTMLButtonElement).disabled).toBe(true);
    await userEvent.setup().type(screen.getByLabelText('User name'), 'ada');
    expect((button as HTMLButtonElement).disabled).toBe(true);
    await userEvent.setup().type(screen.getByLabelText('Password'), 'pw');
    expect((button as HTMLButtonElement).disabled).toBe(false);
  });

  it('posts the credentials and hands back a session', async () => {
    const held = gate();
    peer.routes = { 'POST /auth/login': () => ({ body: LOGIN_OK, wait: held.promise }) };
    const sessions: Session[] = [];
    render(<SignInPage api={createApiClient({ baseUrl: peer.url })} onSignedIn={(s) => sessions.push(s)} />);
    const before = Date.now();
    await fillAndSubmit('ada', 'correct horse');
    expect(await screen.findByRole('button', { name: 'Signing in…' })).toBeTruthy();
    held.open();
    await expect.poll(() => sessions.length).toBe(1);
    expect(JSON.parse(peer.requests[0]?.body ?? '')).toEqual({ username: 'ada', password: 'correct horse' });
    expect(peer.requests[0]?.authorization).toBeUndefined();
    expect(sessions[0]).toMatchObject({ token: 'jwt-abc', username: 'ada', role: 'operator' });
    expect(sessions[0]!.expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
  });

  it.each([
    { status: 401, code: 'GW_ERR_ADMIN_UNAUTHORIZED', text: 'Wrong user name or password.' },
    { status: 429, code: 'GW_ERR_ADMIN_RATE_LIMITED', text: 'Too many attempts. Wait a minute and try again.' },
    { status: 500, code: 'GW_ERR_INTERNAL', text: 'Internal gateway error' },
  ])('shows an error for $status and lets the user retry', async ({ status, code, text }) => {
    peer.routes = { 'POST /auth/login': () => ({ status, body: { title: 'Internal gateway error', status, code } }) };
    const sessions: Session[] = [];
    render(<SignInPage api={createApiClient({ baseUrl: peer.url })} onSignedIn={(s) => sessions.push(s)} />);
    await fillAndSubmit('ada', 'wrong');
    expect((await screen.findByRole('alert')).textContent).toBe(text);
    expect(sessions).toHaveLength(0);
    expect((screen.getByRole('button', { name: 'Sign in' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('shows a notice passed in (e.g. an expired session)', () => {
    render(<SignInPage api={createApiClient({ baseUrl: peer.url })} onSignedIn={() => {}} notice="Your session has expired." />);
    expect(screen.getByRole('status').textContent).toBe('Your session has expired.');
  });
});
