/**
 * Property-based fuzzing of the route matcher: it never throws on arbitrary requests (any path, host,
 * method, header bag), and a path normalize-path accepted routes exactly as its normalized spelling and
 * as that spelling normalized again (normalization is idempotent), so alternate encodings cannot reach
 * another route.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizePath } from './normalize-path.js';
import { Router, type RouteRequest, type RouteSpec } from './router.js';

// CI runs each property a fixed number of times with fresh seeds; GATEHOUSE_FUZZ_SCALE=50 digs deeper locally.
const FUZZ_SCALE = Number(process.env.GATEHOUSE_FUZZ_SCALE ?? 1) || 1;

function spec(name: string, over: Partial<RouteSpec<string>> = {}): RouteSpec<string> {
  return { name, priority: 0, hosts: [], paths: [], methods: [], data: name, ...over };
}

const router = new Router<string>([
  spec('root', { paths: ['/'] }),
  spec('api', { paths: ['/api'] }),
  spec('api-v1', { paths: ['/api/v1/'] }),
  spec('exact', { paths: ['=/api/v1/health'] }),
  spec('admin', { paths: ['/admin'], methods: ['GET', 'POST'] }),
  spec('users', { paths: ['~/users/(?<id>[^/]+)$'] }),
  spec('host', { hosts: ['api.example.com'], paths: ['/h'] }),
  spec('wild', { hosts: ['*.example.com'], paths: ['/h'] }),
  spec('pre', { hosts: ['cdn.*'], paths: ['/h'] }),
  spec('port', { hosts: ['ported.test:8080'] }),
  spec('hdr', { paths: ['/hdr'], headers: { 'x-version': ['v2', '~^v[0-9]+$', '~*^BETA'] } }),
  spec('q', { paths: ['/q'], query: { mode: ['fast'], flag: [''] } }),
]);

// Path material biased towards what breaks normalizers: dots, slashes, escapes (good and bad), NUL, unicode.
const segment = fc.oneof(
  fc.constantFrom('', '.', '..', 'api', 'v1', 'health', 'admin', 'users', 'h', 'hdr', 'q', '%2e', '%2E%2e', '%2F', '%41', '%7e', '%zz', '%', '%0', '%00', ';x', '\\', 'é', '%C3%A9'),
  fc.string({ maxLength: 8 }),
);
const path = fc.array(segment, { maxLength: 8 }).map((s) => '/' + s.join('/'));
const anyString = fc.string({ maxLength: 40, unit: 'binary' });
const host = fc.oneof(fc.constantFrom('', 'api.example.com', 'www.example.com', 'cdn.test', 'ported.test', 'example.com', '*.example.com', '.'), fc.domain(), anyString);
const method = fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'get', 'CONNECT'), anyString);
const headers = fc.dictionary(fc.oneof(fc.constantFrom('x-version', 'host'), anyString), fc.oneof(anyString, fc.array(anyString, { maxLength: 3 }), fc.constant(undefined)), { maxKeys: 5 });

function request(p: string, h: string, m: string, hd: RouteRequest['headers'], query = '', port = ''): RouteRequest {
  return { method: m, host: h, port, path: p, query, headers: hd };
}

describe('Router (property-based)', () => {
  it('never throws on arbitrary paths, hosts, methods, ports, queries and headers', () => {
    fc.assert(
      fc.property(fc.oneof(path, anyString), host, method, headers, anyString, fc.oneof(fc.constant(''), fc.constant('8080'), anyString), (p, h, m, hd, q, port) => {
        const r = router.lookup(request(p, h, m, hd, q, port));
        if (r !== undefined) {
          expect(typeof r.name).toBe('string');
          expect(r.prefixLength).toBeGreaterThanOrEqual(0);
          expect(r.prefixLength).toBeLessThanOrEqual(p.length);
        }
      }),
      { numRuns: 1000 * FUZZ_SCALE },
    );
  });

  it('normalization is idempotent and the normalized path routes as its re-normalized form', () => {
    fc.assert(
      fc.property(path, host, method, (raw, h, m) => {
        const once = normalizePath(raw);
        if (once === null) return;
        const twice = normalizePath(once);
        expect(twice).toBe(once);
        const a = router.lookup(request(once, h, m, {}));
        const b = router.lookup(request(twice!, h, m, {}));
        expect(a?.name).toBe(b?.name);
        // A normalized path never contains dot segments or repeated slashes that could climb out of a prefix.
        expect(once).not.toMatch(/\/\.{1,2}(\/|$)|\/\//);
      }),
      { numRuns: 2000 * FUZZ_SCALE },
    );
  });

  it('a dot-segment or encoded spelling of a path routes like its plain spelling once normalized', () => {
    const plain = fc.array(fc.constantFrom('api', 'v1', 'health', 'admin', 'users', 'x', 'h', 'q'), { minLength: 1, maxLength: 5 }).map((s) => '/' + s.join('/'));
    fc.assert(
      fc.property(plain, fc.array(fc.constantFrom('/.', '/x/..', '//', '/%2e', '/y/%2E%2E'), { maxLength: 3 }), method, (p, noise, m) => {
        // Insert the noise after the first segment: `/api/./v1`, `/api/x/../v1`, `/api//v1` …
        const cut = p.indexOf('/', 1);
        const noisy = cut === -1 ? p + noise.join('') : p.slice(0, cut) + noise.join('') + p.slice(cut);
        const n = normalizePath(noisy);
        expect(n).not.toBeNull();
        expect(router.lookup(request(n!, 'example.com', m, {}))?.name).toBe(router.lookup(request(p, 'example.com', m, {}))?.name);
      }),
      { numRuns: 1000 * FUZZ_SCALE },
    );
  });
});
