/**
 * The developer portal in a real browser against the real gateway and a real upstream: an admin invites
 * a developer from the Developers page, the developer accepts the invitation, signs in, creates an
 * application and a key, copies the key from the page, and calls a key-auth route through the proxy with
 * it (200; 401 without); their usage chart then counts the call, and the APIs page shows the service's
 * OpenAPI document. Two sign-ins in all (the login is throttled per client address).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const ADMIN = 'root';
const ADMIN_PASSWORD = 'dashboard-e2e-password';
const DEV = 'dana';
const DEV_PASSWORD = 'developer-password-1';

const ORDERS_DOC = {
  openapi: '3.0.3',
  info: { title: 'Orders API', version: '1.0.0', description: 'Orders of the shop, behind an API key.' },
  paths: {
    '/orders': {
      get: { summary: 'List orders', parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer' }, description: 'Page size' }], responses: { '200': { description: 'The orders' } } },
      post: { summary: 'Create an order', requestBody: { content: { 'application/json': { schema: { type: 'object' } } } }, responses: { '201': { description: 'Created' } } },
    },
  },
};

let gw: Gateway;
let upstream: Upstream;
let browser: Browser;
beforeAll(async () => {
  upstream = await startUpstream('orders');
  gw = await startGateway({ env: { GATEHOUSE_ADMIN_USER: ADMIN, GATEHOUSE_ADMIN_PASSWORD: ADMIN_PASSWORD } });
  for (const [p, body] of [
    ['/services', { name: 'orders', url: upstream.url, openapi: { document: ORDERS_DOC } }],
    ['/routes', { name: 'orders', service: 'orders', paths: ['/orders'] }],
    ['/plugins', { name: 'key-auth', route: 'orders', config: { key_names: ['x-api-key'] } }],
  ] as const) {
    const r = await gw.admin(p, { method: 'POST', body: JSON.stringify(body) });
    expect(r.status, await r.clone().text()).toBe(201);
  }
  browser = await launchBrowser();
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await upstream?.close();
});

/** Clicks Refresh on the usage section until its summary says what we expect (the live pipeline is per second). */
async function waitForUsage(page: Page, text: RegExp): Promise<string> {
  const usage = page.getByRole('region', { name: 'Usage' });
  let summary = '';
  for (let i = 0; i < 40; i++) {
    summary = (await usage.locator('.chart-summary').textContent({ timeout: 5_000 }).catch(() => '')) ?? '';
    if (text.test(summary)) return summary;
    await page.waitForTimeout(500);
    await usage.getByRole('button', { name: 'Refresh' }).click();
  }
  return summary;
}

