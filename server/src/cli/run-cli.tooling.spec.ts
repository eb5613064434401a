/**
 * Config tooling of the CLI: route warnings in validate (--strict), secret references, affected routes in
 * diff / apply --dry-run, export without clear secrets, history and rollback. The gateway side is the
 * real admin app (PGlite store) on loopback, as in run-cli.admin.spec.ts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from './run-cli.js';
import { cliAgainstAdmin } from './test-support.js';

const t = cliAgainstAdmin('gatehouse-cli-tooling-');
const cli = t.cli;

async function file(name: string, text: string): Promise<string> {
  const path = join(t.dir, name);
  await writeFile(path, text);
  return path;
}

const SHADOWED = `_format_version: "1"
services:
  - name: orders
    url: http://orders.internal:8080
routes:
  - name: orders-all
    service: orders
    hosts: [api.example.com]
    paths: [/orders]
    priority: 10
  - name: order-items
    service: orders
    hosts: [api.example.com]
    paths: [/orders/items]
    methods: [GET]
  - name: twin-b
    service: orders
    paths: [/twin]
  - name: twin-a
    service: orders
    paths: [/twin]
`;

describe('validate: route warnings', () => {
  it('prints shadowed and conflicting routes as warnings with their position, exit 0', async () => {
    const f = await file('shadowed.yaml', SHADOWED);
    const r = await cli(['validate', f]);
    expect(r.code, r.stdout).toBe(EXIT.ok);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/shadowed\.yaml: \/routes\/1: warning: route 'order-items' can never match: .*route 'orders-all'.*priority 10 > 0.*\(line 11, column 5\)$/);
    expect(lines[1]).toMatch(/\/routes\/2: warning: route 'twin-b' has the same .* as route 'twin-a': the match is ambiguous/);
    expect(r.stdout).toContain('shadowed.yaml: 2 warnings\n');
    expect(r.stdout).toMatch(/: valid \(1 services, 4 routes/);
  });

  it('--strict turns the warnings into errors, exit 1', async () => {
    const f = await file('shadowed-strict.yaml', SHADOWED);
    const r = await cli(['validate', '--strict', f]);
    expect(r.code).toBe(EXIT.invalid);
    expect(r.stdout).toMatch(/\/routes\/1: error: route 'order-items' can never match/);
    expect(r.stdout).toContain('2 problems (warnings are errors with --strict)');
    expect(r.stdout).not.toContain('valid (');
    const clean = await file('clean.yaml', `_format_version: "1"\nroutes: [{ name: a, paths: [/a] }, { name: b, paths: [/a/b] }]\n`);
    expect(await cli(['validate', '--strict', clean])).toMatchObject({ code: EXIT.ok, stdout: expect.stringMatching(/valid \(0 services, 2 routes/) });
  });
});

describe('secret references', () => {
  const WITH_REFS = `_format_version: "1"
plugins:
  - name: oauth2-introspection
    config:
      client_id: gateway
      client_secret: "{env://GH_CLIENT_SECRET}"
      introspection_endpoint: "{file://secrets/endpoint}"
`;

  it('validate reports a missing variable and an unreadable file at their pointers, with every other problem', async () => {
    const f = await file('refs-missing.yaml', WITH_REFS.replace('client_id: gateway', 'client_id: ""'));
    const r = await cli(['validate', f], {});
    expect(r.code).toBe(EXIT.invalid);
    expect(r.stdout).toMatch(/\/plugins\/0\/config\/client_secret: environment variable GH_CLIENT_SECRET is not set \(line 6/);
    expect(r.stdout).toMatch(/\/plugins\/0\/config\/introspection_endpoint: cannot read secret file .*secrets\/endpoint/);
    expect(r.stdout).toMatch(/\/plugins\/0\/config\/client_id: /);
    expect(r.stdout).toContain('3 problems');
  });

  it('apply sends the resolved values; export writes env references unless --include-secrets', async () => {
    await mkdir(join(t.dir, 'secrets'), { recursive: true });
    await writeFile(join(t.dir, 'secrets', 'endpoint'), 'http://idp.internal/introspect\n');
    const f = await file('refs.yaml', WITH_REFS);
    const applied = await cli(['apply', f, '-m', 'with secrets'], { ...t.env, GH_CLIENT_SECRET: 'hunter2' });
    expect(applied.code, applied.stderr).toBe(EXIT.ok);
    const stored = (await t.h.store.current()).document.plugins.find((p) => p.name === 'oauth2-introspection')!;
    expect(stored.config).toMatchObject({ client_secret: 'hunter2', introspection_endpoint: 'http://idp.internal/introspect' });

    const out = join(t.dir, 'exported.yaml');
    const exported = await cli(['export', '-o', out]);
    expect(exported.code, exported.stderr).toBe(EXIT.ok);
    const text = await readFile(out, 'utf8');
    expect(text).not.toContain('hunter2');
    expect(text).toContain('client_secret: "{env://GATEHOUSE_SECRET_OAUTH2_INTROSPECTION_CLIENT_SECRET}"');
    expect(exported.stderr).toContain('/plugins/0/config/client_secret → {env://GATEHOUSE_SECRET_OAUTH2_INTROSPECTION_CLIENT_SECRET}');
    // The redacted export re-applies as "no changes" once the variable is set, and fails loudly without it.
    expect((await cli(['diff', out], { ...t.env, GATEHOUSE_SECRET_OAUTH2_INTROSPECTION_CLIENT_SECRET: 'hunter2' })).code).toBe(EXIT.ok);
    const without = await cli(['diff', out]);
    expect(without.code).toBe(EXIT.invalid);
    expect(without.stderr).toContain('/plugins/0/config/client_secret: environment variable GATEHOUSE_SECRET_OAUTH2_INTROSPECTION_CLIENT_SECRET is not set');

    const clear = await cli(['export', '--format', 'json', '--include-secrets']);
    expect(JSON.parse(clear.stdout).plugins[0].config.client_secret).toBe('hunter2');
    expect(clear.stderr).toBe('');

    // A changed secret shows in the diff as changed, never in clear.
    const diff = await cli(['diff', f], { ...t.env, GH_CLIENT_SECRET: 'new-secret-value' });
    expect(diff.code).toBe(EXIT.changes);
    expect(diff.stdout).toContain('/config/client_secret "(secret)" → "(secret)"');
    expect(diff.stdout).not.toMatch(/hunter2|new-secret-value/);
  });
});

describe('affected routes, history and rollback', () => {
  const BASE = (timeout: number, extraPlugin = '') => `_format_version: "1"
services:
  - name: catalog
    url: http://catalog-up:8080
    read_timeout: ${timeout}
  - name: users
    url: http://users.internal:8080
upstreams:
  - name: catalog-up
    targets: [{ target: "10.0.0.1:8080" }]
routes:
  - name: catalog-api
    service: catalog
    paths: [/catalog]
  - name: users-api
    service: users
    paths: [/users]
plugins:${extraPlugin || ' []'}
`;

  it('diff and apply --dry-run list the routes whose behaviour changes, after the entity diff', async () => {
    const v1 = await file('v1.yaml', BASE(60000));
    expect((await cli(['apply', v1, '-m', 'catalog v1'])).code).toBe(EXIT.ok);
    const v2 = await file('v2.yaml', BASE(5000, `\n  - name: response-headers\n    route: users-api\n    config: { set: { x-users: "1" } }`));
    const diff = await cli(['diff', v2]);
    expect(diff.code).toBe(EXIT.changes);
    const [entities, affected] = diff.stdout.split('Routes whose behaviour changes');
    expect(entities).toContain('~ service catalog: /read_timeout 60000 → 5000');
    expect(affected).toBe(
      " (2):\n  route catalog-api: service 'catalog' (/read_timeout)\n  route users-api: plugin response-headers (route users-api) now applies\n",
    );
    const dry = await cli(['apply', v2, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(EXIT.ok);
    expect(dry.stdout).toMatch(/1 created, 1 updated, 0 deleted, \d+ unchanged\.\nRoutes whose behaviour changes \(2\):\n {2}route catalog-api: .*\n {2}route users-api: .*\nDry run: nothing was applied\.\n$/);
    const same = await cli(['diff', v1]);
    expect(same.stdout).not.toContain('Routes whose behaviour changes');
  });

  it('history lists versions with author, message and counts; rollback restores one, with a message', async () => {
    const v1 = await file('h1.yaml', BASE(30000));
    await cli(['apply', v1, '-m', 'history one']);
    const first = (await t.h.store.current()).version;
    const v2 = await file('h2.yaml', BASE(1000));
    expect((await cli(['apply', v2, '-m', 'history  two\nlines'])).code).toBe(EXIT.ok);
    const second = (await t.h.store.current()).version;

    const hist = await cli(['history', '--limit', '2']);
    expect(hist.code, hist.stderr).toBe(EXIT.ok);
    const lines = hist.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERSION +CREATED +AUTHOR +SVC\/RTE\/UPS\/CON\/PLG +MESSAGE$/);
    expect(lines[1]).toMatch(new RegExp(`^${second} +\\d{4}-\\d\\d-\\d\\dT\\S+ +admin-token +2/2/1/0/0 +history two lines$`));
    expect(lines[2]).toMatch(new RegExp(`^${first} +.* +admin-token +2/2/1/0/0 +history one$`));
    expect(lines[3]).toMatch(new RegExp(`^1-2 of ${second} versions`));
    expect((await cli(['history', '--limit', '0'])).code).toBe(EXIT.usage);

    const rb = await cli(['rollback', String(first), '-m', 'too short a timeout']);
    expect(rb.code, rb.stderr).toBe(EXIT.ok);
    expect(rb.stdout).toContain('~ service catalog: /read_timeout 1000 → 30000');
    expect(rb.stdout).toContain("route catalog-api: service 'catalog' (/read_timeout)");
    expect(rb.stdout).toMatch(new RegExp(`Rolled back to version ${first}: configuration version ${second + 1}\\.\\n$`));
    const now = await t.h.store.current();
    expect(now.version).toBe(second + 1);
    expect(now.document.services.find((s) => s.name === 'catalog')?.read_timeout).toBe(30000);
    const top = (await t.h.store.versions({ limit: 1 })).data[0]!;
    expect(top).toMatchObject({ author: 'admin-token', message: `rollback to v${first}: too short a timeout` });
    // The rollback is audited like every other change.
    const audit = await t.h.store.audit!.list({ action: 'versions.rollback', limit: 5 });
    expect(audit.data.length).toBe(1);

    const again = await cli(['rollback', String(first)]);
    expect(again.stdout).toContain(`No changes: version ${first}'s configuration is already current`);
    expect((await cli(['rollback', 'abc'])).code).toBe(EXIT.usage);
    const missing = await cli(['rollback', '99999']);
    expect(missing.code).toBe(EXIT.admin);
    expect(missing.stderr).toMatch(/404/);
  });
});

