/**
 * The authorization matrix of the whole admin API, derived from the code rather than from a list kept by
 * hand: every handler of every controller the admin module registers is read for its route and its
 * @Public / @Roles / @DevelopersOnly / @AnyRole metadata (or the guard's default: reads viewer, writes
 * operator), the result is checked to cover exactly the routes Fastify registered, and each route is then
 * called anonymously, with a cookie instead of a bearer, and as viewer, operator and admin.
 */
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod, type Type } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminModule } from '../admin.module.js';
import { IS_PUBLIC, MIN_ROLE, ONLY_ROLES, ROLE_RANK } from '../auth/roles.decorator.js';
import type { Role } from '../common/current-user.js';
import { OPERATIONS } from '../openapi/openapi.builder.js';
import { createHarness, expectProblem, type Harness } from '../test-support/admin-harness.js';

type Need = { kind: 'public' } | { kind: 'min'; role: Role } | { kind: 'only'; roles: readonly Role[] };
interface ScannedRoute {
  method: string;
  url: string;
  need: Need;
  handler: string;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

function meta<T>(key: string, fn: object, cls: object): T | undefined {
  return (Reflect.getMetadata(key, fn) as T | undefined) ?? (Reflect.getMetadata(key, cls) as T | undefined);
}

function joinPath(...parts: (string | string[] | undefined)[]): string {
  const s = parts
    .map((p) => (Array.isArray(p) ? p[0] : p) ?? '')
    .filter((p) => p !== '' && p !== '/')
    .join('/');
  return ('/' + s).replace(/\/{2,}/g, '/');
}

/** Every handler of the admin module's controllers, with the role its decorators (or the guard default) demand. */
function scanControllers(): ScannedRoute[] {
  // register() only assembles the module description; nothing is instantiated.
  const controllers = (AdminModule.register({ auth: { strategyName: 'role-matrix-scan' } } as never).controllers ?? []) as Type[];
  const out: ScannedRoute[] = [];
  for (const cls of controllers) {
    const base = Reflect.getMetadata(PATH_METADATA, cls) as string | string[] | undefined;
    for (const name of Object.getOwnPropertyNames(cls.prototype)) {
      const fn = (cls.prototype as Record<string, unknown>)[name];
      if (typeof fn !== 'function' || name === 'constructor') continue;
      const verb = Reflect.getMetadata(METHOD_METADATA, fn) as RequestMethod | undefined;
      const sub = Reflect.getMetadata(PATH_METADATA, fn) as string | string[] | undefined;
      if (verb === undefined || sub === undefined) continue;
      const method = RequestMethod[verb];
      const url = joinPath(base, sub);
      let need: Need;
      if (meta<boolean>(IS_PUBLIC, fn, cls)) need = { kind: 'public' };
      else {
        const only = meta<readonly Role[]>(ONLY_ROLES, fn, cls);
        need = only ? { kind: 'only', roles: only } : { kind: 'min', role: meta<Role>(MIN_ROLE, fn, cls) ?? (SAFE.has(method) ? 'viewer' : 'operator') };
      }
      const methods = method === 'ALL' ? ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] : [method];
      for (const m of methods) out.push({ method: m, url, need, handler: `${cls.name}.${name}` });
    }
  }
  return out;
}

function allowed(need: Need, role: Role): boolean {
  if (need.kind === 'public') return true;
  if (need.kind === 'only') return need.roles.includes(role);
  return ROLE_RANK[role] >= ROLE_RANK[need.role];
}

const STREAMS = new Set(OPERATIONS.filter((o) => o.produces?.['text/event-stream']).map((o) => `${o.method.toUpperCase()} ${o.path.replace(/\{(\w+)\}/g, ':$1')}`));

