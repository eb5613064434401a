/**
 * The CLI against the real admin API (in-process app over a PGlite store, listening on loopback):
 * export → edit → diff → apply --dry-run → apply → diff clean, with the contract as the server has it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness } from '../admin/test-support/admin-harness.js';
import { EXIT } from './run-cli.js';
import { runCliCaptured } from './test-support.js';

let h: Harness;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  h = await createHarness();
  await h.app.listen('127.0.0.1', 0);
  env = { GATEHOUSE_ADMIN_URL: h.app.url(), GATEHOUSE_ADMIN_TOKEN: ADMIN_TOKEN };
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-admin-'));
});
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cli = (argv: string[], e: NodeJS.ProcessEnv = env) => runCliCaptured(argv, e);

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
    const file = join(dir, 'gateway.yaml');
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
    const history = (await h.request('GET', '/versions')).json() as { data: { version: number; message: string }[] };
    expect(history.data.find((v) => v.version === Number(version))?.message).toBe('first cut');

    const again = await cli(['diff', file]);
    expect(again).toMatchObject({ code: EXIT.ok, stdout: expect.stringMatching(/^No changes/) });
  });

  it('exports a file that validates and diffs clean', async () => {
    for (const format of ['yaml', 'json'] as const) {
      const out = join(dir, `export.${format}`);
      const r = await cli(['export', '--format', format, '-o', out]);
      expect(r.code, r.stderr).toBe(EXIT.ok);
      expect((await readFile(out, 'utf8')).length).toBeGreaterThan(0);
      expect((await cli(['validate', out])).code).toBe(EXIT.ok);
      expect((await cli(['diff', out])).code).toBe(EXIT.ok);
    }
  });

  it('reports a rejected token readably', async () => {
    const file = join(dir, 'empty.json');
    await writeFile(file, JSON.stringify({ _format_version: '1' }));
    const denied = await cli(['apply', file], { GATEHOUSE_ADMIN_URL: h.app.url(), GATEHOUSE_ADMIN_TOKEN: 'wrong' });
    expect(denied.code).toBe(EXIT.admin);
    expect(denied.stderr).toMatch(/^error: 401 .*\(GW_ERR_ADMIN_UNAUTHORIZED\)/);
    expect(denied.stderr).toContain('hint: pass --token');
  });
});
