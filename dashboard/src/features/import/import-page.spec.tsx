/**
 * Tests of the Import page against a loopback admin API stand-in: convert (report counts and rows),
 * filtering the report, review and apply in merge mode (the merged document is what PUT /config gets),
 * the server's refusal of a file, and the viewer's read-only notice.
 */
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import type { Session } from '../auth/session';
import { CURRENT, KONG_FILE, KONG_RESULT } from './fixtures';
import { ImportPage } from './import-page';

const OPERATOR: Session = { token: 'tok', username: 'ops', role: 'operator', expiresAt: Date.now() + 3_600_000 };
const VIEWER: Session = { ...OPERATOR, username: 'vic', role: 'viewer' };

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.requests.length = 0;
  peer.routes = {
    'GET /config': () => ({ body: CURRENT }),
    'POST /config/import/kong': () => ({ body: KONG_RESULT }),
  };
});

const api = () => createApiClient({ baseUrl: peer.url, getToken: () => 'tok' });
const reportRows = () => within(screen.getByRole('table', { name: 'Import report' })).getAllByRole('row').slice(1);
const cells = (row: HTMLElement) => within(row).getAllByRole('cell').map((c) => c.textContent);

async function convertKong(user: ReturnType<typeof userEvent.setup>) {
  render(<ImportPage api={api()} session={OPERATOR} />);
  const text = screen.getByLabelText(/^Configuration/);
  await user.click(text);
  await user.paste(KONG_FILE);
  await user.click(screen.getByRole('button', { name: 'Convert' }));
  await screen.findByRole('table', { name: 'Import report' });
}

