/**
 * Limits, history and audit in a real browser against the real gateway and a real upstream: add a
 * global rate limit in the Limits view and see the proxy answer 429 and the page count the 429s from the
 * live stream; add a route override that lifts the limit on one route, roll it back from History with
 * one click and see the proxy limit that route again; find both changes, by the signed-in user, in the
 * audit log. One sign-in for the whole file (the login is throttled per client address).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const USER = 'root';
const PASSWORD = 'limits-e2e-password';

let gw: Gateway;
let up: Upstream;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];

async function statuses(path: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${gw.proxyUrl}${path}`);
    await r.arrayBuffer();
    out.push(r.status);
  }
  return out;
}

async function latestVersion(): Promise<number> {
  const r = await gw.admin('/versions?limit=1');
  return ((await r.json()) as { data: { version: number }[] }).data[0]!.version;
}

beforeAll(async () => {
  [gw, up] = await Promise.all([startGateway({ env: { GATEHOUSE_ADMIN_USER: USER, GATEHOUSE_ADMIN_PASSWORD: PASSWORD } }), startUpstream('echo')]);
  const post = (path: string, body: unknown) => gw.admin(path, { method: 'POST', body: JSON.stringify(body) }).then((r) => expect(r.status, path).toBe(201));
  await post('/services', { name: 'echo', url: up.url });
  await post('/routes', { name: 'api', service: 'echo', paths: ['/api'] });
  await post('/routes', { name: 'other', service: 'echo', paths: ['/other'] });
  browser = await launchBrowser();
  ({ context, page, errors } = await openPage(browser));
  await signIn(page, gw.adminUrl, USER, PASSWORD, '/ui/limits');
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await gw?.stop();
  await up?.close();
});

describe('limits, history and audit in the dashboard', () => {
  it('adds a global limit in the Limits view; the proxy answers 429 and the page counts them', async () => {
    expect(await statuses('/api', 4)).toEqual([200, 200, 200, 200]);
    await page.getByText('No limits yet').waitFor();
    await page.getByText('Connecting to the live stream').or(page.getByText('429s in the last 60 s')).first().waitFor();

    await page.getByRole('button', { name: 'Add limit' }).click();
    const form = page.getByRole('form', { name: 'Add a limit' });
    await form.getByLabel('Per minute').fill('3');
    await form.getByRole('button', { name: 'Review change' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add rate-limiting (Global)' });
    expect(await dialog.getByLabel('Changes').textContent()).toContain('"minute": 3');
    await dialog.getByRole('button', { name: 'Add limit' }).click();
    await page.getByText('Add rate-limiting (Global): applied.').waitFor();

    const configured = page.getByRole('table', { name: 'Configured limits' });
    expect(await configured.getByRole('row').nth(1).getByRole('cell').allTextContents()).toEqual(
      expect.arrayContaining(['Global', 'rate', '3/min', 'ip', 'local', 'fail-open', 'enabled']),
    );
    const apiRow = page.getByRole('table', { name: 'Effective limit per route' }).getByRole('row', { name: /^api / });
    expect(await apiRow.getByRole('cell').nth(2).textContent()).toMatch(/^global/);

    // The change is live on the proxy: the limiter starts counting now, 3 per minute per client address.
    let got: number[] = [];
    for (let i = 0; i < 20 && !got.includes(429); i++) {
      got = await statuses('/api', 6);
      if (!got.includes(429)) await new Promise((r) => setTimeout(r, 200));
    }
    expect(got.filter((s) => s === 429).length).toBeGreaterThanOrEqual(3);
    const limited = got.filter((s) => s === 429).length;

    // The live stream reports the 429s of each second; the page sums the last minute.
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=limited-total]')?.textContent ?? 0) >= n, limited, { timeout: 15_000 });
    await page.waitForFunction(
      (n) => {
        const row = [...document.querySelectorAll('table[aria-label="Effective limit per route"] tr')].find((r) => r.querySelector('th')?.textContent === 'api');
        return Number(row?.querySelector('.limited-count')?.textContent ?? 0) >= n;
      },
      limited,
      { timeout: 15_000 },
    );
    await screenshot(page, 'limits');

    // Narrow screen: the page fits, its tables scroll inside their own box.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'limits-narrow');
    await page.setViewportSize({ width: 1280, height: 860 });
    expect(errors).toEqual([]);
  });

  it('lifts the limit on one route with an override, then rolls it back in History with one click', async () => {
    const beforeOverride = await latestVersion();
    await page.getByRole('button', { name: 'Add limit' }).click();
    const form = page.getByRole('form', { name: 'Add a limit' });
    await form.getByLabel('Scope').selectOption('route');
    await form.getByLabel('Route', { exact: true }).selectOption('other');
    await form.getByLabel('Per minute').fill('100');
    await form.getByLabel('Also enforce the global limit').uncheck();
    await form.getByRole('button', { name: 'Review change' }).click();
    await page.getByRole('dialog', { name: 'Add rate-limiting (Route other)' }).getByRole('button', { name: 'Add limit' }).click();
    await page.getByText('Add rate-limiting (Route other): applied.').waitFor();
    const otherRow = page.getByRole('table', { name: 'Effective limit per route' }).getByRole('row', { name: /^other / });
    expect(await otherRow.getByRole('cell').nth(2).textContent()).toMatch(/^route override/);

    // The global limit is used up for this client, but the override replaces it on /other.
    expect(await statuses('/api', 1)).toEqual([429]);
    let other: number[] = [];
    for (let i = 0; i < 20; i++) {
      other = await statuses('/other', 5);
      if (other.every((s) => s === 200)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(other).toEqual([200, 200, 200, 200, 200]);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History' }).click();
    await page.getByRole('heading', { name: 'Config history' }).waitFor();
    const rows = page.getByRole('table', { name: 'Config versions' }).getByRole('row');
    expect(await rows.nth(1).getByRole('rowheader').textContent()).toBe(`v${beforeOverride + 1} current`);

    await page.getByRole('button', { name: `Roll back to version ${beforeOverride}`, exact: true }).click();
    const dialog = page.getByRole('dialog', { name: `Roll back to version ${beforeOverride}` });
    await dialog.getByLabel('Changes').waitFor();
    const removed = await dialog.locator('.diff-del').allTextContents();
    const added = await dialog.locator('.diff-add').allTextContents();
    expect(removed.join('\n'), JSON.stringify({ removed, added })).toContain('"route": "other"');
    expect(added, JSON.stringify({ removed, added })).toEqual([]);
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await page.getByText(`Rolled back to version ${beforeOverride}; the config is now version ${beforeOverride + 2}.`).waitFor();
    expect(await rows.nth(1).getByRole('cell').nth(2).textContent()).toBe(`rollback to v${beforeOverride}`);
    // The rolled-back version, compared with the current config, is the override again.
    await page.getByRole('button', { name: `View version ${beforeOverride + 1}`, exact: true }).click();
    const detail = page.getByRole('region', { name: `Version ${beforeOverride + 1}` });
    await detail.getByLabel('Changes').waitFor();
    expect((await detail.locator('.diff-add').allTextContents()).join('\n')).toContain('"route": "other"');
    await screenshot(page, 'history');

    // The proxy is back to the global limit on /other.
    let back: number[] = [];
    for (let i = 0; i < 20 && !back.includes(429); i++) {
      back = await statuses('/other', 4);
      if (!back.includes(429)) await new Promise((r) => setTimeout(r, 200));
    }
    expect(back).toContain(429);
    const plugins = (await (await gw.admin('/plugins?route=other')).json()) as { data: unknown[] };
    expect(plugins.data).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('lists the changes with the signed-in user in the audit log', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    const table = page.getByRole('table', { name: 'Audit events' });
    await table.waitFor();
    const first = table.getByRole('row').nth(1);
    expect(await first.getByRole('cell').allTextContents()).toEqual(expect.arrayContaining(['root (admin)', 'versions.rollback']));
    await first.getByRole('button', { name: /^Changes/ }).click();
    await page.getByText(/Config version \d+ → \d+/).waitFor();
    await page.getByRole('button', { name: 'Show the config diff' }).click();
    await page.locator('.audit-detail .diff').waitFor();
    expect(await page.locator('.audit-detail .diff-del').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('"route": "other"')]));

    await page.getByLabel('Action').fill('plugins.');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForFunction(() => new URL(location.href).searchParams.get('action') === 'plugins.');
    await table.getByRole('row').nth(2).waitFor();
    const actions = await table.locator('tbody tr:not(.audit-detail) td:nth-child(3)').allTextContents();
    expect(actions).toEqual(['plugins.create', 'plugins.create']);
    const who = await table.locator('tbody tr:not(.audit-detail) td:nth-child(2)').allTextContents();
    expect(who).toEqual(['root (admin)', 'root (admin)']);
    // The newest plugin creation is the route override: its entry shows the plugin as created.
    await table.getByRole('row').nth(1).getByRole('button', { name: /^Changes/ }).click();
    expect((await page.locator('.audit-detail .diff-add').allTextContents()).join('\n')).toContain('"route": "other"');
    await screenshot(page, 'audit');
    expect(errors).toEqual([]);
  });
});
