/** My applications against a loopback admin API stand-in: list, create (with a server field error), delete after review. */
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import { AppsPage } from './apps-page';
import { APPS } from './fixtures';

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.requests.length = 0;
});

describe('AppsPage', () => {
  it('lists, creates and deletes applications', async () => {
    let apps = APPS.data;
    peer.routes = {
      'GET /me/applications': () => ({ body: { data: apps } }),
      'POST /me/applications': (req) => {
        const { name } = JSON.parse(req.body) as { name: string };
        if (name !== 'new-app') return { status: 400, body: { title: 'Invalid', status: 400, code: 'GW_ERR_ADMIN_VALIDATION', errors: [{ path: '/name', message: 'must match pattern' }] } };
        apps = [...apps, { name, consumer: `dev.alice.${name}`, groups: [], keys: 0 }];
        return { status: 201, body: apps.at(-1) };
      },
      'DELETE /me/applications/tools': () => {
        apps = apps.filter((a) => a.name !== 'tools');
        return { status: 204 };
      },
    };
    const user = userEvent.setup();
    render(<AppsPage api={createApiClient({ baseUrl: peer.url, getToken: () => 'dev' })} />);
    expect((await screen.findByRole('link', { name: 'shop' })).getAttribute('href')).toBe('/ui/apps/shop');
    expect(within(screen.getByText('dev.alice.shop').closest('tr')!).getByText('partners')).toBeTruthy();

    await user.type(screen.getByLabelText('Name'), 'Bad Name');
    await user.click(screen.getByRole('button', { name: 'Create application' }));
    expect(await screen.findByText('must match pattern')).toBeTruthy();
    expect(screen.getByLabelText('Name').getAttribute('aria-invalid')).toBe('true');
    await user.clear(screen.getByLabelText('Name'));
    await user.type(screen.getByLabelText('Name'), 'new-app');
    await user.click(screen.getByRole('button', { name: 'Create application' }));
    expect(await screen.findByRole('link', { name: 'new-app' })).toBeTruthy();
    expect(screen.queryByText('must match pattern')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Delete tools' }));
    const dialog = within(await screen.findByRole('dialog'));
    expect(dialog.getByText('Delete application tools and its keys')).toBeTruthy();
    await user.click(dialog.getByRole('button', { name: 'Delete application' }));
    await expect.poll(() => screen.queryByRole('link', { name: 'tools' })).toBeNull();
    expect(peer.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual(['/me/applications/tools']);
  });

  it('has an empty state', async () => {
    peer.routes = { 'GET /me/applications': () => ({ body: { data: [] } }) };
    render(<AppsPage api={createApiClient({ baseUrl: peer.url })} />);
    expect(await screen.findByText(/No applications yet/)).toBeTruthy();
  });
});
