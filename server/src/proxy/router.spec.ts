import { describe, expect, it } from 'vitest';
import { Router, type RouteRequest, type RouteSpec } from './router.js';

function spec(name: string, over: Partial<RouteSpec<string>> = {}): RouteSpec<string> {
  return { name, priority: 0, hosts: [], paths: [], methods: [], data: name, ...over };
}
function req(path: string, over: Partial<RouteRequest> = {}): RouteRequest {
  return { method: 'GET', host: 'example.com', port: '', path, query: '', headers: {}, ...over };
}

describe('Router', () => {
  const router = new Router<string>([
    spec('prefix-a', { paths: ['/a'] }),
    spec('prefix-a-b', { paths: ['/a/b'] }),
    spec('exact-a', { paths: ['=/a/exact'] }),
    spec('slash', { paths: ['/s/'] }),
    spec('regex', { paths: ['~/users/(?<id>\\d+)$'] }),
    spec('host-exact', { hosts: ['api.example.com'], paths: ['/h'] }),
    spec('host-suffix', { hosts: ['*.example.com'], paths: ['/h'] }),
    spec('host-prefix', { hosts: ['cdn.*'], paths: ['/h'] }),
    spec('host-port', { hosts: ['ported.test:8080'] }),
    spec('post-only', { paths: ['/m'], methods: ['POST'] }),
    spec('any-method', { paths: ['/m'] }),
    spec('hdr-exact', { paths: ['/hdr'], headers: { 'X-Version': ['V2'] } }),
    spec('hdr-regex', { paths: ['/hdr'], headers: { 'x-version': ['~^v[0-9]+$'] } }),
    spec('hdr-ci-regex', { paths: ['/hdr'], headers: { 'x-version': ['~*^BETA'] } }),
    spec('query', { paths: ['/q'], query: { flag: [''], mode: ['fast'] } }),
    spec('q-fallback', { paths: ['/q'] }),
    spec('low', { paths: ['/prio'] }),
    spec('high', { paths: ['/prio/deeper/not-needed'], priority: 0 }),
    spec('explicit', { paths: ['~/prio'], priority: 10 }),
    spec('tie-b', { paths: ['/tie'] }),
    spec('tie-a', { paths: ['/tie'] }),
    spec('root', { paths: ['/'] , hosts: ['root.test'] }),
  ]);

  const cases: [string, RouteRequest, string | undefined, Record<string, string>?][] = [
    ['prefix matches itself', req('/a'), 'prefix-a'],
    ['prefix matches below', req('/a/x/y'), 'prefix-a'],
    ['prefix respects segment boundary', req('/ab'), undefined],
    ['longer prefix wins', req('/a/b/c'), 'prefix-a-b'],
    ['exact path beats prefix', req('/a/exact'), 'exact-a'],
    ['exact path does not match below', req('/a/exact/more'), 'prefix-a'],
    ['trailing-slash prefix needs the slash', req('/s'), undefined],
    ['trailing-slash prefix matches below', req('/s/x'), 'slash'],
    ['regex with capture', req('/users/42'), 'regex', { id: '42' }],
    ['regex anchored', req('/users/42/x'), undefined],
    ['exact host beats wildcard', req('/h', { host: 'api.example.com' }), 'host-exact'],
    ['leading wildcard host', req('/h', { host: 'www.example.com' }), 'host-suffix'],
    ['leading wildcard spans labels', req('/h', { host: 'a.b.example.com' }), 'host-suffix'],
    ['trailing wildcard host', req('/h', { host: 'cdn.other.org' }), 'host-prefix'],
    ['no host route for path', req('/h', { host: 'nope.org' }), undefined],
    ['host with port', req('/anything', { host: 'ported.test', port: '8080' }), 'host-port'],
    ['host with other port', req('/anything', { host: 'ported.test', port: '9090' }), undefined],
    ['method condition wins when it matches', req('/m', { method: 'POST' }), 'post-only'],
    ['method condition falls back', req('/m', { method: 'GET' }), 'any-method'],
    ['header exact case-insensitive', req('/hdr', { headers: { 'x-version': 'v2' } }), 'hdr-exact'],
    ['header regex', req('/hdr', { headers: { 'x-version': 'v3' } }), 'hdr-regex'],
    ['header regex is case-sensitive', req('/hdr', { headers: { 'x-version': 'V3' } }), undefined],
    ['header ci regex', req('/hdr', { headers: { 'x-version': 'beta-1' } }), 'hdr-ci-regex'],
    ['header multi-valued', req('/hdr', { headers: { 'x-version': ['nope', 'v9'] } }), 'hdr-regex'],
    ['query match', req('/q', { query: 'flag&mode=fast' }), 'query'],
    ['query value mismatch', req('/q', { query: 'flag=1&mode=slow' }), 'q-fallback'],
    ['query presence missing', req('/q', { query: 'mode=fast' }), 'q-fallback'],
    ['explicit priority beats specificity', req('/prio/deeper/not-needed'), 'explicit'],
    ['name breaks ties', req('/tie'), 'tie-a'],
    ['root prefix', req('/whatever/x', { host: 'root.test' }), 'root'],
  ];
  it.each(cases)('%s', (_label, r, expected, params) => {
    const m = router.lookup(r);
    expect(m?.name).toBe(expected);
    if (params) expect(m?.params).toEqual(params);
  });

  it('reports the consumed prefix length', () => {
    expect(router.lookup(req('/a/b/c'))?.prefixLength).toBe(4);
    expect(router.lookup(req('/users/7'))?.prefixLength).toBe('/users/7'.length);
  });

  it('any-path routes match every path of their host', () => {
    const r = new Router([spec('catch-all'), spec('specific', { paths: ['/x'] })]);
    expect(r.lookup(req('/x'))?.name).toBe('specific');
    expect(r.lookup(req('/y/z'))?.name).toBe('catch-all');
  });

  it('scales to many routes without changing the answer', () => {
    const specs = Array.from({ length: 5000 }, (_, i) => spec(`r${i}`, { hosts: [`h${i % 50}.test`], paths: [`/svc${i}`] }));
    const r = new Router(specs);
    expect(r.lookup(req('/svc4321/items', { host: 'h21.test' }))?.name).toBe('r4321');
    expect(r.lookup(req('/svc4321/items', { host: 'h22.test' }))).toBeUndefined();
  });
});
