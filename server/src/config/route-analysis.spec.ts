// Shadowed and conflicting routes, checked against the real router on generated configurations.
import { describe, expect, it } from 'vitest';
import { Router, type RouteRequest } from '../proxy/router.js';
import { analyzeRoutes } from './route-analysis.js';
import type { RouteConfig } from './schema.js';

type R = Partial<RouteConfig> & { name: string };
const doc = (...routes: R[]) => ({ routes: routes as RouteConfig[] });

describe('analyzeRoutes', () => {
  it('reports a route under a higher-priority prefix on the same host and methods, naming the winner', () => {
    const f = analyzeRoutes(
      doc(
        { name: 'catch-all', hosts: ['api.example.com'], paths: ['/orders'], priority: 10 },
        { name: 'order-items', hosts: ['api.example.com'], paths: ['/orders/items'], methods: ['GET'] },
      ),
    );
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ kind: 'shadowed', route: 'order-items', path: '/routes/1', winners: ['catch-all'] });
    expect(f[0]!.message).toContain("route 'catch-all'");
    expect(f[0]!.message).toContain('priority 10 > 0');
  });

  it('does not report a more specific route that wins by specificity', () => {
    expect(analyzeRoutes(doc({ name: 'a', paths: ['/orders'] }, { name: 'b', paths: ['/orders/items'] }))).toEqual([]);
    // Same priority: the longer prefix wins, so the short one is reachable for other paths.
    expect(analyzeRoutes(doc({ name: 'a', paths: ['/orders/items'] }, { name: 'b', paths: ['/orders'] }))).toEqual([]);
  });

  it('needs every path of the route to be covered', () => {
    const routes = [{ name: 'top', paths: ['/a'], priority: 5 }, { name: 'two', paths: ['/a/x', '/b'] }];
    expect(analyzeRoutes(doc(...routes))).toEqual([]);
    const f = analyzeRoutes(doc(routes[0]!, { name: 'two', paths: ['/a/x', '=/a/y'] }, { name: 'other', paths: ['/c'] }));
    expect(f.map((x) => x.route)).toEqual(['two']);
  });

  it('takes methods, headers and query of the winner into account', () => {
    const top = { name: 'top', paths: ['/a'], priority: 1, methods: ['GET' as const] };
    expect(analyzeRoutes(doc(top, { name: 'any-method', paths: ['/a/b'] }))).toEqual([]);
    expect(analyzeRoutes(doc(top, { name: 'get', paths: ['/a/b'], methods: ['GET'] })).map((x) => x.route)).toEqual(['get']);
    const hdr = { name: 'hdr', paths: ['/a'], priority: 1, headers: { 'X-Env': ['prod', 'stage'] } };
    expect(analyzeRoutes(doc(hdr, { name: 'no-header', paths: ['/a'] }))).toEqual([]);
    expect(analyzeRoutes(doc(hdr, { name: 'prod', paths: ['/a'], headers: { 'x-env': ['PROD'] } })).map((x) => x.route)).toEqual(['prod']);
    const q = { name: 'q', paths: ['/a'], priority: 1, query: { v: [''] } };
    expect(analyzeRoutes(doc(q, { name: 'v2', paths: ['/a'], query: { v: ['2'] } })).map((x) => x.route)).toEqual(['v2']);
    expect(analyzeRoutes(doc(q, { name: 'no-q', paths: ['/a'] }))).toEqual([]);
  });

  it('understands wildcard hosts and ports', () => {
    const wild = { name: 'wild', hosts: ['*.example.com'], priority: 1 };
    expect(analyzeRoutes(doc(wild, { name: 'deep', hosts: ['a.b.example.com:8443'], paths: ['/x'] })).map((x) => x.route)).toEqual(['deep']);
    expect(analyzeRoutes(doc(wild, { name: 'other', hosts: ['example.com'] }))).toEqual([]);
    expect(analyzeRoutes(doc({ name: 'p', hosts: ['api.*'], priority: 1 }, { name: 'q', hosts: ['api.eu.*'] })).map((x) => x.route)).toEqual(['q']);
    expect(analyzeRoutes(doc({ name: 'port', hosts: ['h:8080'], priority: 1 }, { name: 'h', hosts: ['h'] }))).toEqual([]);
  });

  it('reports identical criteria with equal priority as a conflict, not as shadowing', () => {
    const f = analyzeRoutes(
      doc(
        { name: 'zeta', hosts: ['API.example.com'], paths: ['/x'], methods: ['GET', 'POST'] },
        { name: 'alpha', hosts: ['api.example.com'], paths: ['/x'], methods: ['POST', 'GET'] },
        { name: 'beta', hosts: ['api.example.com'], paths: ['/x'], methods: ['GET', 'POST'], priority: 1 },
      ),
    );
    // beta has a higher priority: it shadows both, and alpha/zeta tie.
    expect(f.map((x) => [x.kind, x.route])).toEqual([
      ['conflict', 'zeta'],
      ['shadowed', 'zeta'],
      ['shadowed', 'alpha'],
    ]);
    const only = analyzeRoutes(doc({ name: 'b', paths: ['/x'] }, { name: 'a', paths: ['/x'] }));
    expect(only).toEqual([expect.objectContaining({ kind: 'conflict', route: 'b', winners: ['a'], path: '/routes/0' })]);
    expect(only[0]!.message).toMatch(/ambiguous/);
  });

  it('ignores disabled routes and says nothing about regexes it cannot compare', () => {
    expect(analyzeRoutes(doc({ name: 'top', paths: ['/'], priority: 1, enabled: false }, { name: 'x', paths: ['/x'] }))).toEqual([]);
    expect(analyzeRoutes(doc({ name: 'rx', paths: ['~/a/\\d+'], priority: 1 }, { name: 'p', paths: ['/a/1'] }))).toEqual([]);
    expect(analyzeRoutes(doc({ name: 'rx', paths: ['~/a/\\d+$'], priority: 1 }, { name: 'e', paths: ['=/a/12'] })).map((x) => x.route)).toEqual(['e']);
  });
});

