/**
 * Tests of the Limits page against a loopback admin API stand-in: global and overrides merged in one
 * table with the effective limit per route and service, live 429 counts, the add → review → apply
 * flow, server validation errors on the field, removal, and the read-only viewer.
 */
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { gate, startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import type { Session } from '../auth/session';
import { ADMIN_ROUTE, AVAILABLE, CONCURRENCY, CONSUMER, CONSUMERS, DISABLED_ROUTE, GLOBAL, ORDERS, page, ROUTES, SERVICES } from './fixtures';
import { LimitsPage, type LiveLimited } from './limits-page';
import type { PluginInstance } from './model';

const OPERATOR: Session = { token: 'tok', username: 'ops', role: 'operator', expiresAt: Date.now() + 3_600_000 };
const VIEWER: Session = { ...OPERATOR, username: 'vic', role: 'viewer' };

let peer: AdminPeer;
let rate: PluginInstance[];
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.requests.length = 0;
  rate = [CONSUMER, ADMIN_ROUTE, ORDERS, DISABLED_ROUTE, GLOBAL];
  peer.routes = {
    'GET /plugins-available': () => ({ body: AVAILABLE }),
    'GET /plugins?name=rate-limiting&limit=1000': () => ({ body: page(rate) }),
    'GET /plugins?name=concurrency-limit&limit=1000': () => ({ body: page([CONCURRENCY]) }),
    'GET /services?limit=1000': () => ({ body: SERVICES }),
    'GET /routes?limit=1000': () => ({ body: ROUTES }),
    'GET /consumers?limit=1000': () => ({ body: CONSUMERS }),
  };
});

const api = () => createApiClient({ baseUrl: peer.url, getToken: () => 'tok' });
const cells = (row: HTMLElement) => within(row).getAllByRole('cell').map((c) => c.textContent);
const rowsOf = (name: string) => within(screen.getByRole('table', { name })).getAllByRole('row').slice(1);

