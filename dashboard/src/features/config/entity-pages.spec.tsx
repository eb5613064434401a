/**
 * The services list page end to end against a loopback admin API stand-in: create through the generated
 * form and the change review, the list refreshing after apply, a 400's errors[] landing on the field,
 * a 409 on delete explained in the dialog, server-side search, and a viewer seeing no edit controls.
 */
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import type { Session } from '../auth/session';
import { EntityDetailPage } from './entity-detail-page';
import { EntityListPage } from './entity-list-page';
import { SERVICES_SCHEMA } from './test-fixtures';

const USERS = { name: 'users', url: 'http://users.internal:8080', connect_timeout: 5000, enabled: true, tags: [] };
const page = (data: unknown[]) => ({ data, total: data.length, offset: 0, limit: 100, next: null });
const operator: Session = { token: 'tok', username: 'ops', role: 'operator', expiresAt: Date.now() + 3_600_000 };
const viewer: Session = { ...operator, username: 'eve', role: 'viewer' };

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.requests.length = 0;
  window.history.replaceState(null, '', '/ui/services');
});

function api() {
  return createApiClient({ baseUrl: peer.url, getToken: () => 'tok' });
}

describe('services pages', () => {
  it('creates a service: form, review of the diff, apply, list refreshed', async () => {
    const services: Record<string, unknown>[] = [USERS];
    peer.routes = {
      'GET /services': () => ({ body: page(services) }),
      'GET /schemas/services': () => ({ body: SERVICES_SCHEMA }),
      'POST /services': (req) => {
        const body = JSON.parse(req.body) as Record<string, unknown>;
        services.push(body);
        return { status: 201, body };
      },
    };
    render(<EntityListPage api={api()} session={operator} kind="services" />);
    const list = within(await screen.findByRole('region', { name: 'Services' }));
    await list.findByText('users');

    await userEvent.click(list.getByRole('button', { name: 'New service' }));
    expect(window.location.search).toBe('?new=1');
    await userEvent.type(await screen.findByLabelText(/^Name/), 'orders');
    await userEvent.type(screen.getByLabelText('Url'), 'http://orders.internal:8080');
    await userEvent.click(screen.getByRole('button', { name: 'Review and save' }));

    const dialog = within(await screen.findByRole('dialog', { name: 'Review: create service' }));
    const diff = dialog.getByLabelText('Changes').textContent!;
    expect(diff).toContain('+added:   "name": "orders"');
    expect(diff).toContain('+added:   "url": "http://orders.internal:8080"');
    expect(peer.requests.some((r) => r.method === 'POST')).toBe(false);
    await userEvent.click(dialog.getByRole('button', { name: 'Create service' }));

    await list.findByText('orders');
    const post = peer.requests.find((r) => r.method === 'POST')!;
    expect(JSON.parse(post.body)).toMatchObject({ name: 'orders', url: 'http://orders.internal:8080', connect_timeout: 5000, enabled: true });
    expect(post.authorization).toBe('Bearer tok');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByRole('status', { name: '' }).textContent).toBe('Created service orders.');
    expect(window.location.search).toBe('');
    expect(peer.requests.filter((r) => r.method === 'GET' && r.path === '/services')).toHaveLength(2);
  });

  it("puts a 400's errors[] on the fields and keeps what was typed", async () => {
    peer.routes = {
      'GET /services': () => ({ body: page([USERS]) }),
      'GET /schemas/services': () => ({ body: SERVICES_SCHEMA }),
      'POST /services': () => ({
        status: 400,
        body: {
          title: 'The request body is invalid',
          status: 400,
          code: 'GW_ERR_ADMIN_VALIDATION',
          errors: [
            { path: '/url', message: '`url` cannot be combined with protocol/host/port/path' },
            { path: '/', message: 'needs `url` or `host`' },
          ],
        },
      }),
    };
    window.history.replaceState(null, '', '/ui/services?new=1');
    render(<EntityListPage api={api()} session={operator} kind="services" />);
    await userEvent.type(await screen.findByLabelText(/^Name/), 'orders');
    await userEvent.type(screen.getByLabelText('Url'), 'http://orders:1');
    await userEvent.type(screen.getByLabelText('Host'), 'orders');
    await userEvent.click(screen.getByRole('button', { name: 'Review and save' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Create service' }));

    const url = screen.getByLabelText('Url');
    await waitFor(() => expect(url.getAttribute('aria-invalid')).toBe('true'));
    const described = url.getAttribute('aria-describedby')!.split(' ').map((id) => document.getElementById(id)!.textContent);
    expect(described).toContain('`url` cannot be combined with protocol/host/port/path');
    expect(screen.queryByRole('dialog')).toBeNull();
    const summary = within(screen.getByRole('group', { name: 'New service' })).getByRole('alert');
    expect(summary.textContent).toContain('needs `url` or `host`');
    expect((screen.getByLabelText('Host') as HTMLInputElement).value).toBe('orders');
  });

  it('explains a 409 on delete in the review dialog, and deletes after review otherwise', async () => {
    let referenced = true;
    peer.routes = {
      'GET /services': () => ({ body: page(referenced ? [USERS] : []) }),
      'DELETE /services/users': () =>
        referenced
          ? { status: 409, body: { title: 'The entity references a missing entity, or is still referenced', status: 409, code: 'GW_ERR_ADMIN_REFERENCE', detail: "service 'users' is still referenced: route 'users-api'" } }
          : { status: 204, body: '' },
    };
    render(<EntityListPage api={api()} session={operator} kind="services" />);
    await userEvent.click(await screen.findByRole('button', { name: 'Delete users' }));
    const dialog = within(await screen.findByRole('dialog', { name: 'Delete service users?' }));
    expect(dialog.getByLabelText('Changes').textContent).toContain('−removed:   "name": "users"');
    await userEvent.click(dialog.getByRole('button', { name: 'Delete service' }));
    const alert = await dialog.findByRole('alert');
    expect(alert.textContent).toContain('Not applied: this is still in use');
    expect(alert.textContent).toContain("route 'users-api'");

    referenced = false;
    await userEvent.click(dialog.getByRole('button', { name: 'Delete service' }));
    expect(await screen.findByText('No services yet.')).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('searches on the server through the q query parameter', async () => {
    peer.routes = {
      'GET /services': () => ({ body: page([USERS]) }),
      'GET /services?search=ord': () => ({ body: page([]) }),
    };
    render(<EntityListPage api={api()} session={operator} kind="services" />);
    await screen.findByText('users');
    await userEvent.type(screen.getByRole('searchbox', { name: 'Search services' }), 'ord');
    expect(await screen.findByText('No services match “ord”.')).toBeTruthy();
    expect(window.location.search).toBe('?q=ord');
  });

  it('shows a viewer the list and the detail page without any edit control', async () => {
    peer.routes = {
      'GET /services': () => ({ body: page([USERS]) }),
      'GET /services/users': () => ({ body: USERS }),
      'GET /services/users/routes': () => ({ body: page([{ name: 'users-api', service: 'users', paths: ['/users'], methods: [], hosts: [], enabled: true }]) }),
      'GET /plugins?service=users': () => ({ body: page([]) }),
    };
    const { unmount } = render(<EntityListPage api={api()} session={viewer} kind="services" />);
    await screen.findByText('users');
    expect(screen.queryByRole('button', { name: /New|Edit|Delete/ })).toBeNull();
    unmount();

    window.history.replaceState(null, '', '/ui/services/users?edit=1');
    render(<EntityDetailPage api={api()} session={viewer} kind="services" entityKey="users" />);
    await screen.findByRole('link', { name: 'users-api' });
    expect(screen.getByText('http://users.internal:8080')).toBeTruthy();
    expect(await screen.findByText('None.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: /New|Edit|Delete|Add/ })).toBeNull();
    expect(screen.queryByRole('group', { name: /Edit service/ })).toBeNull();
  });
});
