/**
 * Import in a real browser against the real gateway and a real upstream: paste a Kong decK file, convert
 * it, read the report, review the merge with the current config and apply it; the imported route then
 * proxies to the upstream, its imported API key (hashed with the store's pepper) authenticates, and the
 * entity the import did not name keeps working. One sign-in for the whole file (the login is throttled).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const USER = 'root';
const PASSWORD = 'import-e2e-password';

let gw: Gateway;
let orders: Upstream;
let billing: Upstream;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];

const kongFile = (url: string) => `_format_version: "3.0"
services:
  - name: orders
    url: ${url}
    routes:
      - name: orders-api
        paths: [/orders]
    plugins:
      - name: key-auth
      - name: datadog
        config: { host: localhost }
consumers:
  - username: shop
    keyauth_credentials:
      - key: shop-imported-key-0123456789
`;

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const r = await fetch(`${gw.proxyUrl}${path}`, { headers });
  return { status: r.status, body: await r.text() };
}

beforeAll(async () => {
  [gw, orders, billing] = await Promise.all([
    startGateway({ env: { GATEHOUSE_ADMIN_USER: USER, GATEHOUSE_ADMIN_PASSWORD: PASSWORD } }),
    startUpstream('orders'),
    startUpstream('billing'),
  ]);
  const post = (path: string, body: unknown) => gw.admin(path, { method: 'POST', body: JSON.stringify(body) }).then((r) => expect(r.status, path).toBe(201));
  // What the gateway runs before the migration: an old orders service (replaced by the import) and billing (kept).
  await post('/services', { name: 'orders', url: 'http://127.0.0.1:9' });
  await post('/services', { name: 'billing', url: billing.url });
  await post('/routes', { name: 'billing-api', service: 'billing', paths: ['/billing'] });
  browser = await launchBrowser();
  ({ context, page, errors } = await openPage(browser));
  await signIn(page, gw.adminUrl, USER, PASSWORD, '/ui/import');
}, 150_000);
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await gw?.stop();
  await orders?.close();
  await billing?.close();
});

describe('import in the dashboard', () => {
  it('converts a pasted Kong file, shows the report, merges it after review, and the imported route proxies', async () => {
    expect((await get('/orders')).status).toBe(404);
    await page.getByRole('navigation').getByRole('link', { name: 'Import' }).click();
    await page.getByRole('heading', { name: 'Import', level: 1 }).waitFor();
    await page.getByLabel('Format').selectOption('kong');
    await page.getByLabel(/^Configuration/).fill(kongFile(orders.url));
    await page.getByRole('button', { name: 'Convert' }).click();

    const report = page.getByRole('table', { name: 'Import report' });
    await report.waitFor();
    const counts = await page.getByLabel('Report counts').locator('dd').allTextContents();
    expect(counts.map(Number).reduce((a, b) => a + b, 0)).toBe((await report.getByRole('row').count()) - 1);
    const datadog = report.getByRole('row').filter({ hasText: 'datadog' });
    expect(await datadog.getByRole('cell').first().textContent()).toBe('unmapped');
    await page.getByLabel('Outcome').selectOption('unmapped');
    expect(await report.getByRole('row').count()).toBe(1 + Number(counts[2]));
    await page.getByLabel('Outcome').selectOption('');

    // Merge (the default): the existing `orders` service is named as replaced, `billing` is not touched.
    const effects = page.getByLabel('Effect on the current config');
    await effects.getByText('services/orders').waitFor();
    expect(await effects.textContent()).not.toContain('billing');
    await screenshot(page, 'dashboard-import-report');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'dashboard-import-report-390');
    await page.setViewportSize({ width: 1280, height: 860 });

    await page.getByRole('button', { name: 'Review and apply' }).click();
    const dialog = page.getByRole('dialog', { name: 'Merge the imported kong configuration' });
    const changes = (await dialog.getByLabel('Changes').textContent()) ?? '';
    expect(changes).toContain('orders-api');
    expect(changes).toContain('127.0.0.1:9');
    await screenshot(page, 'dashboard-import-review');
    await dialog.getByRole('button', { name: 'Apply import' }).click();
    await page.getByText(/Applied: the config is now version \d+\./).waitFor();

    // The data plane picks the new snapshot up asynchronously: poll briefly.
    let res = await get('/orders/42', { apikey: 'shop-imported-key-0123456789' });
    for (let i = 0; i < 50 && res.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await get('/orders/42', { apikey: 'shop-imported-key-0123456789' });
    }
    expect(res.status, res.body).toBe(200);
    // Kong strips the matched prefix by default (strip_path), and the import keeps that.
    expect(JSON.parse(res.body)).toMatchObject({ upstream: 'orders', url: '/42' });
    expect((await get('/orders/42')).status).toBe(401);
    expect((await get('/orders/42', { apikey: 'wrong-key' })).status).toBe(401);
    expect(JSON.parse((await get('/billing')).body)).toMatchObject({ upstream: 'billing' });

    const history = (await (await gw.admin('/versions?limit=1')).json()) as { data: { author: string; message: string }[] };
    expect(history.data[0]).toMatchObject({ author: USER, message: 'import from kong' });

    await screenshot(page, 'dashboard-import-applied');
    expect(errors).toEqual([]);
  }, 120_000);
});
