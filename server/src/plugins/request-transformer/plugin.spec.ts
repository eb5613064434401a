import { createHmac } from 'node:crypto';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCredential } from '../../auth/new-credential.js';
import { activeCredentialKeys } from '../../auth/secrets.js';
import { validate } from '../../config/validate.js';
import { compile, send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { RequestTransformerSchema } from './schema.js';
import { queryValue } from './template.js';

/** What the upstream received, byte for byte. */
interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  bodyBytes: number;
}

function echoWithBody(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const b = Buffer.concat(chunks);
    const seen: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: b.toString('latin1'), bodyBytes: b.length };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(seen));
  });
}

const keys = activeCredentialKeys();
const alice = newCredential(keys, 'alice', { kind: 'key-auth' });

const SECRET = 'rt-spec-hs256-secret-0123456789abcdef';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function bearer(claims: object): { authorization: string } {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'spec', exp: Math.floor(Date.now() / 1000) + 300, ...claims })}`;
  return { authorization: `Bearer ${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}` };
}

/** POSTs a body chunked (no Content-Length) in the given pieces. */
function postChunked(port: number, path: string, pieces: string[], headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
      let out = '';
      res.on('data', (c: Buffer) => (out += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: out }));
    });
    req.on('error', reject);
    for (const p of pieces) req.write(p);
    req.end();
  });
}

const JSON_CT = { 'content-type': 'application/json' };

describe('request-transformer', () => {
  let up: Upstream;
  let gw: Gateway;

  beforeAll(async () => {
    up = await startUpstream(echoWithBody);
    const jwtConfig = { issuers: [{ iss: 'spec', algorithms: ['HS256'], secret: SECRET }], consumer_credentials: false };
    gw = await startGateway({
      services: [
        { name: 's', url: `http://${up.address}` },
        { name: 'based', url: `http://${up.address}/base` },
      ],
      consumers: [{ username: 'alice', custom_id: 'C-42', groups: ['gold', 'beta'] }],
      credentials: [alice.credential],
      routes: [
        { name: 'hdr', service: 's', paths: ['/hdr'] },
        { name: 'qs', service: 's', paths: ['/qs'] },
        { name: 'tpl', service: 's', paths: ['~/users/(?<uid>[^/]+)/orders$'] },
        { name: 'claims', service: 's', paths: ['/claims'] },
        { name: 'rw', service: 'based', paths: ['/v1'] },
        { name: 'rw-keep', service: 's', paths: ['/v2'] },
        { name: 'method', service: 's', paths: ['/method'] },
        { name: 'body', service: 's', paths: ['/body'] },
        { name: 'body-tpl', service: 's', paths: ['~/accounts/(?<acct>\\d+)$'] },
        { name: 'forged', service: 's', paths: ['/forged'] },
      ],
      plugins: [
        {
          name: 'request-transformer',
          route: 'hdr',
          config: {
            remove: { headers: ['x-drop'] },
            rename: { headers: { 'x-old': 'x-new' } },
            replace: { headers: { 'x-rep': 'replaced', 'x-rep-absent': 'never' } },
            add: { headers: { 'x-add': 'added', 'x-exists': 'not-used' } },
            append: { headers: { 'x-multi': 'two', 'x-fresh': 'one' } },
          },
        },
        {
          name: 'request-transformer',
          route: 'qs',
          config: {
            remove: { querystring: ['drop'] },
            rename: { querystring: { old: 'new' } },
            replace: { querystring: { rep: 'r 1', 'rep-absent': 'never' } },
            add: { querystring: { add: 'a&b=c', keep: 'not-used' } },
            append: { querystring: { multi: '2' } },
          },
        },
        { name: 'key-auth', route: 'tpl', config: {} },
        {
          name: 'request-transformer',
          route: 'tpl',
          config: {
            add: {
              headers: {
                'x-user': '$(consumer.username)',
                'x-cid': 'id=$(consumer.custom_id)',
                'x-groups': '$(consumer.groups)',
                'x-uid': '$(params.uid)',
                'x-from-header': '$(headers.x-in)',
                'x-from-query': '$(query.q)',
                'x-missing': 'v=$(headers.x-nope)',
              },
              querystring: { user: '$(consumer.username)' },
            },
          },
        },
        { name: 'jwt', route: 'claims', config: jwtConfig },
        {
          name: 'request-transformer',
          route: 'claims',
          config: { add: { headers: { 'x-sub': '$(claims.sub)', 'x-tenant': '$(claims.org.tenant)', 'x-scp': '$(claims.scp)', 'x-num': '$(claims.level)' } } },
        },
        {
          name: 'request-transformer',
          route: 'rw',
          config: { rewrite_path: { regex: '^/v1/(?<kind>[a-z]+)/(?<rest>.*)$', replacement: '/api/{kind}/{1}/$(query.tenant)/{rest}' } },
        },
        { name: 'request-transformer', route: 'rw-keep', config: { rewrite_path: { regex: '^/v1/(?<rest>.*)$', replacement: '/api/{rest}' } } },
        { name: 'request-transformer', route: 'method', config: { http_method: 'PUT' } },
        {
          name: 'request-transformer',
          route: 'body',
          config: {
            max_body_size: 256,
            remove: { body: ['secret', 'nested.drop', 'list.0'] },
            rename: { body: { old: 'new', 'a.b': 'a.c' } },
            replace: { body: { status: 'replaced', missing: 'never' } },
            add: { body: { added: 1, 'nested.deep.flag': true, obj: { k: ['v'] }, status: 'not-used' } },
            append: { body: { tags: 'new', single: 'b', fresh: 'x' } },
          },
        },
        { name: 'request-transformer', route: 'forged', config: { rename: { headers: { 'x-consumer-username': 'x-user' } } } },
        { name: 'key-auth', route: 'body-tpl', config: {} },
        {
          name: 'request-transformer',
          route: 'body-tpl',
          config: { add: { body: { owner: '$(consumer.username)', account: 'acct-$(params.acct)', ghost: '$(claims.sub)' } } },
        },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  const seen = async (path: string, opts: Parameters<typeof send>[2] = {}): Promise<Seen> => {
    const r = await send(gw.port, path, opts);
    expect(r.status).toBe(200);
    return r.json<Seen>();
  };

  it('fills defaults: every section empty, a 1 MiB body cap', () => {
    const v = validate(RequestTransformerSchema, { http_method: 'POST' });
    expect(v.ok && v.value).toEqual({
      http_method: 'POST',
      remove: { headers: [], querystring: [], body: [] },
      rename: { headers: {}, querystring: {}, body: {} },
      replace: { headers: {}, querystring: {}, body: {} },
      add: { headers: {}, querystring: {}, body: {} },
      append: { headers: {}, querystring: {}, body: {} },
      max_body_size: 1048576,
    });
  });

  it('refuses bad configs when the snapshot is built (instance disabled with an error)', () => {
    const bad = [
      {},
      { add: { headers: { 'x-a': '$(cookie.x)' } } },
      { add: { headers: { 'x-a': '$(consumer.password)' } } },
      { add: { headers: { host: 'evil' } } },
      { remove: { headers: ['content-length'] } },
      { rewrite_path: { regex: '^/(?<a>.*)$', replacement: '/{b}' } },
      { rewrite_path: { regex: '^/(.*)$', replacement: '/{2}' } },
      { rewrite_path: { regex: '^/(', replacement: '/x' } },
      { remove: { body: ['a.__proto__'] } },
      { add: { headers: { 'x-user': '$(headers.X-Consumer-Username)' } } },
    ];
    const errors = compile(
      {
        services: [{ name: 's', url: `http://${up.address}` }],
        routes: bad.map((_, i) => ({ name: `r${i}`, service: 's', paths: [`/r${i}`] })),
        plugins: bad.map((config, i) => ({ name: 'request-transformer', route: `r${i}`, config })),
      },
      gw.logger,
      gw.pools,
    ).errors.map((e) => e.message);
    expect(errors).toHaveLength(bad.length);
    const all = errors.join('\n');
    for (const m of [/edits nothing/, /unknown source 'cookie'/, /consumer fields are/, /'host' is managed/, /'content-length' is managed/, /no group named 'b'/, /1 capture group/, /rewrite_path.regex/, /reserved name '__proto__'/, /identity headers come from the client untrusted/]) {
      expect(all).toMatch(m);
    }
  });

  it('headers: remove, rename, replace (only when present), add (only when absent), append', async () => {
    const h = (await seen('/hdr', { headers: { 'x-drop': '1', 'x-old': 'kept-value', 'x-rep': 'orig', 'x-exists': 'mine', 'x-multi': 'one' } })).headers;
    expect(h['x-drop']).toBeUndefined();
    expect(h['x-old']).toBeUndefined();
    expect(h['x-new']).toBe('kept-value');
    expect(h['x-rep']).toBe('replaced');
    expect(h['x-rep-absent']).toBeUndefined();
    expect(h['x-add']).toBe('added');
    expect(h['x-exists']).toBe('mine');
    expect(h['x-multi']).toBe('one, two');
    expect(h['x-fresh']).toBe('one');
  });

  it('a forged identity header is never renamed onto the upstream request', async () => {
    const h = (await seen('/forged', { headers: { 'x-consumer-username': 'admin' } })).headers;
    expect(h['x-consumer-username']).toBeUndefined();
    expect(h['x-user']).toBeUndefined();
  });

  it('query: remove, rename, replace, add, append; untouched parameters keep their encoding', async () => {
    const s = await seen('/qs?drop=1&old=o%2Fv&rep=x&keep=k&multi=1&drop=2&raw=a%20b');
    const q = s.url.slice(s.url.indexOf('?') + 1);
    expect(s.url.startsWith('/?')).toBe(true);
    expect(q.split('&')).toEqual(['new=o%2Fv', 'rep=r%201', 'keep=k', 'multi=1', 'raw=a%20b', 'add=a%26b%3Dc', 'multi=2']);
    expect(queryValue(q, 'add')).toBe('a&b=c');
  });

  it('query: a request without a query gets the added and appended parameters only', async () => {
    const s = await seen('/qs');
    expect(s.url).toBe('/?add=a%26b%3Dc&keep=not-used&multi=2');
  });

  it('templates: consumer fields, route captures, request headers and query; a missing value skips the add', async () => {
    const s = await seen('/users/u-7/orders?q=hello%20world', { headers: { apikey: alice.plain!, 'x-in': 'from-client' } });
    const h = s.headers;
    expect(h['x-user']).toBe('alice');
    expect(h['x-cid']).toBe('id=C-42');
    expect(h['x-groups']).toBe('gold,beta');
    expect(h['x-uid']).toBe('u-7');
    expect(h['x-from-header']).toBe('from-client');
    expect(h['x-from-query']).toBe('hello world');
    expect(h['x-missing']).toBeUndefined();
    // strip_path removes the whole regex match.
    expect(s.url).toBe('/?q=hello%20world&user=alice');
  });

  it('templates: JWT claims, nested claims, arrays and numbers', async () => {
    const h = (await seen('/claims', { headers: bearer({ sub: 'user-1', org: { tenant: 't-9' }, scp: ['a', 'b'], level: 3 }) })).headers;
    expect(h['x-sub']).toBe('user-1');
    expect(h['x-tenant']).toBe('t-9');
    expect(h['x-scp']).toBe('a,b');
    expect(h['x-num']).toBe('3');
    const none = (await seen('/claims', { headers: bearer({ sub: 'user-2' }) })).headers;
    expect(none['x-sub']).toBe('user-2');
    expect(none['x-tenant']).toBeUndefined();
  });

  it('rewrite_path: captures by name and number, encoded template values, under the service base path', async () => {
    const s = await seen('/v1/orders/2024/05?tenant=a/b');
    // The regex sees the client's path; its result replaces strip_path and is put under the base path.
    expect(s.url).toBe('/base/api/orders/orders/a%2Fb/2024/05?tenant=a/b');
  });

  it('rewrite_path: no match leaves the route path (strip_path) as it is', async () => {
    expect((await seen('/v2/x/y')).url).toBe('/x/y');
  });

  it('http_method: the upstream gets the configured method', async () => {
    const s = await seen('/method', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'payload' });
    expect(s.method).toBe('PUT');
    expect(s.body).toBe('payload');
  });

  const original = {
    secret: 's3cr3t',
    old: 'renamed-value',
    a: { b: 1 },
    status: 'orig',
    nested: { drop: 1, keep: 2 },
    list: ['x', 'y'],
    tags: ['t1'],
    single: 'a',
  };
  const expected = {
    new: 'renamed-value',
    a: { c: 1 },
    status: 'replaced',
    nested: { keep: 2, deep: { flag: true } },
    list: ['y'],
    tags: ['t1', 'new'],
    single: ['a', 'b'],
    added: 1,
    obj: { k: ['v'] },
    fresh: 'x',
  };

  it('JSON body: remove, rename, replace, add, append incl. nested paths; Content-Length matches the new body', async () => {
    const s = await seen('/body', { method: 'POST', headers: JSON_CT, body: JSON.stringify(original) });
    expect(JSON.parse(s.body)).toEqual(expected);
    expect(s.headers['content-length']).toBe(String(s.bodyBytes));
    expect(s.headers['transfer-encoding']).toBeUndefined();
  });

  it('JSON body sent chunked: transformed and sent with a Content-Length', async () => {
    const text = JSON.stringify(original);
    const r = await postChunked(gw.port, '/body', [text.slice(0, 10), text.slice(10, 40), text.slice(40)], { 'content-type': 'application/json; charset=utf-8' });
    expect(r.status).toBe(200);
    const s = JSON.parse(r.body) as Seen;
    expect(JSON.parse(s.body)).toEqual(expected);
    expect(s.headers['content-length']).toBe(String(s.bodyBytes));
  });

  it('JSON body: +json media types are JSON too; config object values are copied per request', async () => {
    for (let i = 0; i < 2; i++) {
      const s = await seen('/body', { method: 'POST', headers: { 'content-type': 'application/vnd.api+json' }, body: '{"obj":null}' });
      // `obj` is present (null), so add leaves it; a second request is not affected by the first.
      expect(JSON.parse(s.body)).toMatchObject({ obj: null, added: 1, nested: { deep: { flag: true } } });
    }
  });

  it('JSON body templates: consumer and capture; a missing claim skips the field', async () => {
    const s = await seen('/accounts/77', { method: 'POST', headers: { ...JSON_CT, apikey: alice.plain! }, body: '{"x":1}' });
    expect(JSON.parse(s.body)).toEqual({ x: 1, owner: 'alice', account: 'acct-77' });
    expect(s.headers['content-length']).toBe(String(s.bodyBytes));
  });

  it('over max_body_size → 413 problem+json, the upstream is not called (declared and chunked)', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(300) });
    for (const r of [
      await send(gw.port, '/body', { method: 'POST', headers: JSON_CT, body: big }),
      await postChunked(gw.port, '/body', [big.slice(0, 100), big.slice(100)], JSON_CT).then((x) => ({ ...x, headers: {} as Record<string, unknown> })),
    ]) {
      const before = up.hits;
      expect(r.status).toBe(413);
      expect((JSON.parse(r.body) as { code: string }).code).toBe('GW_ERR_BODY_TOO_LARGE');
      expect(up.hits).toBe(before);
    }
  });

  it('invalid JSON → 400 GW_ERR_INVALID_JSON_BODY as problem+json, the upstream is not called', async () => {
    const before = up.hits;
    const r = await send(gw.port, '/body', { method: 'POST', headers: JSON_CT, body: '{"a": 1,' });
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.json<{ code: string; detail: string }>()).toMatchObject({ code: 'GW_ERR_INVALID_JSON_BODY', detail: expect.stringMatching(/not valid JSON/) });
    expect(up.hits).toBe(before);
  });

  it('non-JSON, gzip-encoded, empty and non-object bodies pass through byte for byte (and are not capped)', async () => {
    const text = JSON.stringify({ secret: 'x', pad: 'y'.repeat(400) });
    const plain = await seen('/body', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text });
    expect(plain.body).toBe(text);
    const gz = gzipSync(JSON.stringify(original));
    const zipped = await seen('/body', { method: 'POST', headers: { ...JSON_CT, 'content-encoding': 'gzip' }, body: gz });
    expect(Buffer.from(zipped.body, 'latin1').equals(gz)).toBe(true);
    const empty = await seen('/body', { method: 'POST', headers: JSON_CT });
    expect(empty.bodyBytes).toBe(0);
    const arr = await seen('/body', { method: 'POST', headers: JSON_CT, body: '"just a string"' });
    expect(arr.body).toBe('"just a string"');
  });
});