describe('LimitsPage', () => {
  it('merges the global limit and every override into one table and shows what applies where', async () => {
    const held = gate();
    peer.routes['GET /plugins-available'] = () => ({ body: AVAILABLE, wait: held.promise });
    const live: LiveLimited = { status: 'live', seconds: 60, total: 7, byRoute: new Map([['orders-api', 7]]), byService: new Map([['orders', 7]]) };
    render(<LimitsPage api={api()} session={OPERATOR} live={live} />);
    expect(screen.getByRole('status', { name: 'Loading limits' })).toBeTruthy();
    held.open();

    await screen.findByRole('table', { name: 'Configured limits' });
    expect(rowsOf('Configured limits').map((r) => cells(r).slice(0, 8))).toEqual([
      ['Global', 'rate', '100/min · 1000/h', '—', 'ip', 'redis', 'fail-open', 'enabled'],
      ['Service orders', 'concurrency', 'max 5 in flight', '—', 'ip', 'local', 'fail-open', 'enabled'],
      ['Service orders', 'rate', '10/min', '500/day (UTC)', 'consumer + route', 'local', 'fail-open', 'enabled'],
      ['Route users-admin · ignores global', 'rate', '2/s (sliding-window)', '—', 'header x-tenant', 'local', 'fail-closed', 'enabled'],
      ['Route users-api', 'rate', '1/s', '—', 'ip', 'local', 'fail-open', 'disabled'],
      ['Consumer alice', 'rate', '5000/h', '—', 'consumer', 'local', 'fail-open', 'enabled'],
    ]);

    const routeRows = rowsOf('Effective limit per route');
    const byRoute = Object.fromEntries(routeRows.map((r) => [within(r).getByRole('rowheader').textContent, cells(r)]));
    // The disabled route override does not run: the global limit applies there.
    expect(byRoute['users-api']).toEqual([
      'users',
      '100/min · 1000/h per ip',
      'global The global limit applies (no override).1 consumer override',
      'none',
      '0',
    ]);
    expect(byRoute['users-admin']!.slice(1, 3)).toEqual([
      '2/s per header x-tenant',
      'route override The route override replaces the global limit here (inherit_global is off).1 consumer override',
    ]);
    expect(byRoute['orders-api']).toEqual([
      'orders',
      '10/min · quota 500/day (UTC) per consumer + route+ global 100/min · 1000/h',
      'service override The service override replaces the global limit here; the global limit (100/min · 1000/h) is still enforced across all services.1 consumer override',
      'max 5 in flight (service override)',
      '7',
    ]);
    const services = rowsOf('Effective limit per service').map((r) => [within(r).getByRole('rowheader').textContent, cells(r)[0], cells(r)[1], cells(r)[3]]);
    expect(services).toEqual([
      ['users', '100/min · 1000/h per ip', 'global', '0'],
      ['orders', '10/min · quota 500/day (UTC) per consumer + route+ global 100/min · 1000/h', 'service override', '7'],
    ]);
    expect(screen.getByTestId('limited-total').textContent).toBe('7');
    expect(peer.requests.every((r) => r.authorization === 'Bearer tok')).toBe(true);
  });

  it('adds a global limit through the change review, then shows it', async () => {
    const user = userEvent.setup();
    rate = [];
    peer.routes['GET /plugins?name=concurrency-limit&limit=1000'] = () => ({ body: page([]) });
    let posted: unknown;
    peer.routes['POST /plugins'] = (req) => {
      posted = JSON.parse(req.body);
      rate = [{ ...GLOBAL, config: { limit_by: ['ip'], minute: 3, policy: 'local', fault_policy: 'fail-open', algorithm: 'gcra' } }];
      return { status: 201, body: rate[0] };
    };
    render(<LimitsPage api={api()} session={OPERATOR} />);
    expect(await screen.findByText(/No limits yet/)).toBeTruthy();
    // Without a live stream the 429 column says it has nothing.
    expect(cells(rowsOf('Effective limit per route')[0]!)[4]).toBe('—');

    await user.click(screen.getByRole('button', { name: 'Add limit' }));
    const form = within(screen.getByRole('form', { name: 'Add a limit' }));
    await user.click(form.getByRole('button', { name: 'Review change' }));
    expect(form.getByRole('alert').textContent).toBe('Set at least one window or quota.');
    await user.type(form.getByLabelText('Per minute'), '3');
    await user.click(form.getByRole('button', { name: 'Review change' }));

    const dialog = within(screen.getByRole('dialog', { name: 'Add rate-limiting (Global)' }));
    const added = [...dialog.getByLabelText('Changes').querySelectorAll('.diff-add')].map((l) => l.textContent?.trim());
    expect(added.join('\n')).toMatch(/"minute": 3,/);
    expect(added.join('\n')).toMatch(/"limit_by": \[/);
    expect(dialog.queryByText(/"route"/)).toBeNull();
    await user.click(dialog.getByRole('button', { name: 'Add limit' }));

    expect(await screen.findByText('Add rate-limiting (Global): applied.')).toBeTruthy();
    expect(posted).toEqual({ name: 'rate-limiting', enabled: true, config: { minute: 3, limit_by: ['ip'], policy: 'local', fault_policy: 'fail-open', algorithm: 'gcra' } });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.queryByRole('form')).toBeNull();
    await expect.poll(() => rowsOf('Configured limits').map((r) => cells(r)[2])).toEqual(['3/min']);
    expect(cells(rowsOf('Effective limit per route')[0]!)[1]).toBe('3/min per ip');
  });

  it('keeps the review open with the server error and shows it on the field', async () => {
    const user = userEvent.setup();
    peer.routes[`PUT /plugins/${ORDERS.id}`] = () => ({
      status: 400,
      body: { title: 'Invalid request', status: 400, code: 'GW_ERR_ADMIN_VALIDATION', detail: '/config/minute: must be >= 1', errors: [{ path: '/config/minute', message: 'must be >= 1' }] },
    });
    render(<LimitsPage api={api()} session={OPERATOR} />);
    await user.click(await screen.findByRole('button', { name: 'Edit rate-limiting Service orders' }));
    const form = within(screen.getByRole('form', { name: 'Edit limit' }));
    expect((form.getByLabelText('Per minute') as HTMLInputElement).value).toBe('10');
    expect((form.getByLabelText('Quota per calendar day') as HTMLInputElement).value).toBe('500');
    await user.clear(form.getByLabelText('Per minute'));
    await user.type(form.getByLabelText('Per minute'), '0');
    await user.click(form.getByRole('button', { name: 'Review change' }));
    const dialog = within(screen.getByRole('dialog', { name: 'Change rate-limiting (Service orders)' }));
    await user.click(dialog.getByRole('button', { name: 'Apply change' }));
    expect((await dialog.findByRole('alert')).textContent).toContain('/config/minute: must be >= 1');
    await user.click(dialog.getByRole('button', { name: 'Cancel' }));
    expect(form.getByLabelText('Per minute').getAttribute('aria-invalid')).toBe('true');
    expect(form.getByText('must be >= 1')).toBeTruthy();
    const put = peer.requests.find((r) => r.method === 'PUT');
    expect(JSON.parse(put!.body)).toMatchObject({ name: 'rate-limiting', service: 'orders', config: { minute: 0, quota_day: 500, limit_by: ['consumer', 'route'], inherit_global: true } });
  });

  it('removes a limit after reviewing it', async () => {
    const user = userEvent.setup();
    peer.routes[`DELETE /plugins/${ADMIN_ROUTE.id}`] = () => {
      rate = rate.filter((p) => p.id !== ADMIN_ROUTE.id);
      return { status: 204, body: '' };
    };
    render(<LimitsPage api={api()} session={OPERATOR} />);
    await user.click(await screen.findByRole('button', { name: 'Remove rate-limiting Route users-admin' }));
    const dialog = within(screen.getByRole('dialog', { name: 'Remove rate-limiting (Route users-admin)' }));
    expect(dialog.getByLabelText('Changes').querySelectorAll('.diff-add')).toHaveLength(0);
    await user.click(dialog.getByRole('button', { name: 'Remove limit' }));
    await expect.poll(() => rowsOf('Configured limits').length).toBe(5);
    expect(peer.requests.some((r) => r.method === 'DELETE' && r.path === `/plugins/${ADMIN_ROUTE.id}`)).toBe(true);
  });

  it('is read-only for a viewer', async () => {
    render(<LimitsPage api={api()} session={VIEWER} />);
    await screen.findByRole('table', { name: 'Configured limits' });
    expect(screen.getByText(/Read-only/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Add limit' })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Edit / })).toBeNull();
    expect(screen.queryByRole('columnheader', { name: 'Actions' })).toBeNull();
  });

  it('shows an error with Retry when the plugins cannot be listed', async () => {
    let fail = true;
    peer.routes['GET /plugins?name=rate-limiting&limit=1000'] = () =>
      fail ? { status: 503, body: { title: 'The config store is unavailable', status: 503, code: 'GW_ERR_STORE_UNAVAILABLE' } } : { body: page([GLOBAL]) };
    render(<LimitsPage api={api()} session={OPERATOR} />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Could not load limits: The config store is unavailable');
    fail = false;
    await userEvent.setup().click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('table', { name: 'Configured limits' })).toBeTruthy();
  });
});
