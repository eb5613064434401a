/**
 * The CLI against the real admin API (in-process app over a PGlite store, listening on loopback):
 * export → edit → diff → apply --dry-run → apply → diff clean, with the contract as the server has it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from './run-cli.js';
import { cliAgainstAdmin } from './test-support.js';

const t = cliAgainstAdmin('gatehouse-cli-admin-');
const cli = t.cli;

const FILE = `_format_version: "1"
services:
  - name: catalog
    url: http://catalog.internal:8080
routes:
  - name: catalog-api
    service: catalog
    paths: [/catalog]
`;

describe('gatehouse CLI against the admin API', () => {
  it('applies a file and then reports no changes', async () => {
    const file = join(t.dir, 'gateway.yaml');
    await writeFile(file, FILE);

    const diff = await cli(['diff', file]);
    expect(diff.stderr).toBe('');
    expect(diff.code).toBe(EXIT.changes);
    expect(diff.stdout).toContain('+ service catalog\n');
    expect(diff.stdout).toContain('+ route catalog-api\n');

    const dry = await cli(['apply', file, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(EXIT.ok);
    expect(dry.stdout).toContain('+ route catalog-api\n');
    expect(dry.stdout).toContain('Dry run: nothing was applied.');
    expect((await cli(['diff', file])).code).toBe(EXIT.changes);

    const applied = await cli(['apply', file, '-m', 'first cut']);
    expect(applied.code, applied.stderr).toBe(EXIT.ok);
    const version = /Applied: configuration version (\d+)\./.exec(applied.stdout)?.[1];
    expect(version).toBeDefined();
    const history = (await t.h.request('GET', '/versions')).json() as { data: { version: number; message: string }[] };
    expect(history.data.find((v) => v.version === Number(version))?.message).toBe('first cut');

    const again = await cli(['diff', file]);
    expect(again).toMatchObject({ code: EXIT.ok, stdout: expect.stringMatching(/^No changes/) });
  });

  it('exports a file that validates and diffs clean', async () => {
    for (const format of ['yaml', 'json'] as const) {
      const out = join(t.dir, `export.${format}`);
      const r = await cli(['export', '--format', format, '-o', out]);
      expect(r.code, r.stderr).toBe(EXIT.ok);
      expect((await readFile(out, 'utf8')).length).toBeGreaterThan(0);
      expect((await cli(['validate', out])).code).toBe(EXIT.ok);
      expect((await cli(['diff', out])).code).toBe(EXIT.ok);
    }
  });

  it('reports a rejected token readably', async () => {
    const file = join(t.dir, 'empty.json');
    await writeFile(file, JSON.stringify({ _format_version: '1' }));
    const denied = await cli(['apply', file], { GATEHOUSE_ADMIN_URL: t.h.app.url(), GATEHOUSE_ADMIN_TOKEN: 'wrong' });
    expect(denied.code).toBe(EXIT.admin);
    expect(denied.stderr).toMatch(/^error: 401 .*\(GW_ERR_ADMIN_UNAUTHORIZED\)/);
    expect(denied.stderr).toContain('hint: pass --token');
  });
});
