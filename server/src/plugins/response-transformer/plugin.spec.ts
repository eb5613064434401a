import { gunzipSync, gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCredential } from '../../auth/new-credential.js';
import { activeCredentialKeys } from '../../auth/secrets.js';
import { validate } from '../../config/validate.js';
import { compile, send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { ResponseTransformerSchema } from './schema.js';

const DOC = { a: 1, secret: 's', nested: { x: 1, keep: true }, list: [1], pad: '' };
const BIG = JSON.stringify({ ...DOC, pad: 'p'.repeat(2000) });

/** Upstream answers by path: the same JSON document sent in the ways the filter must handle. */
function upstream(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const path = (req.url ?? '/').split('?')[0]!.replace(/^\/(r|a|h|t\/[^/]+)/, '');
  const text = JSON.stringify(DOC);
  const json = { 'content-type': 'application/json', 'x-up-remove': '1', 'x-up-old': 'old-value', 'x-up-rep': 'orig', 'x-up-multi': 'one', etag: '"v1"' };
  switch (path) {
    case '/json':
      res.writeHead(200, { ...json, 'content-length': Buffer.byteLength(text) });
      return void res.end(text);
    case '/chunked':
      res.writeHead(200, json);
      res.write(text.slice(0, 5));
      res.write(text.slice(5, 20));
      setTimeout(() => res.end(text.slice(20)), 5);
      return;
    case '/gzip': {
      const gz = gzipSync(text);
      res.writeHead(200, { ...json, 'content-encoding': 'gzip', 'content-length': gz.length });
      return void res.end(gz);
    }
    case '/big':
      res.writeHead(200, { ...json, 'content-length': Buffer.byteLength(BIG) });
      return void res.end(BIG);
    case '/big-chunked':
      res.writeHead(200, json);
      res.write(BIG.slice(0, 600));
      res.write(BIG.slice(600, 1500));
      return void res.end(BIG.slice(1500));
    case '/invalid':
      res.writeHead(200, { ...json, 'content-length': 9 });
      return void res.end('{"a": 1, ');
    case '/text':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      return void res.end(text);
    case '/array':
      res.writeHead(200, { 'content-type': 'application/problem+json' });
      return void res.end('[{"a":1,"secret":2}]');
    default:
      res.writeHead(404);
      res.end();
  }
}

const keys = activeCredentialKeys();
const bob = newCredential(keys, 'bob', { kind: 'key-auth' });

describe('response-transformer', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream(upstream);
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      consumers: [{ username: 'bob', custom_id: 'B-1' }],
      credentials: [bob.credential],
      routes: [
        { name: 'r', service: 's', paths: ['/r'], strip_path: false },
        { name: 't', service: 's', paths: ['~/t/(?<tenant>[a-z]+)/'], strip_path: false },
        { name: 'hdr-only', service: 's', paths: ['/h'], strip_path: false },
        { name: 'arr', service: 's', paths: ['/a'], strip_path: false },
      ],
      plugins: [
        {
          name: 'response-transformer',
          route: 'r',
          config: {
            max_body_size: 1024,
            remove: { headers: ['x-up-remove'], json: ['secret'] },
            rename: { headers: { 'x-up-old': 'x-up-new' }, json: { 'nested.x': 'nested.y' } },
            replace: { headers: { 'x-up-rep': 'R', 'x-absent': 'never' }, json: { a: 2, missing: 'never' } },
            add: { headers: { 'x-added': 'A', 'x-up-multi': 'not-used' }, json: { added: { deep: [1, 2] }, 'nested.z': 'z' } },
            append: { headers: { 'x-up-multi': 'two' }, json: { list: 2 } },
          },
        },
        { name: 'key-auth', route: 't', config: {} },
        {
          name: 'response-transformer',
          route: 't',
          config: { add: { headers: { 'x-served-to': '$(consumer.username)/$(consumer.custom_id)' }, json: { tenant: '$(params.tenant)', ghost: '$(claims.sub)' } } },
        },
        { name: 'response-transformer', route: 'arr', config: { remove: { json: ['0.secret', '5.secret'] }, append: { json: { '0.tags': 't' } }, add: { json: { 'x.y': 1 } } } },
        { name: 'response-transformer', route: 'hdr-only', config: { remove: { headers: ['etag'] } } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  const EDITED = { a: 2, nested: { keep: true, y: 1, z: 'z' }, list: [1, 2], pad: '', added: { deep: [1, 2] } };

  it('fills defaults', () => {
    const v = validate(ResponseTransformerSchema, { remove: { headers: ['x'] } });
    expect(v.ok && v.value).toEqual({
      remove: { headers: ['x'], json: [] },
      rename: { headers: {}, json: {} },
      replace: { headers: {}, json: {} },
      add: { headers: {}, json: {} },
      append: { headers: {}, json: {} },
      max_body_size: 1048576,
    });
  });

  it('refuses configs that edit nothing, manage framing headers or use unknown templates', () => {
    const bad = [{}, { add: { headers: { 'content-length': '1' } } }, { add: { json: { a: '$(nope.x)' } } }, { rename: { json: { 'a..b': 'c' } } }];
    const errors = compile(
      {
        services: [{ name: 's', url: `http://${up.address}` }],
        routes: bad.map((_, i) => ({ name: `r${i}`, service: 's', paths: [`/r${i}`] })),
        plugins: bad.map((config, i) => ({ name: 'response-transformer', route: `r${i}`, config })),
      },
      gw.logger,
      gw.pools,
    ).errors.map((e) => e.message);
    expect(errors).toHaveLength(bad.length);
    expect(errors.join('\n')).toMatch(/edits nothing[\s\S]*'content-length' is managed[\s\S]*unknown source 'nope'[\s\S]*empty segment/);
  });

  it('headers: remove, rename, replace, add, append', async () => {
    const r = await send(gw.port, '/r/json');
    expect(r.status).toBe(200);
    expect(r.headers['x-up-remove']).toBeUndefined();
    expect(r.headers['x-up-old']).toBeUndefined();
    expect(r.headers['x-up-new']).toBe('old-value');
    expect(r.headers['x-up-rep']).toBe('R');
    expect(r.headers['x-absent']).toBeUndefined();
    expect(r.headers['x-added']).toBe('A');
    expect(r.headers['x-up-multi']).toBe('one, two');
  });

  it('JSON body: every operation incl. nested paths; no stale Content-Length, ETag made weak', async () => {
    const r = await send(gw.port, '/r/json');
    expect(JSON.parse(r.body)).toEqual(EDITED);
    expect(r.headers['content-length']).toBeUndefined();
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.headers.etag).toBe('W/"v1"');
  });

  it('JSON body from a chunked upstream (several writes) is edited the same way', async () => {
    const r = await send(gw.port, '/r/chunked');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual(EDITED);
  });

  it('a gzip-encoded body passes through untouched (headers still edited)', async () => {
    const r = await sendBinary(gw.port, '/r/gzip');
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.headers['x-up-new']).toBe('old-value');
    expect(JSON.parse(gunzipSync(r.body).toString())).toEqual(DOC);
    expect(r.headers['content-length']).toBe(String(r.body.length));
  });

  it('over max_body_size (declared or streamed), invalid JSON and non-JSON pass through unchanged; the cap is logged once', async () => {
    const warnsBefore = gw.logger.lines.filter((l) => l.level === 'warn' && /max_body_size/.test(l.msg ?? '')).length;
    const big = await send(gw.port, '/r/big');
    expect(big.body).toBe(BIG);
    expect(big.headers['content-length']).toBe(String(Buffer.byteLength(BIG)));
    const bigChunked = await send(gw.port, '/r/big-chunked');
    expect(bigChunked.body).toBe(BIG);
    const warns = gw.logger.lines.filter((l) => l.level === 'warn' && /max_body_size/.test(l.msg ?? '')).length;
    expect(warns - warnsBefore).toBeLessThanOrEqual(1);
    expect(warns).toBe(1);
    expect((await send(gw.port, '/r/invalid')).body).toBe('{"a": 1, ');
    expect((await send(gw.port, '/r/text')).body).toBe(JSON.stringify(DOC));
  });

  it('+json media types and array roots (numeric path segments)', async () => {
    const r = await send(gw.port, '/a/array');
    // Index 5 does not exist and an array root gets no `x` member: both are skipped.
    expect(JSON.parse(r.body)).toEqual([{ a: 1, tags: 't' }]);
  });

  it('templates: consumer fields and route captures; a missing claim skips the field', async () => {
    const r = await send(gw.port, '/t/acme/json', { headers: { apikey: bob.plain! } });
    expect(r.status).toBe(200);
    expect(r.headers['x-served-to']).toBe('bob/B-1');
    expect(JSON.parse(r.body)).toEqual({ ...DOC, tenant: 'acme' });
  });

  it('gateway answers are not filtered (401 problem+json stays intact)', async () => {
    const r = await send(gw.port, '/t/acme/json');
    expect(r.status).toBe(401);
    expect(r.json<{ code: string }>().code).toBe('GW_ERR_AUTH_MISSING');
  });

  it('an instance with header edits only never touches the body or its length', async () => {
    const r = await send(gw.port, '/h/json');
    expect(r.headers.etag).toBeUndefined();
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(JSON.stringify(DOC))));
    expect(JSON.parse(r.body)).toEqual(DOC);
  });
});

/** GET returning the raw body bytes (no decoding). */
async function sendBinary(port: number, path: string): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}
