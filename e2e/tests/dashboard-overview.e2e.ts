/**
 * The Overview page in a real browser against the real gateway: a service and route created through the
 * admin API, traffic sent through the proxy moves the live stats and charts (over socket.io), the route
 * shows up in the top routes, and a rate limit added through the admin API gets its 429s counted on the
 * page. Also the narrow dark layout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const USER = 'root';
const PASSWORD = 'overview-e2e-password';

let gw: Gateway;
let up: Upstream;
let browser: Browser;
beforeAll(async () => {
  up = await startUpstream('orders-backend');
  gw = await startGateway({ env: { GATEHOUSE_ADMIN_USER: USER, GATEHOUSE_ADMIN_PASSWORD: PASSWORD } });
  browser = await launchBrowser();
  const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const svc = await gw.admin('/services', json({ name: 'shop', url: up.url }));
  expect(svc.status, await svc.clone().text()).toBe(201);
  const route = await gw.admin('/routes', json({ name: 'orders', service: 'shop', paths: ['/orders'] }));
  expect(route.status, await route.clone().text()).toBe(201);
}, 150_000);
afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await up?.close();
});

/** `n` requests a second for `seconds` seconds through the proxy; returns the statuses seen. */
async function traffic(path: string, perSecond: number, seconds: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let s = 0; s < seconds; s++) {
    const started = Date.now();
    const batch = await Promise.all(Array.from({ length: perSecond }, () => fetch(`${gw.proxyUrl}${path}`).then(async (r) => (await r.arrayBuffer(), r.status))));
    statuses.push(...batch);
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
  }
  return statuses;
}

const stat = (page: Page, id: string) => page.getByTestId(id).textContent();

/** Waits until the stat parses to a number above 0 (the stream updates once a second). */
async function waitPositive(page: Page, id: string): Promise<number> {
  await page.waitForFunction((testId) => Number(document.querySelector(`[data-testid="${testId}"]`)?.textContent) > 0, id, { timeout: 15_000 });
  return Number(await stat(page, id));
}

describe('dashboard overview', () => {
  it('shows live traffic moving, the route in the top routes, and the 429s of a new rate limit', async () => {
    const { context, page, errors } = await openPage(browser);
    try {
      await signIn(page, gw.adminUrl, USER, PASSWORD, '/ui/overview');
      await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
      expect(await page.getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe('page');
      // The staff home: the first entry of the navigation.
      expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link').first().textContent()).toBe('Overview');
      await page.getByText('Live', { exact: true }).waitFor();

      const sending = traffic('/orders/1', 8, 4);
      const rps = await waitPositive(page, 'stat-rps');
      expect(rps).toBeGreaterThan(0);
      expect(await page.getByTestId('traffic-now').textContent()).not.toBe('0');
      const top = page.getByRole('region', { name: /Top routes by traffic/ });
      await top.getByRole('button', { name: 'orders' }).waitFor();
      expect((await sending).every((s) => s === 200)).toBe(true);
      // The chart has drawn a line (an SVG path with points).
      const traffic1 = page.getByRole('figure', { name: 'Requests per second' });
      expect(await traffic1.locator('path.recharts-line-curve').count()).toBe(2);

      // A rate limit through the admin API: 2 requests a second on the route, the rest answered 429.
      const limit = await gw.admin('/plugins', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'rate-limiting', route: 'orders', config: { second: 2, limit_by: ['ip'] } }),
      });
      expect(limit.status, await limit.clone().text()).toBe(201);
      let statuses: number[] = [];
      for (let attempt = 0; attempt < 10 && !statuses.includes(429); attempt++) statuses = await traffic('/orders/2', 8, 1);
      const limitedSending = traffic('/orders/3', 8, 3);
      expect(await waitPositive(page, 'stat-limited')).toBeGreaterThan(0);
      expect((await limitedSending).filter((s) => s === 429).length).toBeGreaterThan(0);

      // Scoped to the route, the 429s are still there (they belong to it).
      await page.getByRole('button', { name: 'orders' }).first().click();
      await page.getByRole('heading', { name: /Last second · route orders/ }).waitFor();
      const scoped = traffic('/orders/4', 8, 3);
      expect(await waitPositive(page, 'stat-limited')).toBeGreaterThan(0);
      await scoped;
      await page.getByRole('figure', { name: 'Requests per second' }).getByText(/with 429/).waitFor();
      const summary = await page.getByRole('figure', { name: 'Requests per second' }).locator('.chart-summary').textContent();
      expect(summary).toMatch(/Last 5 minutes: \d+ requests, [1-9]\d* with 429/);

      await page.getByRole('combobox', { name: 'Scope' }).selectOption('');
      // The picture shows the page while traffic flows.
      const background = traffic('/orders/5', 6, 3);
      await waitPositive(page, 'stat-rps');
      await screenshot(page, 'overview');
      await background;
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('fits a narrow dark screen, with the 60-minute window', async () => {
    const { context, page, errors } = await openPage(browser, { width: 390, colorScheme: 'dark' });
    try {
      await signIn(page, gw.adminUrl, USER, PASSWORD, '/ui/overview?window=3600');
      await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
      expect(await page.getByRole('button', { name: '60 min' }).getAttribute('aria-pressed')).toBe('true');
      // The history of the first test is on the chart right away.
      await page.getByRole('region', { name: /Top routes by traffic/ }).getByRole('button', { name: 'orders' }).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      const background = traffic('/orders/6', 6, 3);
      await waitPositive(page, 'stat-rps');
      await screenshot(page, 'overview-narrow-dark');
      await background;
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 40_000);
});
