/**
 * The application page against a loopback admin API stand-in: a new key shown once with Copy (and the
 * select-to-copy fallback), rotation with the chosen overlap and revocation through the change review,
 * limits in words, and the usage chart drawn from the data.
 */
import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import { AppDetailPage, describeLimits } from './app-detail-page';
import { EMPTY_USAGE, KEY_ID, KEYS, LIMITS, NEW_KEY, USAGE } from './fixtures';

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.requests.length = 0;
  peer.routes = {
    'GET /me/applications/shop/keys': () => ({ body: KEYS }),
    'GET /me/applications/shop/limits': () => ({ body: LIMITS }),
    'GET /me/applications/shop/usage?minutes=60': () => ({ body: USAGE }),
    'POST /me/applications/shop/keys': () => ({ status: 201, body: NEW_KEY }),
  };
});

const section = (name: string | RegExp) => within(screen.getByRole('region', { name }));
const renderPage = () => render(<AppDetailPage api={createApiClient({ baseUrl: peer.url, getToken: () => 'dev-token' })} app="shop" usageRefreshMs={0} />);

describe('AppDetailPage', () => {
  it('shows a new key once, copies it, and forgets it when dismissed', async () => {
    const user = userEvent.setup();
    renderPage();
    const keys = section('Keys of shop');
    expect(await keys.findByText(KEY_ID.slice(0, 8))).toBeTruthy();
    await user.click(keys.getByRole('button', { name: 'Generate key' }));

    const secret = (await screen.findByTestId('new-secret')) as HTMLInputElement;
    expect(secret.value).toBe(NEW_KEY.key);
    expect(screen.getByText(/shown only once/)).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Copy' }));
    expect(await navigator.clipboard.readText()).toBe(NEW_KEY.key);
    expect(screen.getByText('Copied to the clipboard.')).toBeTruthy();
    // The list is reloaded after the creation, and never carries the key itself.
    expect(peer.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/keys'))).toHaveLength(2);

    await user.click(screen.getByRole('button', { name: 'I have saved the key' }));
    expect(screen.queryByTestId('new-secret')).toBeNull();
    expect(document.body.textContent).not.toContain(NEW_KEY.key);
  });

  it('selects the key for copying by hand when the Clipboard API is missing', async () => {
    const clipboard = Object.getOwnPropertyDescriptor(navigator, 'clipboard');
    Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true });
    try {
      renderPage();
      await section('Keys of shop').findByText(KEY_ID.slice(0, 8));
      fireEvent.click(section('Keys of shop').getByRole('button', { name: 'Generate key' }));
      const secret = (await screen.findByTestId('new-secret', {}, { timeout: 3000 })) as HTMLInputElement;
      fireEvent.click(screen.getByRole('button', { name: 'Copy' }));
      expect(await screen.findByText(/The key is selected: press Ctrl\+C/)).toBeTruthy();
      expect(document.activeElement).toBe(secret);
      expect([secret.selectionStart, secret.selectionEnd]).toEqual([0, NEW_KEY.key.length]);
    } finally {
      if (clipboard) Object.defineProperty(navigator, 'clipboard', clipboard);
      else Reflect.deleteProperty(navigator, 'clipboard');
    }
  });

  it('rotates with the chosen overlap after the review, and shows the new key once', async () => {
    peer.routes[`POST /me/applications/shop/keys/${KEY_ID}/rotate`] = () => ({ status: 201, body: { key: { ...NEW_KEY, key: 'ghk_rotated_key' }, previous: { id: KEY_ID, status: 'active', expires_at: '2026-11-29T09:00:00.000Z' } } });
    const user = userEvent.setup();
    renderPage();
    const keys = section('Keys of shop');
    await keys.findByText(KEY_ID.slice(0, 8));
    // Only the active key can be rotated or revoked.
    expect(keys.getAllByRole('button', { name: /^Rotate key/ })).toHaveLength(1);
    await user.selectOptions(keys.getByLabelText(/old key keeps working/), '1 day');
    await user.click(keys.getByRole('button', { name: `Rotate key ${KEY_ID.slice(0, 8)}` }));
    const dialog = within(await screen.findByRole('dialog'));
    expect(dialog.getByText(`Rotate key ${KEY_ID.slice(0, 8)}`)).toBeTruthy();
    expect(dialog.getByText(/new key, shown once/)).toBeTruthy();
    await user.click(dialog.getByRole('button', { name: 'Rotate key' }));

    expect(((await screen.findByTestId('new-secret')) as HTMLInputElement).value).toBe('ghk_rotated_key');
    expect(screen.queryByRole('dialog')).toBeNull();
    const rotate = peer.requests.find((r) => r.path.endsWith('/rotate'))!;
    expect(rotate.method).toBe('POST');
    expect(JSON.parse(rotate.body)).toEqual({ overlap_seconds: 86_400 });
  });

  it('revokes after the review; a failure keeps the dialog open with the reason', async () => {
    let fail = true;
    peer.routes[`DELETE /me/applications/shop/keys/${KEY_ID}`] = () =>
      fail ? { status: 404, body: { title: 'Not found', status: 404, code: 'GW_ERR_ADMIN_NOT_FOUND', detail: 'no key' } } : { body: { id: KEY_ID, status: 'revoked' } };
    const user = userEvent.setup();
    renderPage();
    await user.click(await section('Keys of shop').findByRole('button', { name: `Revoke key ${KEY_ID.slice(0, 8)}` }));
    const dialog = within(await screen.findByRole('dialog'));
    await user.click(dialog.getByRole('button', { name: 'Revoke key' }));
    expect((await dialog.findByRole('alert')).textContent).toContain('no key');
    fail = false;
    await user.click(dialog.getByRole('button', { name: 'Revoke key' }));
    await screen.findByText(KEY_ID.slice(0, 8));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(peer.requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
    expect(screen.queryByTestId('new-secret')).toBeNull();
  });

  it('lists the limits in words', async () => {
    renderPage();
    const limits = section('Limits');
    expect(await limits.findByText('100 per minute, 1,000 per hour; counted per consumer')).toBeTruthy();
    expect(limits.getByText('5 per second; quota 10,000 per day')).toBeTruthy();
    expect(limits.getByText('Whole gateway')).toBeTruthy();
    expect(limits.getByText('This application')).toBeTruthy();
    expect(describeLimits({})).toBe('no numbers set');
  });

  it('draws the usage chart from the data, with totals as its text alternative, and changes the window', async () => {
    peer.routes['GET /me/applications/shop/usage?minutes=1440'] = () => ({ body: { ...EMPTY_USAGE, minutes: 1440 } });
    const user = userEvent.setup();
    const { container } = renderPage();
    const usage = section('Usage');
    expect(await usage.findByText('60 requests in the last 1 hour: 2 server errors, 3 refused by a rate limit.')).toBeTruthy();
    const plot = container.querySelector('.usage-chart .chart-plot')!;
    expect(plot.getAttribute('data-points')).toBe('60');
    // Non-zero bars only: minutes 57 (10 answered), 58 (17 answered + 3 limited), 59 (28 answered + 2 errors).
    await expect.poll(() => plot.querySelectorAll('.recharts-bar-rectangle path').length).toBe(5);

    await user.selectOptions(usage.getByLabelText('Usage window'), 'Last 24 hours');
    expect(await usage.findByText('No requests in the last 24 hours.')).toBeTruthy();
    expect(peer.requests.some((r) => r.path === '/me/applications/shop/usage?minutes=1440')).toBe(true);
  });
});