describe('admin API role matrix (every route, every role)', () => {
  let h: Harness;
  const tokens: Partial<Record<Role, string>> = {};
  const routes = scanControllers();

  beforeAll(async () => {
    h = await createHarness();
    for (const [username, role] of [['matrix-viewer', 'viewer'], ['matrix-operator', 'operator'], ['matrix-admin', 'admin']] as const) {
      const res = await h.request('POST', '/admin-users', { body: { username, password: 'matrix-password-1', role } });
      expect(res.statusCode, res.body).toBe(201);
      tokens[role] = await h.login(username, 'matrix-password-1');
    }
  });
  afterAll(() => h?.close());

  it('the decorator scan covers exactly the routes the server registered', () => {
    const registered = new Set(h.app.routes().filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS').map((r) => `${r.method} ${r.url}`));
    const scanned = new Set(routes.map((r) => `${r.method} ${r.url}`));
    expect(registered.size).toBeGreaterThan(40);
    expect([...registered].filter((r) => !scanned.has(r))).toEqual([]);
    expect([...scanned].filter((r) => !registered.has(r))).toEqual([]);
  });

  it('every non-public route answers 401 problem+json to an anonymous caller and to a forged bearer', async () => {
    let checked = 0;
    for (const r of routes) {
      if (r.need.kind === 'public') continue;
      const url = r.url.replace(/:(\w+)/g, 'matrix-probe');
      const body = SAFE.has(r.method) || r.method === 'DELETE' ? undefined : {};
      expectProblem(await h.request(r.method, url, { token: null, body }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
      // A token signed with another secret (or none) must not pass either.
      expectProblem(await h.request(r.method, url, { token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.', body }), 401, 'GW_ERR_ADMIN_UNAUTHORIZED');
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('no route accepts a session sent as a cookie (CSRF: only an explicit Authorization header authenticates)', async () => {
    const jwt = tokens.admin!;
    const cookie = `token=${jwt}; access_token=${jwt}; session=${jwt}; authorization=Bearer%20${jwt}; gatehouse_token=${jwt}`;
    for (const r of routes) {
      if (r.need.kind === 'public') continue;
      const url = r.url.replace(/:(\w+)/g, 'matrix-probe');
      const body = SAFE.has(r.method) || r.method === 'DELETE' ? undefined : {};
      const res = await h.request(r.method, url, { token: null, body, headers: { cookie } });
      expect(res.statusCode, `${r.method} ${r.url} with a cookie`).toBe(401);
    }
  });

  it('viewer, operator and admin get 403 exactly where the route demands more, and are let through elsewhere', async () => {
    const report: string[] = [];
    for (const r of routes) {
      if (r.need.kind === 'public') continue;
      if (r.url === '/auth/login') continue;
      const url = r.url.replace(/:(\w+)/g, 'matrix-probe');
      const body = SAFE.has(r.method) || r.method === 'DELETE' ? undefined : {};
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const ok = allowed(r.need, role);
        // A stream never ends under inject: only the refusals are checked there.
        if (ok && STREAMS.has(`${r.method} ${r.url}`)) continue;
        const res = await h.request(r.method, url, { token: tokens[role]!, body });
        if (ok) {
          if (res.statusCode === 401 || res.statusCode === 403) report.push(`${role} ${r.method} ${r.url} (${r.handler}) → ${res.statusCode}, expected allowed`);
        } else if (res.statusCode !== 403) report.push(`${role} ${r.method} ${r.url} (${r.handler}) → ${res.statusCode}, expected 403`);
        else expectProblem(res, 403, 'GW_ERR_ADMIN_FORBIDDEN');
      }
    }
    expect(report).toEqual([]);
  });

  it('the OpenAPI document states the same role as the decorators for every operation', () => {
    const byKey = new Map(routes.map((r) => [`${r.method} ${r.url}`, r.need]));
    const mismatches: string[] = [];
    for (const op of OPERATIONS) {
      const need = byKey.get(`${op.method.toUpperCase()} ${op.path.replace(/\{(\w+)\}/g, ':$1')}`);
      if (need === undefined) continue; // coverage is the OpenAPI spec's own test
      const stated = need.kind === 'public' ? 'public' : need.kind === 'min' ? need.role : need.roles.length > 1 ? 'authenticated' : need.roles[0];
      if (stated !== op.access) mismatches.push(`${op.method} ${op.path}: decorators say ${stated}, OpenAPI says ${op.access}`);
    }
    expect(mismatches).toEqual([]);
  });
});
