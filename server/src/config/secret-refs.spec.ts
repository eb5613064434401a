// `{env://…}` / `{file://…}` references: resolution (CLI and DB-less server), export redaction, diff masking.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreValidationError } from '../store/config-store.js';
import { loadConfigFile } from '../store/file-config-store.js';
import { TEST_PLUGINS } from '../store/test-support.js';
import { diffDocuments, formatDiff } from './diff.js';
import type { ConfigDocument } from './schema.js';
import { maskDiffSecrets, parseSecretRef, redactSecrets, resolveSecretRefs } from './secret-refs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gh-secret-refs-'));
  await mkdir(join(dir, 'secrets'));
  await writeFile(join(dir, 'secrets', 'stamp'), 's3cret\n');
  await writeFile(join(dir, 'secrets', 'two-lines'), 'a\nb\n\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('parseSecretRef', () => {
  it('recognises only a whole value', () => {
    expect(parseSecretRef('{env://API_KEY}')).toEqual({ kind: 'env', name: 'API_KEY' });
    expect(parseSecretRef('{file://secrets/a.txt}')).toEqual({ kind: 'file', path: 'secrets/a.txt' });
    expect(parseSecretRef('Bearer {env://API_KEY}')).toBeUndefined();
    expect(parseSecretRef('{vault://x}')).toBeUndefined();
  });
});

