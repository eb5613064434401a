/**
 * The Overview page against a loopback admin API stand-in and a real socket.io live stream: history on
 * connect, ticks moving the stats and charts, scope and window in the URL, top routes, breakers, target
 * health, recent 5xx, and the offline state.
 */
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import type { LiveTick } from '../../lib/live';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import { OverviewPage } from './overview-page';
import { startLivePeer, tickAt, type LivePeer } from './test-support/live-peer';
import type { RecentErrorsView } from './types';

const TOKEN = 'live-token';
const T0 = 1_750_000_005_000;

const ERRORS: RecentErrorsView = {
  total: 3,
  capacity: 500,
  counts: { upstream_5xx: 3 },
  data: [
    { at: '2025-06-15T15:06:45.000Z', request_id: 'req-7f3a', code: 'upstream_5xx', status: 502, route: 'orders', service: 'shop', method: 'GET', path: '/orders/9', target: '10.0.0.1:80' },
  ],
};

let admin: AdminPeer;
let live: LivePeer;
beforeAll(async () => {
  admin = await startAdminPeer();
});
afterAll(() => admin.close());
beforeEach(async () => {
  window.history.replaceState(null, '', '/ui/overview');
  live = await startLivePeer(TOKEN);
  live.history = Array.from({ length: 120 }, (_, i) => tickAt(T0 + i * 1000, { rps: 5, route: 'orders', service: 'shop' }));
  admin.routes = {
    'GET /services?limit=1000': () => ({ body: { data: [{ name: 'shop' }, { name: 'billing' }], total: 2, offset: 0, limit: 1000 } }),
    'GET /routes?limit=1000': () => ({ body: { data: [{ name: 'orders' }, { name: 'invoices' }], total: 2, offset: 0, limit: 1000 } }),
    'GET /upstreams?limit=1000': () => ({
      body: {
        data: [
          { name: 'shop-pool', targets: [{ target: '10.0.0.1:80', weight: 100 }, { target: '10.0.0.2:80', weight: 100 }] },
          { name: 'plain', targets: [{ target: '10.0.1.1:80', weight: 100 }] },
        ],
        total: 2,
        offset: 0,
        limit: 1000,
      },
    }),
    'GET /resilience': () => ({
      body: {
        targets: [
          { upstream: 'shop-pool', target: '10.0.0.1:80', up: true, reason: 'probe ok', since: 0 },
          { upstream: 'shop-pool', target: '10.0.0.2:80', up: false, reason: 'connect refused', since: 0 },
        ],
      },
    }),
    'GET /errors?limit=10': () => ({ body: ERRORS }),
  };
});
afterEach(async () => {
  await live.close();
});

function page(token = TOKEN) {
  return render(<OverviewPage api={createApiClient({ baseUrl: admin.url, getToken: () => 'admin-token' })} baseUrl={live.url} token={token} />);
}
const stat = (id: string) => screen.getByTestId(id).textContent;
const push = (t: LiveTick) => act(() => live.emitTick(t));

