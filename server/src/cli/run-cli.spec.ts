/**
 * Tests of the CLI commands. The admin API peer is a real loopback node:http server answering with
 * recorded responses of the admin API's shapes, and recording what the CLI sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { diffDocuments } from '../config/diff.js';
import { serializeConfig } from '../config/config-file.js';
import { ConfigDocumentSchema, type ConfigDocument } from '../config/schema.js';
import { validate } from '../config/validate.js';
import { EXIT } from './run-cli.js';
import { runCliCaptured } from './test-support.js';

interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}
type Handler = (req: Recorded, res: ServerResponse) => void;

let server: Server;
let adminUrl: string;
let handler: Handler;
const requests: Recorded[] = [];
let dir: string;

beforeAll(async () => {
  server = createServer(function record(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(r);
      handler(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  adminUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  requests.length = 0;
  handler = (_req, res) => sendJson(res, 500, { title: 'unexpected request' });
});

function sendJson(res: ServerResponse, status: number, body: unknown, type = 'application/json') {
  res.writeHead(status, { 'content-type': type });
  res.end(JSON.stringify(body));
}
function problem(res: ServerResponse, status: number, body: object) {
  sendJson(res, status, { type: `https://gatehouse.dev/errors/x`, status, ...body }, 'application/problem+json');
}

function full(input: unknown): ConfigDocument {
  const v = validate(ConfigDocumentSchema, input);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.value;
}

const running = full({
  _format_version: '1',
  services: [{ name: 'users', url: 'http://users:8080' }],
  routes: [{ name: 'users', service: 'users', paths: ['/users'] }],
});
const wantedYaml = `_format_version: "1"
services:
  - name: users
    url: http://users:9090
routes:
  - name: users
    service: users
    paths: [/users]
  - name: orders
    service: users
    paths: [/orders]
`;
const wanted = full({
  _format_version: '1',
  services: [{ name: 'users', url: 'http://users:9090' }],
  routes: [
    { name: 'users', service: 'users', paths: ['/users'] },
    { name: 'orders', service: 'users', paths: ['/orders'] },
  ],
});

const cli = runCliCaptured;
async function file(name: string, text: string) {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

describe('usage', () => {
  it.each([
    { argv: [], why: 'no command' },
    { argv: ['frobnicate'], why: 'unknown command' },
    { argv: ['validate'], why: 'missing file' },
    { argv: ['validate', 'a', 'b'], why: 'two files' },
    { argv: ['validate', 'a', '--bogus'], why: 'unknown option' },
    { argv: ['export', '--format', 'xml'], why: 'bad format' },
    { argv: ['export', '--admin-url', 'ftp://x'], why: 'bad admin url' },
  ])('$why exits 2 with the usage', async ({ argv }) => {
    const r = await cli(argv);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain('Usage: gatehouse');
    expect(requests).toHaveLength(0);
  });

  it('help prints the usage on stdout', async () => {
    const r = await cli(['help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Exit codes');
  });
});

describe('validate', () => {
  it('accepts a valid file', async () => {
    const r = await cli(['validate', await file('ok.yaml', wantedYaml)]);
    expect(r).toMatchObject({ code: EXIT.ok, stderr: '' });
    expect(r.stdout).toMatch(/ok\.yaml: valid \(1 services, 2 routes, 0 upstreams, 0 consumers, 0 plugins\)/);
  });

  it('prints every problem with its pointer and position', async () => {
    const p = await file(
      'bad.yaml',
      `_format_version: "1"
services:
  - name: users
routes:
  - name: a
    service: nope
  - name: a
    paths: ["relative"]
plugins:
  - name: no-such-plugin
`,
    );
    const r = await cli(['validate', p]);
    expect(r.code).toBe(EXIT.invalid);
    expect(r.stdout).toContain(`${p}: /services/0: needs \`url\` or \`host\` (line 3, column 5)\n`);
    expect(r.stdout).toContain(`${p}: /routes/0/service: service 'nope' does not exist (line 6, column 14)\n`);
    expect(r.stdout).toContain(`${p}: /routes/1/name: duplicate name 'a' (line 7, column 11)\n`);
    expect(r.stdout).toContain(`${p}: /routes/1/paths/0: a path must start with`);
    expect(r.stdout).toContain(`${p}: /plugins/0/name: unknown plugin 'no-such-plugin'`);
    expect(r.stdout).toContain(`${p}: 5 problems\n`);
  });

  it('reports schema errors', async () => {
    const r = await cli(['validate', await file('schema.json', '{"_format_version": "1", "services": [{"name": "s", "url": "http://a", "retries": 99}]}')]);
    expect(r.code).toBe(EXIT.invalid);
    expect(r.stdout).toMatch(/schema\.json: \/services\/0\/retries: .+ \(line 1, column \d+\)/);
  });

  it('reports syntax errors with line and column', async () => {
    const r = await cli(['validate', await file('syntax.yaml', 'services:\n  - name: a\n  bad: [\n')]);
    expect(r.code).toBe(EXIT.invalid);
    expect(r.stdout).toMatch(/syntax\.yaml: \/: YAML syntax error: .+ \(line \d+, column \d+\)/);
  });

  it('exits 2 on a missing file', async () => {
    const r = await cli(['validate', join(dir, 'missing.yaml')]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/cannot read .*missing\.yaml: ENOENT/);
  });
});

describe('diff', () => {
  it('fetches the running config with the token and prints the changes (exit 3)', async () => {
    handler = (req, res) => (req.method === 'GET' && req.url === '/config?format=json' ? sendJson(res, 200, running) : res.writeHead(404).end());
    const r = await cli(['diff', await file('w.yaml', wantedYaml)], { GATEHOUSE_ADMIN_URL: adminUrl, GATEHOUSE_ADMIN_TOKEN: 'sekret' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.changes);
    expect(r.stdout).toBe(
      '+ route orders\n~ service users: /url "http://users:8080" → "http://users:9090"\n1 created, 1 updated, 0 deleted, 1 unchanged.\n' +
        "Routes whose behaviour changes (1):\n  route users: service 'users' (/url)\n",
    );
    expect(requests[0]?.authorization).toBe('Bearer sekret');
  });

  it('exits 0 when nothing changes; --admin-url and --token override the environment', async () => {
    handler = (_req, res) => sendJson(res, 200, wanted);
    const r = await cli(['diff', await file('w.yaml', wantedYaml), '--admin-url', `${adminUrl}/`, '--token', 'flag'], {
      GATEHOUSE_ADMIN_URL: 'http://127.0.0.1:1',
      GATEHOUSE_ADMIN_TOKEN: 'env',
    });
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toBe('No changes (3 unchanged).\n');
    expect(requests[0]).toMatchObject({ url: '/config?format=json', authorization: 'Bearer flag' });
  });

  it('does not call the admin API when the file is invalid', async () => {
    const r = await cli(['diff', await file('bad.yaml', '_format_version: "2"\n'), '--admin-url', adminUrl]);
    expect(r.code).toBe(EXIT.invalid);
    expect(r.stderr).toContain('/_format_version');
    expect(requests).toHaveLength(0);
  });

  it('prints a problem+json answer readably (exit 4)', async () => {
    handler = (_req, res) =>
      problem(res, 401, { title: 'Authentication required', code: 'GW_ERR_ADMIN_UNAUTHORIZED', detail: 'send `Authorization: Bearer <token>`' });
    const r = await cli(['diff', await file('w.yaml', wantedYaml), '--admin-url', adminUrl]);
    expect(r.code).toBe(EXIT.admin);
    expect(r.stderr).toBe(
      'error: 401 Authentication required (GW_ERR_ADMIN_UNAUTHORIZED): send `Authorization: Bearer <token>`\n' +
        '  hint: pass --token or set GATEHOUSE_ADMIN_TOKEN\n',
    );
    expect(requests[0]?.authorization).toBeUndefined();
  });

  it('reports an unreachable admin API (exit 4)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await cli(['diff', await file('w.yaml', wantedYaml), '--admin-url', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(EXIT.admin);
    expect(r.stderr).toMatch(/cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+\/config: ECONNREFUSED/);
  });

  it('reports a non-JSON error page (exit 4)', async () => {
    handler = (_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>');
    const r = await cli(['diff', await file('w.yaml', wantedYaml), '--admin-url', adminUrl]);
    expect(r.code).toBe(EXIT.admin);
    expect(r.stderr).toBe('error: the admin API answered 502: <h1>Bad Gateway</h1>\n');
  });
});

describe('apply', () => {
  it('PUTs the file as JSON with the message and prints the diff and the new version', async () => {
    handler = (_req, res) => sendJson(res, 200, { version: 7, changed: true, diff: diffDocuments(running, wanted) });
    const r = await cli(['apply', await file('w.yaml', wantedYaml), '--admin-url', adminUrl, '-m', 'more routes & stuff']);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toContain('+ route orders\n');
    expect(r.stdout).toMatch(/Applied: configuration version 7\.\n$/);
    const req = requests[0]!;
    expect(req.method).toBe('PUT');
    expect(new URL(req.url, adminUrl).pathname).toBe('/config');
    expect(new URL(req.url, adminUrl).searchParams.get('message')).toBe('more routes & stuff');
    expect(new URL(req.url, adminUrl).searchParams.has('dry_run')).toBe(false);
    expect(req.contentType).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({
      _format_version: '1',
      services: [{ name: 'users', url: 'http://users:9090' }],
      routes: [
        { name: 'users', service: 'users', paths: ['/users'] },
        { name: 'orders', service: 'users', paths: ['/orders'] },
      ],
    });
  });

  it('--dry-run asks for the diff only', async () => {
    handler = (_req, res) => sendJson(res, 200, { diff: diffDocuments(running, wanted) });
    const r = await cli(['apply', await file('w.yaml', wantedYaml), '--admin-url', adminUrl, '--dry-run']);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toContain('~ service users: /url');
    expect(r.stdout).toMatch(/Dry run: nothing was applied\.\n$/);
    expect(requests[0]?.url).toBe('/config?dry_run=true');
  });

  it('says when nothing changed', async () => {
    handler = (_req, res) => sendJson(res, 200, { version: 6, changed: false, diff: diffDocuments(wanted, wanted) });
    const r = await cli(['apply', await file('w.yaml', wantedYaml), '--admin-url', adminUrl]);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toBe('No changes (3 unchanged).\nNo changes; the configuration stays at version 6.\n');
  });

  it('maps server validation errors back to file positions (exit 1)', async () => {
    handler = (_req, res) =>
      problem(res, 400, {
        title: 'The configuration is invalid',
        code: 'GW_ERR_CONFIG_INVALID',
        detail: '/routes/1/paths/0: conflicts with route users',
        errors: [{ path: '/routes/1/paths/0', message: 'conflicts with route users' }],
      });
    const p = await file('w.yaml', wantedYaml);
    const r = await cli(['apply', p, '--admin-url', adminUrl]);
    expect(r.code).toBe(EXIT.invalid);
    expect(r.stderr).toBe(
      `error: 400 The configuration is invalid (GW_ERR_CONFIG_INVALID)\n  ${p}: /routes/1/paths/0: conflicts with route users (line 11, column 13)\n`,
    );
  });

  it('reports a read-only gateway (exit 4)', async () => {
    handler = (_req, res) => problem(res, 405, { title: 'The gateway runs from a declarative file (DB-less mode); the admin API is read-only', code: 'GW_ERR_ADMIN_READ_ONLY' });
    const r = await cli(['apply', await file('w.yaml', wantedYaml), '--admin-url', adminUrl]);
    expect(r.code).toBe(EXIT.admin);
    expect(r.stderr).toMatch(/^error: 405 .*read-only \(GW_ERR_ADMIN_READ_ONLY\)\n$/);
  });
});

describe('export', () => {
  const exported = serializeConfig(running, 'yaml');

  it('prints the server’s serialisation unchanged, yaml by default', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/yaml' }).end(exported);
    const r = await cli(['export', '--admin-url', adminUrl]);
    expect(r).toEqual({ code: EXIT.ok, stdout: exported, stderr: '' });
    expect(requests[0]?.url).toBe('/config?format=yaml');
  });

  it('writes --output atomically and leaves no temp file', async () => {
    const json = serializeConfig(running, 'json');
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(json);
    const out = join(dir, 'export-out', 'gateway.json');
    await rm(join(dir, 'export-out'), { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'export-out')));
    const r = await cli(['export', '--format', 'json', '-o', out, '--admin-url', adminUrl]);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toBe('');
    expect(await readFile(out, 'utf8')).toBe(json);
    expect(await readdir(join(dir, 'export-out'))).toEqual(['gateway.json']);
    expect(requests[0]?.url).toBe('/config?format=json');
  });

  it('exits 2 when the output cannot be written', async () => {
    handler = (_req, res) => res.writeHead(200).end(exported);
    const r = await cli(['export', '-o', join(dir, 'no-such-dir', 'x.yaml'), '--admin-url', adminUrl]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/cannot write/);
  });

  it('an exported file validates and diffs clean against the same server', async () => {
    handler = (req, res) => (req.url === '/config?format=json' ? sendJson(res, 200, running) : res.writeHead(200).end(exported));
    const out = join(dir, 'roundtrip.yaml');
    expect((await cli(['export', '-o', out, '--admin-url', adminUrl])).code).toBe(EXIT.ok);
    expect((await cli(['validate', out])).code).toBe(EXIT.ok);
    const d = await cli(['diff', out, '--admin-url', adminUrl]);
    expect(d).toMatchObject({ code: EXIT.ok, stdout: 'No changes (2 unchanged).\n' });
  });
});