describe('developer portal in the browser', () => {
  it('invite → accept → sign in → application → key → proxy call → usage → APIs', async () => {
    const staff = await openPage(browser);
    const dev = await openPage(browser);
    try {
      // The admin invites the developer and copies the one-time invitation link.
      await signIn(staff.page, gw.adminUrl, ADMIN, ADMIN_PASSWORD, '/ui/developers');
      await staff.page.getByRole('heading', { name: 'Developers', level: 1 }).waitFor();
      await staff.page.getByText('No developer accounts yet.', { exact: false }).waitFor();
      const invite = staff.page.getByRole('region', { name: 'Invite a developer' });
      await invite.getByLabel('User name').fill(DEV);
      await invite.getByRole('button', { name: 'Create invitation' }).click();
      const link = await staff.page.getByTestId('new-secret').inputValue();
      expect(link).toMatch(new RegExp(`^${gw.adminUrl}/ui/accept-invite\\?token=gdi_`));

      // The developer accepts it (public page), then signs in.
      await dev.page.goto(link);
      await dev.page.getByRole('heading', { name: 'Accept your invitation' }).waitFor();
      await dev.page.getByLabel(/^Password/).fill(DEV_PASSWORD);
      await dev.page.getByLabel(/^Repeat the password/).fill(DEV_PASSWORD);
      await dev.page.getByRole('button', { name: 'Accept invitation' }).click();
      await dev.page.getByText(`Your developer account ${DEV} is ready`).waitFor();
      await dev.page.getByRole('link', { name: 'Go to sign in' }).click();
      await dev.page.getByLabel('User name').fill(DEV);
      await dev.page.getByLabel('Password').fill(DEV_PASSWORD);
      await dev.page.getByRole('button', { name: 'Sign in' }).click();
      await dev.page.getByRole('heading', { name: 'My applications' }).waitFor();
      expect(new URL(dev.page.url()).pathname).toBe('/ui/apps');

      // An application and a key; the key is copied from the page.
      await dev.page.getByLabel('Name').fill('shop');
      await dev.page.getByRole('button', { name: 'Create application' }).click();
      await dev.page.getByRole('link', { name: 'shop' }).waitFor();
      await screenshot(dev.page, 'portal-apps');
      await dev.page.getByRole('link', { name: 'shop' }).click();
      await dev.page.getByRole('heading', { name: 'Keys of shop' }).waitFor();
      await dev.page.getByRole('button', { name: 'Generate key' }).click();
      const shown = await dev.page.getByTestId('new-secret').inputValue();
      expect(shown).toMatch(/^ghk_/);
      await dev.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.adminUrl });
      await dev.page.getByRole('button', { name: 'Copy' }).click();
      await dev.page.getByText('Copied to the clipboard.').waitFor();
      const copied = await dev.page.evaluate(() => navigator.clipboard.readText());
      expect(copied).toBe(shown);
      await screenshot(dev.page, 'portal-key-created');

      // The proxy honours the key on the key-auth route.
      const ok = await fetch(`${gw.proxyUrl}/orders`, { headers: { 'x-api-key': copied } });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { upstream: string }).upstream).toBe('orders');
      const anonymous = await fetch(`${gw.proxyUrl}/orders`);
      expect(anonymous.status).toBe(401);
      await anonymous.text();

      // The secret is gone once dismissed, and the usage chart counts the call.
      await dev.page.getByRole('button', { name: 'I have saved the key' }).click();
      expect(await dev.page.getByTestId('new-secret').count()).toBe(0);
      const summary = await waitForUsage(dev.page, /^1 request in the last 1 hour/);
      expect(summary).toBe('1 request in the last 1 hour: 0 server errors, 0 refused by a rate limit.');
      expect(await dev.page.locator('.usage-chart .recharts-bar-rectangle path').count()).toBeGreaterThan(0);
      await screenshot(dev.page, 'portal-app-usage');

      // The APIs page: the service with its OpenAPI document.
      await dev.page.getByRole('link', { name: 'APIs' }).click();
      const orders = dev.page.getByRole('region', { name: 'orders' });
      await orders.getByText('Orders API').waitFor();
      expect(await orders.getByText('header or query parameter x-api-key').count()).toBe(1);
      await orders.locator('summary', { hasText: 'List orders' }).click();
      await orders.getByRole('table', { name: 'Parameters' }).waitFor();
      await screenshot(dev.page, 'portal-apis');

      // A phone-sized screen: nothing wider than the viewport on the portal's pages.
      await dev.page.setViewportSize({ width: 390, height: 844 });
      for (const path of ['/ui/apis', '/ui/apps/shop', '/ui/apps']) {
        await dev.page.goto(`${gw.adminUrl}${path}`);
        await dev.page.getByRole('heading', { level: 1 }).first().waitFor();
        const overflow = await dev.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, path).toBeLessThanOrEqual(0);
      }
      await dev.page.goto(`${gw.adminUrl}/ui/apps/shop`);
      await dev.page.getByRole('heading', { name: 'Keys of shop' }).waitFor();
      await screenshot(dev.page, 'portal-app-narrow');

      // The admin sees the developer approved, with one application.
      await staff.page.getByRole('button', { name: 'I have saved the invitation link' }).click();
      await staff.page.getByRole('button', { name: 'Refresh' }).click();
      const row = staff.page.getByRole('row', { name: new RegExp(`^${DEV}`) });
      await row.getByText('approved').waitFor();
      expect(await row.getByRole('cell').nth(3).textContent()).toBe('1');
      await screenshot(staff.page, 'developers');

      expect(staff.errors).toEqual([]);
      expect(dev.errors).toEqual([]);
    } finally {
      await staff.context.close();
      await dev.context.close();
    }
  }, 120_000);
});
