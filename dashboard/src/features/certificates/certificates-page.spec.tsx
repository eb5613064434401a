/**
 * The certificates page against a loopback admin API stand-in: expiry at a glance, adding (from pasted
 * text or a file) and replacing through the change review without ever showing the key, field errors
 * back on the form, deletion, and what a viewer is offered.
 */
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../lib/api-client';
import { startAdminPeer, type AdminPeer } from '../../test-support/admin-peer';
import { CertificatesPage, expiryOf, parseNames, type Certificate } from './certificates-page';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE-secret-key\n-----END PRIVATE KEY-----\n';

const cert = (name: string, notAfter: string, extra: Partial<Certificate> = {}): Certificate => ({
  name,
  cert: PEM,
  snis: [`${name}.example.com`],
  default: false,
  tags: [],
  subject: `CN=${name}.example.com`,
  issuer: "CN=(STAGING) Let's Encrypt",
  not_before: '2026-09-01T00:00:00Z',
  not_after: notAfter,
  fingerprint256: 'AA:BB',
  ...extra,
});

const CERTS = {
  data: [
    cert('api', '2027-02-20T12:00:00Z', { default: true }),
    cert('shop', '2026-12-07T12:00:00Z'),
    cert('old', '2026-11-20T12:00:00Z', { snis: [] }),
  ],
};

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.requests.length = 0;
  peer.routes = { 'GET /certificates': () => ({ body: CERTS }) };
});

const api = () => createApiClient({ baseUrl: peer.url, getToken: () => 'tok' });
const rowOf = (name: string) => within(screen.getByText(name, { selector: 'td' }).closest('tr')!);
const page = (role: 'admin' | 'operator' | 'viewer' = 'operator') => render(<CertificatesPage api={api()} role={role} now={() => NOW} />);

describe('expiryOf', () => {
  it('counts whole days and warns inside the renewal window', () => {
    expect(expiryOf('2027-02-20T12:00:00Z', NOW)).toMatchObject({ state: 'ok', days: 85, text: '85 days left' });
    expect(expiryOf('2026-12-07T12:00:00Z', NOW)).toMatchObject({ state: 'soon', days: 10 });
    expect(expiryOf('2026-11-28T11:00:00Z', NOW)).toMatchObject({ state: 'soon', text: 'expires within a day' });
    expect(expiryOf('2026-11-20T12:00:00Z', NOW)).toMatchObject({ state: 'expired', text: 'expired 7 days ago' });
    expect(expiryOf('not a date', NOW).text).toBe('unknown');
    expect(parseNames(' a.example.com,, b.example.com a.example.com ')).toEqual(['a.example.com', 'b.example.com']);
  });
});

