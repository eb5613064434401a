/**
 * The dashboard in a real browser against the real gateway: sign in, deep links survive a reload and
 * sign-in, the session survives a reload and ends on sign-out, the login is rate-limited, and the
 * narrow layout hides the navigation behind a menu button.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startGateway, type Gateway } from '../support/gateway.js';

const USER = 'root';
const PASSWORD = 'dashboard-e2e-password';

let gw: Gateway;
let browser: Browser;
beforeAll(async () => {
  gw = await startGateway({ env: { GATEHOUSE_ADMIN_USER: USER, GATEHOUSE_ADMIN_PASSWORD: PASSWORD } });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

describe('dashboard shell', () => {
  it('opens a deep link after sign-in, keeps the session across a reload, and signs out', async () => {
    const { context, page, errors } = await openPage(browser);
    try {
      await signIn(page, gw.adminUrl, USER, PASSWORD, '/ui/system');
      expect(new URL(page.url()).pathname).toBe('/ui/system');
      await page.getByRole('heading', { name: 'Status' }).waitFor();
      await page.reload();
      await page.getByRole('heading', { name: 'Status' }).waitFor();
      expect(await page.getByRole('link', { name: 'System' }).getAttribute('aria-current')).toBe('page');
      await screenshot(page, 'system');

      await page.goto(`${gw.adminUrl}/ui/no-such-page`);
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await page.reload();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('fits a narrow screen: the navigation opens from the menu button', async () => {
    const { context, page, errors } = await openPage(browser, { width: 390, colorScheme: 'dark' });
    try {
      await signIn(page, gw.adminUrl, USER, PASSWORD, '/ui/system');
      const nav = page.getByRole('navigation', { name: 'Main' });
      expect(await nav.isVisible()).toBe(false);
      await page.getByRole('button', { name: 'Menu' }).click();
      expect(await nav.isVisible()).toBe(true);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(page, 'system-narrow-dark');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  // Last: the login throttle counts per client address, and every test here signs in from loopback.
  it('says so after too many wrong passwords', async () => {
    const { context, page } = await openPage(browser);
    try {
      await page.goto(gw.adminUrl);
      await page.getByLabel('User name').fill(USER);
      await page.getByLabel('Password').fill('wrong-password');
      const button = page.getByRole('button', { name: 'Sign in' });
      let message = '';
      for (let i = 0; i < 30 && !message.includes('Too many'); i++) {
        await button.click();
        message = (await page.getByRole('alert').textContent()) ?? '';
        await page.waitForFunction(() => !document.querySelector('button[type=submit]')?.hasAttribute('disabled'));
      }
      expect(message).toContain('Too many attempts');
    } finally {
      await context.close();
    }
  });
});
