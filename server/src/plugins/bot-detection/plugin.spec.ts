import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import plugin from './plugin.js';

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

describe('bot-detection', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [
        { name: 'builtin', service: 's', paths: ['/builtin'] },
        { name: 'rules', service: 's', paths: ['/rules'] },
        { name: 'off', service: 's', paths: ['/off'] },
      ],
      plugins: [
        { name: 'bot-detection', route: 'builtin', config: {} },
        { name: 'bot-detection', route: 'rules', config: { deny: ['^curl/', 'scrapy'], allow: ['internal-monitor', 'sqlmap-ci'], empty_user_agent: 'deny' } },
        { name: 'bot-detection', route: 'off', config: { builtin: false, deny: ['badbot'] } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  const ua = (v: string) => ({ 'user-agent': v });

  it('refuses built-in attack tools with 403 problem+json GW_ERR_BOT_FORBIDDEN', async () => {
    for (const v of ['sqlmap/1.7.2#stable (https://sqlmap.org)', 'Mozilla/5.00 (Nikto/2.1.6)', 'Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)', 'Mozilla/5.0 zgrab/0.x']) {
      const r = await send(gw.port, '/builtin', { headers: ua(v) });
      expect(r.status, v).toBe(403);
      expect(r.headers['content-type']).toBe('application/problem+json');
      expect(r.json<{ code: string }>().code).toBe('GW_ERR_BOT_FORBIDDEN');
    }
  });

  it('lets browsers, curl and requests without User-Agent through by default', async () => {
    expect((await send(gw.port, '/builtin', { headers: ua(CHROME) })).status).toBe(200);
    expect((await send(gw.port, '/builtin', { headers: ua('curl/8.5.0') })).status).toBe(200);
    expect((await send(gw.port, '/builtin')).status).toBe(200);
  });

  it('deny patterns match case-insensitively; allow wins over deny and the built-in list', async () => {
    expect((await send(gw.port, '/rules', { headers: ua('curl/8.5.0') })).status).toBe(403);
    expect((await send(gw.port, '/rules', { headers: ua('Scrapy/2.11 (+https://scrapy.org)') })).status).toBe(403);
    expect((await send(gw.port, '/rules', { headers: ua('sqlmap/1.7') })).status).toBe(403);
    expect((await send(gw.port, '/rules', { headers: ua('sqlmap-ci/1.0') })).status).toBe(200);
    expect((await send(gw.port, '/rules', { headers: ua('curl/8 internal-monitor') })).status).toBe(200);
    expect((await send(gw.port, '/rules', { headers: ua(CHROME) })).status).toBe(200);
  });

  it('empty_user_agent: deny refuses a missing or empty User-Agent', async () => {
    const r = await send(gw.port, '/rules');
    expect(r.status).toBe(403);
    expect(r.json<{ detail: string }>().detail).toMatch(/User-Agent is required/);
    expect((await send(gw.port, '/rules', { headers: ua('') })).status).toBe(403);
  });

  it('builtin: false disables the built-in list', async () => {
    expect((await send(gw.port, '/off', { headers: ua('sqlmap/1.7') })).status).toBe(200);
    expect((await send(gw.port, '/off', { headers: ua('BadBot/1') })).status).toBe(403);
  });

  it('refuses an invalid pattern at create', () => {
    expect(() => plugin.create({ allow: ['('], deny: [], builtin: true, empty_user_agent: 'allow' }, { logger: console, scope: 'global', route: undefined })).toThrow(/invalid User-Agent pattern/);
  });
});