// Generated configurations: whatever the analysis reports as never matching must never be chosen by the
// real router, for any request from a sample that hits every pattern used.
describe('analyzeRoutes agrees with the router', () => {
  const HOSTS = [[], ['a.example.com'], ['*.example.com'], ['a.*'], ['a.example.com:8080'], ['b.example.com', 'a.example.com']];
  const PATHS = [[], ['/'], ['/a'], ['/a/'], ['/a/b'], ['=/a'], ['=/a/b'], ['~/a/\\d+$'], ['~/a'], ['/a', '/b'], ['=/a/12']];
  const METHODS = [[], ['GET'], ['GET', 'POST']];
  const HEADERS = [undefined, { 'x-v': ['1'] }, { 'X-V': ['1', '2'] }, { 'x-v': ['~^1'] }];
  const QUERY = [undefined, { q: [''] }, { q: ['1'] }, { q: ['1', '2'] }];

  const REQ_HOSTS: [string, string][] = [['a.example.com', ''], ['a.example.com', '8080'], ['b.example.com', ''], ['x.a.example.com', ''], ['a.other.org', ''], ['z.org', '']];
  const REQ_PATHS = ['/', '/a', '/a/', '/a/b', '/a/12', '/a/b/c', '/ab', '/b'];
  const REQ_METHODS = ['GET', 'POST', 'PUT'];
  const REQ_HEADERS = [{}, { 'x-v': '1' }, { 'x-v': '2' }, { 'x-v': '10' }];
  const REQ_QUERY = ['', 'q=1', 'q=2'];
  const requests: RouteRequest[] = [];
  for (const [host, port] of REQ_HOSTS)
    for (const path of REQ_PATHS)
      for (const method of REQ_METHODS)
        for (const headers of REQ_HEADERS) for (const query of REQ_QUERY) requests.push({ host, port, path, method, headers, query });

  function rng(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it('never selects a route reported as shadowed or as the losing side of a conflict', () => {
    const rand = rng(20261127);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    let reported = 0;
    for (let round = 0; round < 600; round++) {
      const n = 2 + Math.floor(rand() * 4);
      const routes: RouteConfig[] = [];
      for (let i = 0; i < n; i++) {
        // Few distinct values per field, so that overlaps (and so findings) are common.
        const r = {
          name: `r${i}`,
          hosts: pick(HOSTS),
          paths: pick(PATHS),
          methods: pick(METHODS),
          priority: rand() < 0.3 ? 1 : 0,
          ...(rand() < 0.3 ? { headers: pick(HEADERS) } : {}),
          ...(rand() < 0.3 ? { query: pick(QUERY) } : {}),
        } as RouteConfig;
        routes.push(r);
      }
      const findings = analyzeRoutes({ routes });
      const dead = new Set(findings.map((f) => f.route));
      reported += dead.size;
      const router = new Router(routes.map((r) => ({ ...r, priority: r.priority ?? 0, data: r.name })));
      for (const req of requests) {
        const m = router.lookup(req);
        if (m && dead.has(m.name)) {
          throw new Error(`router chose '${m.name}' for ${JSON.stringify(req)}; findings: ${JSON.stringify(findings)}; routes: ${JSON.stringify(routes)}`);
        }
      }
      // The named winners alone match every sampled request the dead route matches: the reason is true.
      const only = (names: string[]) => new Router(routes.filter((r) => names.includes(r.name)).map((r) => ({ ...r, priority: r.priority ?? 0, data: r.name })));
      for (const f of findings) {
        const alone = only([f.route]);
        const winners = only(f.winners);
        for (const q of requests) if (alone.lookup(q)) expect(winners.lookup(q), `${f.message} / ${JSON.stringify(q)}`).toBeDefined();
      }
    }
    // The generator must produce findings, or the check above proves nothing.
    expect(reported).toBeGreaterThan(80);
  });
});
