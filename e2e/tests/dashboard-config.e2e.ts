/**
 * The Configure pages in a real browser against the real gateway: an operator creates a service that
 * points at a live upstream and a route to it through the generated forms and the change review, and
 * the proxy then answers from that upstream; a plugin with an invalid value gets the server's error on
 * the field; the narrow layout fits; a viewer (created through /admin-users) sees no edit controls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const USER = 'root';
const PASSWORD = 'dashboard-config-password';

let gw: Gateway;
let browser: Browser;
let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream('orders-backend');
  gw = await startGateway({ env: { GATEHOUSE_ADMIN_USER: USER, GATEHOUSE_ADMIN_PASSWORD: PASSWORD } });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await upstream?.close();
});

/** Saves the open form, reviews the diff and applies it. */
async function reviewAndApply(page: Page, applyLabel: string, expectInDiff: string): Promise<void> {
  await page.getByRole('button', { name: 'Review and save' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  expect(await dialog.getByLabel('Changes').textContent()).toContain(expectInDiff);
  await dialog.getByRole('button', { name: applyLabel }).click();
}

async function proxyAnswer(path: string): Promise<{ status: number; body: string }> {
  // The data plane takes the new snapshot asynchronously; a few hundred milliseconds at most.
  const deadline = Date.now() + 10_000;
  let last = { status: 0, body: '' };
  while (Date.now() < deadline) {
    const res = await fetch(`${gw.proxyUrl}${path}`);
    last = { status: res.status, body: await res.text() };
    if (res.status === 200) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}

describe('dashboard configure pages', () => {
  it('creates a service and a route in the browser, and the proxy serves them; server errors land on the field', async () => {
    const { context, page, errors } = await openPage(browser);
    try {
      await signIn(page, gw.adminUrl, USER, PASSWORD, '/ui/services');
      await page.getByText('No services yet.').waitFor();

      await page.getByRole('button', { name: 'New service' }).click();
      await page.getByLabel('Name', { exact: false }).first().fill('orders');
      await page.getByLabel('Url').fill(upstream.url);
      await reviewAndApply(page, 'Create service', `"url": "${upstream.url}"`);
      await page.getByRole('link', { name: 'orders', exact: true }).waitFor();
      await page.getByRole('status').filter({ hasText: 'Created service orders.' }).waitFor();
      await screenshot(page, 'services');

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Routes' }).click();
      await page.getByText('No routes yet.').waitFor();
      await page.getByRole('button', { name: 'New route' }).click();
      await page.getByLabel('Name', { exact: false }).first().fill('orders-api');
      await page.getByLabel('Service').fill('orders');
      await page.getByRole('button', { name: 'Add paths' }).click();
      await page.getByLabel('Paths 1', { exact: true }).fill('/orders');
      await page.getByRole('group', { name: 'Methods' }).getByLabel('GET').check();
      await reviewAndApply(page, 'Create route', '"/orders"');
      await page.getByRole('link', { name: 'orders-api' }).waitFor();

      const answer = await proxyAnswer('/orders/42');
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ upstream: 'orders-backend', method: 'GET', url: '/42' });

      await page.getByRole('link', { name: 'orders', exact: true }).click();
      await page.getByRole('heading', { name: 'Service orders' }).waitFor();
      await page.getByRole('region', { name: 'Routes of this service' }).getByRole('link', { name: 'orders-api' }).waitFor();
      await page.getByRole('region', { name: 'Plugins on this service' }).getByText('None.').waitFor();
      await screenshot(page, 'service-detail');

      // A plugin scoped to a service that does not exist: only the server knows, and says so on the field.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Plugins' }).click();
      await page.getByRole('button', { name: 'New plugin' }).click();
      await page.getByLabel('Name', { exact: false }).first().selectOption('rate-limiting');
      await page.getByLabel('Minute').fill('5');
      // A text field with suggestions (datalist) is a combobox; the limit_by checkboxes include "service" too.
      const service = page.getByRole('combobox', { name: 'Service' });
      await service.fill('ghost');
      await page.getByRole('button', { name: 'Review and save' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Create plugin' }).click();
      await page.waitForFunction(() => document.querySelector('[aria-invalid="true"]') !== null);
      expect(await service.getAttribute('aria-invalid')).toBe('true');
      const fieldError = page.locator('.sf-field.sf-invalid .sf-error');
      expect(await fieldError.textContent()).toContain("service 'ghost' does not exist");
      expect(await page.getByRole('dialog').count()).toBe(0);
      await screenshot(page, 'plugin-form');

      await service.fill('orders');
      await reviewAndApply(page, 'Create plugin', '"service": "orders"');
      await page.getByRole('link', { name: /rate-limiting/ }).waitFor();
      await page.getByRole('cell', { name: 'service orders', exact: true }).waitFor();

      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${gw.adminUrl}/ui/routes`);
      await page.getByRole('link', { name: 'orders-api' }).waitFor();
      await screenshot(page, 'routes-narrow');
      // Tables scroll inside their .table-wrap; nothing else may be wider than the screen.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows a viewer the configuration without any edit control', async () => {
    const created = await gw.admin('/admin-users', { method: 'POST', body: JSON.stringify({ username: 'watcher', password: 'viewer-password-1', role: 'viewer' }) });
    expect(created.status).toBe(201);
    const { context, page, errors } = await openPage(browser);
    try {
      await signIn(page, gw.adminUrl, 'watcher', 'viewer-password-1', '/ui/services');
      await page.getByRole('link', { name: 'orders', exact: true }).waitFor();
      expect(await page.getByRole('button', { name: /New|Edit|Delete/ }).count()).toBe(0);

      await page.getByRole('link', { name: 'orders', exact: true }).click();
      await page.getByRole('region', { name: 'Routes of this service' }).getByRole('link', { name: 'orders-api' }).waitFor();
      await page.getByRole('region', { name: 'Plugins on this service' }).getByRole('link', { name: /rate-limiting/ }).waitFor();
      expect(await page.getByRole('button', { name: /New|Edit|Delete|Add/ }).count()).toBe(0);

      await page.goto(`${gw.adminUrl}/ui/plugins?new=1`);
      await page.getByRole('link', { name: /rate-limiting/ }).waitFor();
      expect(await page.getByRole('button', { name: /New|Edit|Delete|Review/ }).count()).toBe(0);
      expect(await page.locator('.schema-form').count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