describe('OverviewPage', () => {
  it('draws the last 5 minutes from the history at once, then follows each tick', async () => {
    page();
    expect(screen.getByRole('status', { name: 'Connecting to the live stream' })).toBeTruthy();
    await screen.findByText('Live');
    await waitFor(() => expect(stat('stat-rps')).toBe('5'));
    expect(live.historyRequests).toEqual([{ seconds: 300 }]);
    const traffic = screen.getByRole('figure', { name: 'Requests per second' });
    expect(traffic.querySelectorAll('path.recharts-line-curve')).toHaveLength(2);

    push(tickAt(T0 + 120_000, { rps: 42, limited: 6, errors: 2, route: 'orders', service: 'shop' }));
    await waitFor(() => expect(stat('stat-rps')).toBe('42'));
    expect(stat('stat-limited')).toBe('6');
    expect(stat('stat-error-rate')).toBe('4.8%');
    expect(screen.getByTestId('traffic-now').textContent).toBe('42');
    expect(screen.getByTestId('limited-now').textContent).toBe('6');
  });

  it('ranks the routes of the window by traffic and by errors; a route name charts that route', async () => {
    const user = userEvent.setup();
    page();
    await waitFor(() => expect(stat('stat-rps')).toBe('5'));
    push({ ...tickAt(T0 + 120_000), routes: [{ route: 'invoices', rps: 900, errors: 30, limited: 0, error_rate: 0.0333, p50: 5, p95: 9, p99: 20 }] });
    const byTraffic = within(screen.getByRole('region', { name: /Top routes by traffic/ }));
    await waitFor(() => expect(byTraffic.getAllByRole('row').slice(1).map((r) => r.textContent)).toEqual(['invoices90003.3%', 'orders60000%']));
    const byErrors = within(screen.getByRole('region', { name: /Top routes by errors/ }));
    expect(byErrors.getAllByRole('row').slice(1).map((r) => within(r).getAllByRole('cell')[0]!.textContent)).toEqual(['invoices']);

    await user.click(byTraffic.getByRole('button', { name: 'invoices' }));
    expect(window.location.search).toBe('?scope=route%3Ainvoices');
    expect((screen.getByRole('combobox', { name: 'Scope' }) as HTMLSelectElement).value).toBe('route:invoices');
    await waitFor(() => expect(stat('stat-rps')).toBe('900'));
    expect(screen.getByRole('heading', { name: /Last second · route invoices/ })).toBeTruthy();
  });

  it('the scope selector lists configured services and routes; the window buttons ask for more history', async () => {
    const user = userEvent.setup();
    page();
    await waitFor(() => expect(stat('stat-rps')).toBe('5'));
    const select = screen.getByRole('combobox', { name: 'Scope' });
    await waitFor(() => expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual(['Whole gateway', 'billing', 'shop', 'invoices', 'orders']));
    await user.selectOptions(select, 'service:billing');
    expect(window.location.search).toBe('?scope=service%3Abilling');
    expect(stat('stat-rps')).toBe('0');

    const fifteen = screen.getByRole('button', { name: '15 min' });
    expect(fifteen.getAttribute('aria-pressed')).toBe('false');
    await new Promise((r) => setTimeout(r, 300));
    await user.click(fifteen);
    expect(fifteen.getAttribute('aria-pressed')).toBe('true');
    await waitFor(() => expect(live.historyRequests).toEqual([{ seconds: 300 }, { seconds: 900 }]));
    expect(screen.getByRole('region', { name: /Top routes by traffic · last 15 minutes/ })).toBeTruthy();
  });

  it('shows breaker states from the stream, target health and the recent 5xx with request ids', async () => {
    page();
    await waitFor(() => expect(stat('stat-rps')).toBe('5'));
    push({ ...tickAt(T0 + 120_000), breakers: [{ group: 'shop', breaker: 'shop|abc', state: 'open', nodes: { closed: 1, open: 1, half_open: 0 } }] });
    const breakers = within(screen.getByRole('region', { name: /Circuit breakers/ }));
    await waitFor(() => expect(breakers.getByText('open')).toBeTruthy());
    expect(screen.getByRole('heading', { name: /Circuit breakers · 1 not closed/ })).toBeTruthy();
    expect(breakers.getByText('(1 open, 0 half-open, 1 closed)')).toBeTruthy();

    const health = within(screen.getByRole('region', { name: 'Target health' }));
    await waitFor(() => expect(health.getByText('1 of 2 down')).toBeTruthy());
    expect(health.getByText('10.0.0.2:80 (connect refused)')).toBeTruthy();
    expect(health.getByText('checks off · 1 targets')).toBeTruthy();

    const errors = within(screen.getByRole('region', { name: 'Recent 5xx' }));
    await waitFor(() => expect(errors.getByText('req-7f3a')).toBeTruthy());
    expect(errors.getByText('GET /orders/9')).toBeTruthy();
    expect(errors.getByText('502')).toBeTruthy();
  });

  it('empty states: no traffic, no errors, no breakers, no upstreams', async () => {
    live.history = [tickAt(T0, { rps: 0 })];
    admin.routes['GET /errors?limit=10'] = () => ({ body: { total: 0, capacity: 500, counts: {}, data: [] } });
    admin.routes['GET /upstreams?limit=1000'] = () => ({ body: { data: [], total: 0, offset: 0, limit: 1000 } });
    page();
    await screen.findByText('No circuit breakers configured.');
    expect(stat('stat-rps')).toBe('0');
    expect(screen.getByText('No traffic in this window.')).toBeTruthy();
    expect(screen.getByText('No errors in this window.')).toBeTruthy();
    await screen.findByText('No server errors recorded.');
    await screen.findByText('No upstreams configured.');
  });

  it('goes offline with the reason when the stream refuses the token, and shows API errors with Retry', async () => {
    admin.routes['GET /errors?limit=10'] = () => ({ status: 503, body: { title: 'Proxy unavailable', status: 503, code: 'GW_ERR_INTERNAL', detail: 'the data plane does not answer' } });
    page('expired');
    await screen.findByText('Offline');
    expect(screen.getByText(/Live data is offline: invalid or expired token/)).toBeTruthy();
    const errors = within(screen.getByRole('region', { name: 'Recent 5xx' }));
    await waitFor(() => expect(errors.getByRole('alert').textContent).toContain('the data plane does not answer'));
    admin.routes['GET /errors?limit=10'] = () => ({ body: ERRORS });
    await userEvent.click(errors.getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(errors.getByText('req-7f3a')).toBeTruthy());
  });
});