describe('ImportPage', () => {
  it('converts pasted text and shows the counts and every report row', async () => {
    const user = userEvent.setup();
    await convertKong(user);
    const post = peer.requests.find((r) => r.method === 'POST');
    expect(post).toMatchObject({ path: '/config/import/kong', body: KONG_FILE, authorization: 'Bearer tok' });
    const counts = within(screen.getByLabelText('Report counts'));
    expect(counts.getAllByRole('definition').map((d) => d.textContent)).toEqual(['4', '1', '1']);
    expect(reportRows().map(cells)).toEqual([
      ['approximated', 'services[0]', 'services/orders', 'retries go to another target on connection failures only (Kong also retries timeouts)'],
      ['mapped', 'services[0].routes[0]', 'routes/orders-api', 'prefix paths match whole path segments'],
      ['mapped', 'services[0].plugins[0] (rate-limiting)', 'plugins/rate-limiting@service:orders', 'same behaviour'],
      ['unmapped', 'services[0].plugins[1] (datadog)', '—', 'no Gatehouse equivalent; export metrics with the prometheus endpoint or OpenTelemetry'],
      ['mapped', 'consumers[0]', 'consumers/shop', 'same behaviour'],
      ['mapped', 'consumers[0].keyauth_credentials[0]', 'credentials of shop', 'same behaviour'],
    ]);
    expect(within(reportRows()[3]!).getByText('unmapped').className).toBe('badge bad');
  });

  it('filters the report by outcome and by text', async () => {
    const user = userEvent.setup();
    await convertKong(user);
    await user.selectOptions(screen.getByLabelText('Outcome'), 'unmapped');
    expect(reportRows().map((r) => cells(r)[1])).toEqual(['services[0].plugins[1] (datadog)']);
    await user.selectOptions(screen.getByLabelText('Outcome'), 'mapped');
    expect(reportRows()).toHaveLength(4);
    await user.type(screen.getByLabelText('Search'), 'consumers');
    expect(reportRows().map((r) => cells(r)[1])).toEqual(['consumers[0]', 'consumers[0].keyauth_credentials[0]']);
    await user.type(screen.getByLabelText('Search'), '-nothing-like-this');
    expect(screen.getByText('No entry matches the filter.')).toBeTruthy();
  });

  it('merges into the current config, names what it replaces, and PUTs the merged document after review', async () => {
    const user = userEvent.setup();
    let put: unknown;
    peer.routes['PUT /config?message=import%20from%20kong'] = (req) => {
      put = JSON.parse(req.body);
      return { body: { dry_run: false, changed: true, version: 7, base_version: 6, text: '', diff: { created: [], updated: [], deleted: [], unchanged: 0 } } };
    };
    await convertKong(user);
    const effects = await screen.findByLabelText('Effect on the current config');
    expect(within(effects).getByText('services/orders')).toBeTruthy();
    expect(within(effects).queryByText('services/billing')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Review and apply' }));
    const dialog = screen.getByRole('dialog');
    expect(within(dialog).getByText('Merge the imported kong configuration')).toBeTruthy();
    expect(dialog.textContent).toContain('old-orders.internal');
    await user.click(within(dialog).getByRole('button', { name: 'Apply import' }));
    await screen.findByText('Applied: the config is now version 7.');
    expect(put).toEqual({
      ...CURRENT,
      services: [CURRENT.services[1], (KONG_RESULT.document.services as unknown[])[0]],
      routes: [...CURRENT.routes, ...(KONG_RESULT.document.routes as unknown[])],
      consumers: KONG_RESULT.document.consumers,
      plugins: KONG_RESULT.document.plugins,
      credentials: KONG_RESULT.document.credentials,
    });
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('replaces everything when asked, listing what disappears', async () => {
    const user = userEvent.setup();
    await convertKong(user);
    await user.click(screen.getByRole('radio', { name: /Replace everything/ }));
    const effects = screen.getByLabelText('Effect on the current config');
    expect(within(effects).getByText('Removes 2:')).toBeTruthy();
    expect(within(effects).getByText('services/billing')).toBeTruthy();
    expect(within(effects).getByText('routes/billing-api')).toBeTruthy();
    expect(within(effects).getByText('services/orders')).toBeTruthy();
  });

  it("shows the server's reason when the file is not of the chosen format", async () => {
    const user = userEvent.setup();
    peer.routes['POST /config/import/traefik'] = () => ({
      status: 422,
      body: {
        type: 'https://gatehouse.dev/errors/GW_ERR_IMPORT_INVALID',
        title: 'The file cannot be imported: it is not a configuration of this format',
        status: 422,
        code: 'GW_ERR_IMPORT_INVALID',
        detail: 'YAML syntax error at line 1, column 7: Flow sequence in block collection must be sufficiently indented and end with a ]',
      },
    });
    render(<ImportPage api={api()} session={OPERATOR} />);
    await user.selectOptions(screen.getByLabelText('Format'), 'traefik');
    await user.click(screen.getByLabelText(/^Configuration/));
    await user.paste('http: [unclosed');
    await user.click(screen.getByRole('button', { name: 'Convert' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Cannot import: YAML syntax error at line 1, column 7');
    expect(screen.queryByRole('table', { name: 'Import report' })).toBeNull();
  });

  it('keeps an invalid conversion from being applied and lists its issues', async () => {
    const user = userEvent.setup();
    peer.routes['POST /config/import/kong'] = () => ({ body: { ...KONG_RESULT, issues: [{ path: '/plugins/0/config/minute', message: 'Expected integer to be greater or equal to 1' }] } });
    await convertKong(user);
    expect(screen.getByRole('alert').textContent).toContain('/plugins/0/config/minute: Expected integer to be greater or equal to 1');
    expect((screen.getByRole('button', { name: 'Review and apply' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('reads a picked file with its name, which the server gets as ?filename', async () => {
    const user = userEvent.setup();
    peer.routes['POST /config/import/kong?filename=kong.yaml'] = () => ({ body: KONG_RESULT });
    render(<ImportPage api={api()} session={OPERATOR} />);
    await user.upload(screen.getByLabelText('File'), new File([KONG_FILE], 'kong.yaml', { type: 'application/yaml' }));
    await screen.findByLabelText('Configuration (from kong.yaml)');
    await user.click(screen.getByRole('button', { name: 'Convert' }));
    await screen.findByRole('table', { name: 'Import report' });
    expect(peer.requests.find((r) => r.method === 'POST')?.body).toBe(KONG_FILE);
  });

  it('tells a viewer that importing needs the operator role and calls nothing', async () => {
    // A token of its own: a request an earlier test started (its page already unmounted) may still land
    // at the stand-in during this one, and must not count as this page's.
    render(<ImportPage api={createApiClient({ baseUrl: peer.url, getToken: () => 'viewer-tok' })} session={VIEWER} />);
    expect(screen.getByRole('status').textContent).toMatch(/needs the operator or admin role/);
    expect(screen.queryByRole('button', { name: 'Convert' })).toBeNull();
    await new Promise((r) => setTimeout(r, 50));
    expect(peer.requests.filter((r) => r.authorization === 'Bearer viewer-tok')).toEqual([]);
  });
});
