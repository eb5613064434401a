/**
 * Tests of `gatehouse import` and `gatehouse export --format deck`. The admin API peer of the export is a
 * loopback node:http server answering `GET /config` with a document, as the admin API does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDocument } from '../config/check.js';
import type { ConfigDocument } from '../config/schema.js';
import { PLUGINS } from '../plugins/index.js';
import { keyedHash } from '../auth/secrets.js';
import { EXIT } from './run-cli.js';
import { runCliCaptured } from './test-support.js';

const FIXTURES = join(import.meta.dirname, '..', 'importers', 'kong', 'fixtures');
let dir: string;
let server: Server;
let adminUrl: string;
let served: unknown;
const seen: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-import-'));
  server = createServer(function answer(req, res) {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(served));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  adminUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

const cli = runCliCaptured;
async function file(name: string, text: string) {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

describe('gatehouse import kong', () => {
  it('prints a valid Gatehouse document and the report grouped by outcome with counts', async () => {
    const r = await cli(['import', 'kong', join(FIXTURES, 'dump.yaml')]);
    expect(r.code).toBe(EXIT.ok);
    const doc = parse(r.stdout) as ConfigDocument;
    expect(doc._format_version).toBe('1');
    expect(checkDocument(doc, PLUGINS).ok).toBe(true);
    expect(doc.services.map((s) => s.name)).toEqual(['billing', 'legacy-soap']);
    expect(r.stderr).toMatch(/^Import of .*dump\.yaml \(kong\): \d+ mapped, \d+ approximated, \d+ not mapped\n/);
    expect(r.stderr).toMatch(/\nMapped \(\d+\):\n/);
    expect(r.stderr).toMatch(/\nApproximated \(check the differences\) \(\d+\):\n/);
    expect(r.stderr).toMatch(/\nNot mapped \(\d+\):\n(.*\n)* {2}plugins\[7\] \(file-log\): the Kong plugin 'file-log'/);
    expect(r.stdout).not.toContain('Mapped');
  });

  it('writes JSON to a file with --format json -o, and the report as JSON with --report json', async () => {
    const out = join(dir, 'out.json');
    const r = await cli(['import', 'kong', join(FIXTURES, 'shop.yaml'), '--format', 'json', '-o', out, '--report', 'json']);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toBe('');
    const written = JSON.parse(await readFile(out, 'utf8')) as ConfigDocument;
    expect(written.routes.map((x) => x.name)).toContain('order-by-id');
    const jsonPart = r.stderr.slice(0, r.stderr.lastIndexOf('}') + 1);
    const report = JSON.parse(jsonPart) as { summary: { mapped: number; approximated: number; unmapped: number }; entries: { outcome: string; source: string }[] };
    expect(report.summary.mapped + report.summary.approximated + report.summary.unmapped).toBe(report.entries.length);
    expect(report.summary.unmapped).toBe(report.entries.filter((e) => e.outcome === 'unmapped').length);
    expect(report.entries.some((e) => e.source === 'consumers[0].keyauth_credentials[0]' && e.outcome === 'unmapped')).toBe(true);
    expect(r.stderr).toContain(`Wrote `);
  });

  it('carries API keys over when the shell has the cluster credential keys', async () => {
    const pepper = 'p'.repeat(40);
    const r = await cli(['import', 'kong', join(FIXTURES, 'top-level.yaml')], { GATEHOUSE_CREDENTIAL_PEPPER: pepper, GATEHOUSE_SECRET_KEY: 'k'.repeat(64).replace(/k/g, 'a') });
    expect(r.code).toBe(EXIT.ok);
    const doc = parse(r.stdout) as ConfigDocument;
    const keys = { pepper: Buffer.from(pepper, 'utf8'), encryptionKey: Buffer.alloc(32), encryptionKeySource: 'env' as const };
    expect(doc.credentials).toEqual([expect.objectContaining({ kind: 'key-auth', consumer: 'analytics', key_hash: keyedHash(keys, 'analytics-key-0123456789abcdef') })]);
    expect(r.stdout).not.toContain('analytics-key-0123456789abcdef');
  });

  it('exits 1 with a clear message on input that is not a Kong file', async () => {
    const notYaml = await cli(['import', 'kong', await file('broken.yaml', '_format_version: "3.0"\nservices: [\n')]);
    expect(notYaml.code).toBe(EXIT.invalid);
    expect(notYaml.stderr).toMatch(/^error: .*broken\.yaml is not a Kong declarative file: YAML syntax error/);
    expect(notYaml.stdout).toBe('');
    const old = await cli(['import', 'kong', await file('old.yaml', '_format_version: "1.1"\n')]);
    expect(old.code).toBe(EXIT.invalid);
    expect(old.stderr).toContain('_format_version "1.1" is not supported');
    const dup = await cli(['import', 'kong', await file('dup.yaml', '_format_version: "3.0"\nservices:\n  - { name: a, url: "http://a" }\n  - { name: a, url: "http://a" }\n')]);
    expect(dup.code).toBe(EXIT.invalid);
    expect(dup.stderr).toContain("duplicate service name 'a'");
  });

  it('exits 1 and prints the problems when the converted document is invalid', async () => {
    const p = await file('bad-status.yaml', '_format_version: "3.0"\nplugins:\n  - name: ip-restriction\n    config: { deny: [10.0.0.1], status: 200 }\n');
    const r = await cli(['import', 'kong', p]);
    expect(r.code).toBe(EXIT.invalid);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error: the converted document is not valid:');
    expect(r.stderr).toMatch(/ {2}\/plugins\/0\/config\/status: /);
  });

  it('exits 2 on usage errors and unreadable files', async () => {
    expect((await cli(['import', 'kong'])).code).toBe(EXIT.usage);
    const unknown = await cli(['import', 'nginx', join(FIXTURES, 'shop.yaml')]);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toContain("unknown import format 'nginx' (known: ");
    expect(unknown.stderr).toContain('kong');
    expect((await cli(['import', 'kong', join(FIXTURES, 'shop.yaml'), '--format', 'xml'])).code).toBe(EXIT.usage);
    expect((await cli(['import', 'kong', join(FIXTURES, 'shop.yaml'), '--report', 'html'])).code).toBe(EXIT.usage);
    const missing = await cli(['import', 'kong', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain('cannot read');
    expect((await cli(['help'])).stdout).toContain('import <format> <file>');
  });
});

describe('gatehouse export --format deck', () => {
  it("prints the running configuration as decK 3.0 YAML and the exporter's report on stderr", async () => {
    served = {
      _format_version: '1',
      services: [{ name: 'users', url: 'http://users:8080' }],
      routes: [{ name: 'users', service: 'users', paths: ['/users'], query: { v: ['2'] } }],
      plugins: [{ name: 'cors', route: 'users', config: { origins: ['https://app.example'] } }],
    };
    seen.length = 0;
    const r = await cli(['export', '--format', 'deck', '--admin-url', adminUrl]);
    expect(r.code).toBe(EXIT.ok);
    expect(seen).toEqual(['GET /config?format=json']);
    const kong = parse(r.stdout) as { _format_version: string; services: { name: string; routes: { name: string }[] }[]; plugins: { name: string; route: string }[] };
    expect(kong._format_version).toBe('3.0');
    expect(kong.services[0]).toMatchObject({ name: 'users', url: 'http://users:8080', routes: [{ name: 'users', paths: ['/users'] }] });
    expect(kong.plugins[0]).toMatchObject({ name: 'cors', route: 'users' });
    expect(r.stderr).toMatch(/^Export to Kong decK: \d+ mapped, 3 approximated, 0 not mapped/);
    expect(r.stderr).toContain('routes/users → services[0].routes[0]: query matching has no Kong equivalent');
  });

  it('refuses an unknown format', async () => {
    const r = await cli(['export', '--format', 'toml', '--admin-url', adminUrl]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain('yaml, json or deck');
  });
});
