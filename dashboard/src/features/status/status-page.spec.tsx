/**
 * Tests of the status page's loading, data, empty and error states against a loopback admin API stand-in.
 */
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { gate, startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import { EMPTY_PAGE, ROUTES, SERVICES, STATUS } from '../../test-support/fixtures';
import { StatusPage } from './status-page';

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.requests.length = 0;
});

function section(name: string) {
  return within(screen.getByRole('region', { name }));
}

describe('StatusPage', () => {
  it('shows loading states, then the status and both lists', async () => {
    const held = gate();
    peer.routes = {
      'GET /status': () => ({ body: STATUS, wait: held.promise }),
      'GET /services': () => ({ body: SERVICES, wait: held.promise }),
      'GET /routes': () => ({ body: ROUTES, wait: held.promise }),
    };
    render(<StatusPage api={createApiClient({ baseUrl: peer.url, getToken: () => 'tok' })} />);
    expect(section('Gateway').getByRole('status').getAttribute('aria-label')).toBe('Loading gateway');
    expect(section('Services').getByRole('status').getAttribute('aria-label')).toBe('Loading services');
    held.open();

    const gateway = section('Gateway');
    expect((await gateway.findByText('Uptime')).nextElementSibling?.textContent).toBe('1d 2h 3m');
    expect(gateway.getByText('Version').nextElementSibling?.textContent).toBe('0.1.0');
    expect(gateway.getByText('Config version').nextElementSibling?.textContent).toBe('12');
    expect(gateway.getByText('Routes').nextElementSibling?.textContent).toBe('2');
    expect(gateway.getByText('Connections').nextElementSibling?.textContent).toBe('3 active / 1204 total');

    const services = section('Services');
    await services.findByText('orders');
    const serviceRows = services.getAllByRole('row').slice(1).map((r) => r.textContent);
    expect(serviceRows).toEqual(['usershttp://users.internal:8080enabled', 'ordershttps://orders:8443/v1disabled']);

    const routes = section('Routes');
    await routes.findByText('maintenance');
    const routeRows = routes.getAllByRole('row').slice(1).map((r) => within(r).getAllByRole('cell').map((c) => c.textContent));
    expect(routeRows).toEqual([
      ['users-api', 'users', '/users =/me', 'GET, POST', 'any'],
      ['maintenance', 'none', 'any', 'any', 'api.example.com'],
    ]);
    expect(routes.getByText('Showing 2 of 3 routes.')).toBeTruthy();
    expect(peer.requests.every((r) => r.authorization === 'Bearer tok')).toBe(true);
  });

  it('shows empty states', async () => {
    peer.routes = {
      'GET /status': () => ({ body: { ...STATUS, routes: 0 } }),
      'GET /services': () => ({ body: EMPTY_PAGE }),
      'GET /routes': () => ({ body: EMPTY_PAGE }),
    };
    render(<StatusPage api={createApiClient({ baseUrl: peer.url })} />);
    expect(await section('Services').findByText('No services yet.')).toBeTruthy();
    expect(await section('Routes').findByText('No routes yet.')).toBeTruthy();
  });

  it('shows an error per section and recovers on retry', async () => {
    let fail = true;
    peer.routes = {
      'GET /status': () => ({ body: STATUS }),
      'GET /services': () =>
        fail
          ? { status: 503, body: { title: 'The config store is unavailable', status: 503, code: 'GW_ERR_STORE_UNAVAILABLE', detail: 'connection refused' } }
          : { body: SERVICES },
      'GET /routes': () => ({ body: ROUTES }),
    };
    render(<StatusPage api={createApiClient({ baseUrl: peer.url })} />);
    const alert = await section('Services').findByRole('alert');
    expect(alert.textContent).toContain('Could not load services: The config store is unavailable: connection refused');
    // The other sections are unaffected by one failing.
    expect(await section('Routes').findByText('users-api')).toBeTruthy();

    fail = false;
    await userEvent.setup().click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(await section('Services').findByText('users')).toBeTruthy();
    expect(section('Services').queryByRole('alert')).toBeNull();
  });

  it('warns about an unreachable store and snapshot errors', async () => {
    peer.routes = {
      'GET /status': () => ({
        body: { ...STATUS, store_reachable: false, store_error: 'ECONNREFUSED', snapshot_errors: [{ path: '/plugins/2', message: 'bad regex' }] },
      }),
      'GET /services': () => ({ body: EMPTY_PAGE }),
      'GET /routes': () => ({ body: EMPTY_PAGE }),
    };
    render(<StatusPage api={createApiClient({ baseUrl: peer.url })} />);
    const gateway = section('Gateway');
    expect((await gateway.findByRole('alert')).textContent).toContain('Config store unreachable: ECONNREFUSED');
    expect(gateway.getByText('/plugins/2').parentElement?.textContent).toBe('/plugins/2: bad regex');
    expect(gateway.getByText('Config store').nextElementSibling?.textContent).toBe('postgres (unreachable)');
  });

  it('refreshes every section', async () => {
    let version = 1;
    peer.routes = {
      'GET /status': () => ({ body: { ...STATUS, config_version: version } }),
      'GET /services': () => ({ body: EMPTY_PAGE }),
      'GET /routes': () => ({ body: EMPTY_PAGE }),
    };
    render(<StatusPage api={createApiClient({ baseUrl: peer.url })} />);
    await section('Gateway').findByText('Config version');
    version = 2;
    await userEvent.setup().click(screen.getByRole('button', { name: 'Refresh' }));
    await expect.poll(() => section('Gateway').queryByText('Config version')?.nextElementSibling?.textContent).toBe('2');
    await expect.poll(() => peer.requests.filter((r) => r.path === '/services').length).toBe(2);
  });
});
