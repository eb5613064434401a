/**
 * Headless Chromium for the dashboard's browser tests: the Debian `chromium` package driven by
 * playwright-core (never `npx playwright install`: no browser download happens anywhere). Pages write
 * screenshots to e2e/artifacts/screenshots/ so a run leaves pictures of the main pages to look at.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCREENSHOTS = path.join(ROOT, 'artifacts/screenshots');
export const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 30_000 });
}

export interface PageOptions {
  /** 1280 (desktop, the default) or a phone width such as 390. */
  width?: number;
  colorScheme?: 'light' | 'dark';
}

/**
 * A fresh context (own sessionStorage, cookies) and page. Console errors and failed page scripts are
 * collected: a test ends with `expect(errors).toEqual([])` so a page that throws cannot pass.
 */
export async function openPage(browser: Browser, opts: PageOptions = {}): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const width = opts.width ?? 1280;
  const context = await browser.newContext({
    viewport: { width, height: width < 800 ? 844 : 860 },
    colorScheme: opts.colorScheme ?? 'light',
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A failed request the test provokes on purpose (401, 429) is logged by Chromium as a console error too.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return { context, page, errors };
}

/** Saves a full-page screenshot as artifacts/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Signs in through the dashboard's own form and waits for the signed-in shell. */
export async function signIn(page: Page, adminUrl: string, username: string, password: string, at = '/'): Promise<void> {
  await page.goto(`${adminUrl}${at}`);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}