describe('resolveSecretRefs', () => {
  it('replaces env and file references anywhere in the document, leaving keys and other values alone', async () => {
    const input = {
      plugins: [{ name: 'p', config: { token: '{env://TOKEN}', list: ['{file://secrets/stamp}', 'plain'], n: 3, '{env://TOKEN}': 'k' } }],
      upstreams: [{ healthchecks: { active: { headers: { authorization: `{file://${join(dir, 'secrets', 'two-lines')}}` } } } }],
    };
    const r = await resolveSecretRefs(input, { env: { TOKEN: 'tok' }, baseDir: dir });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual({
      plugins: [{ name: 'p', config: { token: 'tok', list: ['s3cret', 'plain'], n: 3, '{env://TOKEN}': 'k' } }],
      // Only one trailing newline is trimmed.
      upstreams: [{ healthchecks: { active: { headers: { authorization: 'a\nb\n' } } } }],
    });
    expect(r.resolved).toEqual(['/plugins/0/config/token', '/plugins/0/config/list/0', '/upstreams/0/healthchecks/active/headers/authorization']);
    expect(input.plugins[0]!.config.token).toBe('{env://TOKEN}');
  });

  it('reports every missing variable and unreadable file at its JSON Pointer', async () => {
    const r = await resolveSecretRefs(
      { a: { 'x/y': '{env://MISSING}' }, b: ['{file://nope.txt}', '{env://bad-name}', '{file://secrets}'] },
      { env: {}, baseDir: dir },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toEqual(['/a/x~1y', '/b/0', '/b/1', '/b/2']);
    expect(r.issues[0]!.message).toBe('environment variable MISSING is not set');
    expect(r.issues[1]!.message).toMatch(/^cannot read secret file .*nope\.txt: ENOENT/);
    expect(r.issues[2]!.message).toMatch(/not an environment variable name/);
    expect(r.issues[3]!.message).toMatch(/not a regular file/);
  });
});

describe('the DB-less server resolves references when it loads its file', () => {
  it('loads secrets from the environment and from files beside the config file', async () => {
    const path = join(dir, 'gateway.yaml');
    await writeFile(
      path,
      `_format_version: "1"
plugins:
  - name: header-stamp
    config: { header: x-a, value: "{env://GH_TEST_STAMP}" }
  - name: header-stamp
    consumer: alice
    config: { header: x-b, value: "{file://secrets/stamp}" }
consumers: [{ username: alice }]
`,
    );
    process.env.GH_TEST_STAMP = 'from-env';
    try {
      const doc = await loadConfigFile(path, TEST_PLUGINS);
      expect(doc.plugins.map((p) => p.config.value).sort()).toEqual(['from-env', 's3cret']);
    } finally {
      delete process.env.GH_TEST_STAMP;
    }
    const err = await loadConfigFile(path, TEST_PLUGINS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreValidationError);
    expect((err as StoreValidationError).issues).toEqual([{ path: '/plugins/0/config/value', message: 'environment variable GH_TEST_STAMP is not set' }]);
  });
});

describe('redactSecrets', () => {
  it('turns secret-named plugin and probe-header values into env references, and keeps credentials', () => {
    const doc = {
      _format_version: '1',
      plugins: [
        { name: 'oauth2-introspection', route: 'orders', config: { client_id: 'gw', client_secret: 'hunter2', hide_credentials: true, nested: { api_key: 'k' } } },
        { name: 'rate-limiting', config: { redis: { password: 'pw', host: 'r' } } },
        { name: 'x', config: { token: '{env://ALREADY}' } },
      ],
      upstreams: [{ name: 'u', healthchecks: { active: { headers: { Authorization: 'Basic abc', host: 'h' } } } }],
      credentials: [{ id: 'c', consumer: 'a', kind: 'basic-auth', key: 'a', secret_hash: 'scrypt$1' }],
    };
    const { document, redacted } = redactSecrets(doc);
    expect(redacted).toEqual([
      { path: '/plugins/0/config/client_secret', env: 'GATEHOUSE_SECRET_OAUTH2_INTROSPECTION_ROUTE_ORDERS_CLIENT_SECRET' },
      { path: '/plugins/0/config/nested/api_key', env: 'GATEHOUSE_SECRET_OAUTH2_INTROSPECTION_ROUTE_ORDERS_NESTED_API_KEY' },
      { path: '/plugins/1/config/redis/password', env: 'GATEHOUSE_SECRET_RATE_LIMITING_REDIS_PASSWORD' },
      { path: '/upstreams/0/healthchecks/active/headers/Authorization', env: 'GATEHOUSE_SECRET_UPSTREAM_U_PROBE_AUTHORIZATION' },
    ]);
    expect(document.plugins[0]!.config).toEqual({
      client_id: 'gw',
      client_secret: '{env://GATEHOUSE_SECRET_OAUTH2_INTROSPECTION_ROUTE_ORDERS_CLIENT_SECRET}',
      hide_credentials: true,
      nested: { api_key: '{env://GATEHOUSE_SECRET_OAUTH2_INTROSPECTION_ROUTE_ORDERS_NESTED_API_KEY}' },
    });
    expect(document.plugins[2]!.config.token).toBe('{env://ALREADY}');
    expect(document.upstreams[0]!.healthchecks.active.headers.host).toBe('h');
    expect(document.credentials).toEqual(doc.credentials);
    expect(doc.plugins[0]!.config.client_secret).toBe('hunter2');
  });

  it('round-trips: the references resolve back to the values', async () => {
    const doc = { plugins: [{ name: 'a', config: { secret: 'x' } }, { name: 'a', service: 's', config: { secret: 'y' } }] };
    const { document, redacted } = redactSecrets(doc);
    const env = Object.fromEntries(redacted.map((r, i) => [r.env, ['x', 'y'][i]]));
    const back = await resolveSecretRefs(document, { env, baseDir: dir });
    expect(back).toMatchObject({ ok: true, value: doc });
  });
});

describe('maskDiffSecrets', () => {
  it('hides changed secret values of plugins in the printed diff', () => {
    const d = (secret: string, extra: Record<string, unknown> = {}) =>
      ({ _format_version: '1', plugins: [{ name: 'p', config: { client_secret: secret, header: 'x', ...extra } }] }) as unknown as ConfigDocument;
    const diff = diffDocuments(d('old'), d('new', { header: 'y', auth: { password: 'pw', user: 'u' } }));
    const text = formatDiff(maskDiffSecrets(diff));
    expect(text).toContain('/config/client_secret "(secret)" → "(secret)"');
    expect(text).toContain('/config/header "x" → "y"');
    expect(text).toContain('/config/auth (unset) → {"password":"(secret)","user":"u"}');
    expect(text).not.toMatch(/old|new|pw/);
  });
});
