/**
 * Builds an admin app over a real in-memory store (PGlite) for tests, with helpers to log in and send
 * requests through Fastify's inject.
 */
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { PLUGINS } from '../../plugins/index.js';
import type { PluginDefinition } from '../../plugins/types.js';
import { createConfigStore } from '../../store/create-store.js';
import type { ConfigStore } from '../../store/config-store.js';
import type { AdminEnv } from '../admin-env.js';
import { createAdminApp, type AdminApp } from '../create-admin-app.js';
import { startGateway, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { RecordingRuntime } from './recording-runtime.js';
import { stampPlugin } from './test-plugin.js';

export const ADMIN_TOKEN = 'static-admin-token-for-tests';
export const ROOT = { username: 'root', password: 'root-password-1' };

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

export interface Harness {
  app: AdminApp;
  store: ConfigStore;
  runtime: RecordingRuntime;
  logs: LogLine[];
  request(method: string, url: string, opts?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  login(username: string, password: string): Promise<string>;
  close(): Promise<void>;
}

export const TEST_PLUGINS: ReadonlyMap<string, PluginDefinition> = new Map<string, PluginDefinition>([...PLUGINS, [stampPlugin.name, stampPlugin as unknown as PluginDefinition]]);

export async function createHarness(opts: { env?: Partial<AdminEnv>; dashboardDir?: string } = {}): Promise<Harness> {
  const store = await createConfigStore({ plugins: TEST_PLUGINS });
  const runtime = new RecordingRuntime(store);
  await runtime.reload();
  const logs: LogLine[] = [];
  const log = (level: LogLine['level']) => (obj: object, msg?: string) => void logs.push({ level, obj, msg });
  const env: AdminEnv = { adminToken: ADMIN_TOKEN, adminUser: ROOT.username, adminPassword: ROOT.password, jwtSecret: 'jwt-secret-for-tests', readOnly: false, ...opts.env };
  const app = await createAdminApp({
    store,
    runtime,
    env,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    plugins: TEST_PLUGINS,
    ...(opts.dashboardDir ? { dashboardDir: opts.dashboardDir } : {}),
  });

  const request: Harness['request'] = (method, url, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? ADMIN_TOKEN : o.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (o.body !== undefined) {
      payload = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    return app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
  };

  return {
    app,
    store,
    runtime,
    logs,
    request,
    async login(username, password) {
      const res = await request('POST', '/auth/login', { token: null, body: { username, password } });
      expect(res.statusCode, res.body).toBe(200);
      return (res.json() as { access_token: string }).access_token;
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}

/** Asserts an RFC 9457 answer with the given status and code, and returns its body. */
export function expectProblem(res: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  return body;
}

/**
 * A real proxy on the store's current document (so it sees the credentials the admin API created), with
 * key-auth on route `/r` to `upstream`: started on the first call, re-applied on later ones.
 */
export async function keyAuthProxy(store: ConfigStore, upstream: Upstream, running: Gateway | undefined): Promise<Gateway> {
  const { document } = await store.current();
  const doc = {
    ...document,
    services: [{ name: 's', url: `http://${upstream.address}` }],
    routes: [{ name: 'r', service: 's', paths: ['/r'] }],
    plugins: [{ name: 'key-auth', route: 'r', config: {} }],
  };
  if (running) {
    running.apply(doc);
    return running;
  }
  return startGateway(doc);
}
