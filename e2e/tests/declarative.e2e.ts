/**
 * Declarative config end to end: the CLI validates a file offline, diffs and applies it against a running
 * gateway, exports it back; DB-less mode serves a file with a read-only admin API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_TOKEN, CLI, startGateway, type Gateway } from '../support/gateway.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const run = promisify(execFile);
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function waitFor(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('declarative config', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-e2e-decl-'));
  let upstream: Upstream;
  let gw: Gateway;
  let file: string;

  beforeAll(async () => {
    upstream = await startUpstream('catalog');
    file = path.join(dir, 'gatehouse.yaml');
    writeFileSync(
      file,
      [
        '_format_version: "1"',
        'services:',
        '  - name: catalog',
        `    url: ${upstream.url}`,
        'routes:',
        '  - name: catalog',
        '    service: catalog',
        '    paths: [/catalog]',
        'plugins:',
        '  - name: response-headers',
        '    route: catalog',
        '    config:',
        '      add:',
        '        x-served-by: gatehouse',
        '',
      ].join('\n'),
    );
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('validate reports every problem with a path into the file', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, ['_format_version: "1"', 'routes:', '  - name: a', '    service: missing', '    paths: ["~(unclosed"]', 'plugins:', '  - name: no-such-plugin', ''].join('\n'));
    const r = await cli(['validate', bad]);
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toContain('/routes/0/service');
    expect(out).toContain('/routes/0/paths/0');
    expect(out).toContain('/plugins/0/name');
    expect((await cli(['validate', file])).code).toBe(0);
  });

  it('diff, apply and export round-trip through the running gateway', async () => {
    const env = { GATEHOUSE_ADMIN_URL: gw.adminUrl, GATEHOUSE_ADMIN_TOKEN: ADMIN_TOKEN };
    const diff = await cli(['diff', file], env);
    expect(diff.stdout).toMatch(/\+ .*route.*catalog/);
    const apply = await cli(['apply', file, '--message', 'e2e apply'], env);
    expect(apply.code).toBe(0);
    const res = await fetch(`${gw.proxyUrl}/catalog/items`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-served-by')).toBe('gatehouse');
    const again = await cli(['diff', file], env);
    expect(again.code).toBe(0);
    const exported = path.join(dir, 'export.yaml');
    expect((await cli(['export', '--format', 'yaml', '--output', exported], env)).code).toBe(0);
    expect(readFileSync(exported, 'utf8')).toContain('x-served-by');
    const roundTrip = await cli(['diff', exported], env);
    expect(roundTrip.code).toBe(0);
  });

  it('runs DB-less from a file with a read-only admin API', async () => {
    const dbFile = path.join(dir, 'dbless.yaml');
    writeFileSync(dbFile, readFileSync(file, 'utf8'));
    const dbless = await startGateway({ env: { GATEWAY_CONFIG: dbFile } });
    try {
      const res = await fetch(`${dbless.proxyUrl}/catalog/x`);
      expect(res.status).toBe(200);
      const write = await dbless.admin('/services', { method: 'POST', body: JSON.stringify({ name: 'x', url: upstream.url }) });
      expect(write.status).toBe(405);
      expect(((await write.json()) as { code: string }).code).toBe('GW_ERR_ADMIN_READ_ONLY');
      const routes = (await (await dbless.admin('/routes')).json()) as { data: { name: string }[] };
      expect(routes.data.map((r) => r.name)).toEqual(['catalog']);

      // SIGHUP re-reads the file; an invalid edit is refused and the old config keeps serving.
      writeFileSync(dbFile, readFileSync(file, 'utf8').replace('paths: [/catalog]', 'paths: [/catalog, /shop]'));
      dbless.process.kill('SIGHUP');
      await waitFor(async () => (await fetch(`${dbless.proxyUrl}/shop/x`)).status === 200);
      writeFileSync(dbFile, 'services: [oops');
      dbless.process.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
      expect((await fetch(`${dbless.proxyUrl}/shop/x`)).status).toBe(200);
      expect(dbless.logs()).toContain('config file reload failed');
    } finally {
      await dbless.stop();
    }
  });
});