describe('CertificatesPage', () => {
  it('lists certificates with their names, issuer and days left', async () => {
    page();
    await screen.findByText('api', { selector: 'td' });
    expect(rowOf('api').getByText('default')).toBeTruthy();
    expect(rowOf('api').getByText('85 days left').className).toContain('off');
    expect(rowOf('shop').getByText('10 days left').className).toContain('warn');
    expect(rowOf('old').getByText('expired 7 days ago').className).toContain('bad');
    expect(rowOf('old').getByText('none')).toBeTruthy();
    expect(rowOf('shop').getByText('shop.example.com')).toBeTruthy();
  });

  it('adds a certificate after a review that never shows the key', async () => {
    let posted: unknown;
    peer.routes['POST /certificates'] = (req) => {
      posted = JSON.parse(req.body);
      return { status: 201, body: cert('new', '2027-03-01T00:00:00Z') };
    };
    const user = userEvent.setup();
    page();
    await screen.findByText('api', { selector: 'td' });
    await user.type(screen.getByLabelText('Name'), 'new');
    await user.type(screen.getByLabelText('Server names (optional)'), 'new.example.com, *.new.example.com');
    await user.click(screen.getByLabelText(/^Default/));
    await user.upload(screen.getByLabelText('Or choose the chain file'), new File([PEM], 'chain.pem', { type: 'application/x-pem-file' }));
    await expect.poll(() => (screen.getByLabelText(/^Certificate chain/) as HTMLTextAreaElement).value).toBe(PEM);
    await user.click(screen.getByLabelText(/^Private key/));
    await user.paste(KEY);
    await user.click(screen.getByRole('button', { name: 'Review' }));

    const dialog = within(await screen.findByRole('dialog'));
    expect(dialog.getByText('Add certificate new')).toBeTruthy();
    expect(dialog.getByText(/PEM chain, 1 certificate/)).toBeTruthy();
    expect(dialog.queryByText(/secret-key/)).toBeNull();
    await user.click(dialog.getByRole('button', { name: 'Add' }));
    await expect.poll(() => posted).toEqual({ name: 'new', cert: PEM, key: KEY, snis: ['new.example.com', '*.new.example.com'], default: true });
    await expect.poll(() => peer.requests.filter((r) => r.method === 'GET').length).toBe(2);
    expect(screen.queryByRole('dialog')).toBeNull();
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('');
  });

  it('puts a validation failure back on its field, keeping what was typed', async () => {
    peer.routes['POST /certificates'] = () => ({
      status: 400,
      body: { title: 'Bad Request', status: 400, code: 'GW_ERR_ADMIN_VALIDATION', detail: 'the key does not match the certificate', errors: [{ path: '/key', message: 'the key does not match the certificate' }] },
    });
    const user = userEvent.setup();
    page();
    await screen.findByText('api', { selector: 'td' });
    await user.type(screen.getByLabelText('Name'), 'bad');
    await user.click(screen.getByLabelText(/^Certificate chain/));
    await user.paste(PEM);
    await user.click(screen.getByLabelText(/^Private key/));
    await user.paste(KEY);
    await user.click(screen.getByRole('button', { name: 'Review' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Add' }));
    expect(await screen.findByText('the key does not match the certificate')).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByLabelText(/^Private key/).getAttribute('aria-invalid')).toBe('true');
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('bad');
  });

  it('replaces a certificate by name with PUT, and deletes one through the review', async () => {
    let put: { name: string; snis?: string[]; default: boolean } | undefined;
    peer.routes['PUT /certificates/shop'] = (req) => {
      put = JSON.parse(req.body) as typeof put;
      return { body: cert('shop', '2027-03-01T00:00:00Z') };
    };
    peer.routes['DELETE /certificates/old'] = () => ({ status: 204 });
    const user = userEvent.setup();
    page('admin');
    await screen.findByText('api', { selector: 'td' });
    await user.click(rowOf('shop').getByRole('button', { name: 'Replace shop' }));
    expect(screen.getByRole('heading', { name: 'Replace shop' })).toBeTruthy();
    expect((screen.getByLabelText('Name') as HTMLInputElement).readOnly).toBe(true);
    expect((screen.getByLabelText('Server names (optional)') as HTMLInputElement).value).toBe('shop.example.com');
    await user.click(screen.getByLabelText(/^Certificate chain/));
    await user.paste(PEM);
    await user.click(screen.getByLabelText(/^Private key/));
    await user.paste(KEY);
    await user.click(screen.getByRole('button', { name: 'Review' }));
    const dialog = within(await screen.findByRole('dialog'));
    expect(dialog.getByText('Replace certificate shop')).toBeTruthy();
    await user.click(dialog.getByRole('button', { name: 'Replace' }));
    await expect.poll(() => put).toMatchObject({ name: 'shop', snis: ['shop.example.com'], default: false });
    await expect.poll(() => screen.queryByRole('dialog')).toBeNull();

    await screen.findByText('old', { selector: 'td' });
    await user.click(rowOf('old').getByRole('button', { name: 'Delete old' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Delete' }));
    await expect.poll(() => peer.requests.some((r) => r.method === 'DELETE' && r.path === '/certificates/old')).toBe(true);
  });

  it('offers a viewer the list only', async () => {
    page('viewer');
    await screen.findByText('api', { selector: 'td' });
    expect(screen.queryByRole('button', { name: /Delete|Replace/ })).toBeNull();
    expect(screen.queryByRole('heading', { name: 'Add a certificate' })).toBeNull();
  });

  it('says when there is nothing to present', async () => {
    peer.routes['GET /certificates'] = () => ({ body: { data: [] } });
    page();
    expect(await screen.findByText(/No certificates/)).toBeTruthy();
  });
});
