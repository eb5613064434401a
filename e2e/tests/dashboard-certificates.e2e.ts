/**
 * The certificates page in a real browser against the real gateway: an operator pastes a self-signed
 * chain and key (made by `openssl` at test time), reviews and adds it; the HTTPS listener serves it on the
 * next handshake, the list shows its names and days left, and the key is never on the page. A key that
 * does not match its certificate comes back as an error on the key field.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startGateway, type Gateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';

const USER = 'root';
const PASSWORD = 'dashboard-certificates-password';

function selfSigned(cn: string, days: number): { cert: string; key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-e2e-cert-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', String(days), '-keyout', `${dir}/k.pem`, '-out', `${dir}/c.pem`, '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(`${dir}/c.pem`, 'utf8'), key: readFileSync(`${dir}/k.pem`, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function servedName(port: number, servername: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cn = s.getPeerCertificate().subject?.CN;
      s.end();
      resolve(Array.isArray(cn) ? cn[0] : cn);
    });
    s.on('error', () => resolve(undefined));
  });
}

let gw: Gateway;
let browser: Browser;
let tlsPort: number;
beforeAll(async () => {
  tlsPort = await freePort();
  gw = await startGateway({
    env: { GATEHOUSE_ADMIN_USER: USER, GATEHOUSE_ADMIN_PASSWORD: PASSWORD, GATEHOUSE_PROXY_TLS_PORT: `127.0.0.1:${tlsPort}`, GATEHOUSE_SECRET_KEY: randomBytes(32).toString('hex') },
  });
  browser = await launchBrowser();
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

describe('dashboard certificates', () => {
  it('adds a certificate from the browser, which the HTTPS listener then serves; the key never shows', async () => {
    const pair = selfSigned('shop.test', 90);
    const other = selfSigned('other.test', 90);
    const keyBody = pair.key.split('\n')[1]!;
    const { context, page, errors } = await openPage(browser);
    try {
      await signIn(page, gw.adminUrl, USER, PASSWORD, '/ui/certificates');
      await page.getByText(/No certificates/).waitFor();

      // A key of another pair: refused, and the message lands on the key field with the text kept.
      await page.getByLabel('Name', { exact: true }).fill('shop');
      await page.getByLabel(/^Certificate chain/).fill(pair.cert);
      await page.getByLabel(/^Private key/).fill(other.key);
      await page.getByRole('button', { name: 'Review' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Add' }).click();
      await page.locator('[aria-invalid="true"][name="cert-key"]').waitFor();
      expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('shop');

      await page.getByLabel(/^Private key/).fill(pair.key);
      await page.getByRole('button', { name: 'Review' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText('Add certificate shop').waitFor();
      expect(await dialog.textContent()).not.toContain(keyBody);
      await dialog.getByRole('button', { name: 'Add' }).click();

      const row = page.getByRole('row', { name: /shop/ });
      await row.getByText('shop.test', { exact: true }).waitFor();
      expect(await row.textContent()).toMatch(/8[89] days left/);
      expect(await page.content()).not.toContain(keyBody);
      await screenshot(page, 'certificates');
      expect(await servedName(tlsPort, 'shop.test')).toBe('shop.test');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
