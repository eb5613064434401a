/**
 * ctx.readBody: a plugin that reads the request body (hmac-auth's digest check) must not change what the
 * upstream receives. A test plugin takes the response-headers slot in a private registry so the hook is
 * exercised on its own, through the real ProxyServer and a real upstream.
 */
import { Type } from '@sinclair/typebox';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDocument } from '../config/check.js';
import { PLUGINS } from '../plugins/index.js';
import { definePlugin, type PluginDefinition, type RequestContext } from '../plugins/types.js';
import { ProxyServer } from './proxy-server.js';
import { buildSnapshot } from './snapshot.js';
import { MemoryLogger, send, startUpstream, type Upstream } from './test-support/harness.js';
import { PoolRegistry } from './upstream-pool.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

const bodyReader = definePlugin({
  name: 'response-headers',
  description: 'test: reads the body and tells the upstream its hash',
  schema: Type.Object({ limit: Type.Integer({ default: 1024, description: 'byte limit' }), twice: Type.Boolean({ default: false, description: 'read twice' }) }),
  scopes: ['route'],
  create: function createBodyReader(config) {
    return {
      async access(ctx: RequestContext) {
        const b = await ctx.readBody(config.limit);
        if (config.twice) {
          const again = await ctx.readBody(config.limit);
          if (again !== b) throw new Error('readBody read twice');
        }
        ctx.setUpstreamHeader('x-seen-sha', sha(b));
        ctx.setUpstreamHeader('x-seen-bytes', String(b.length));
      },
    };
  },
});

interface Seen {
  sha: string;
  bytes: number;
  headers: Record<string, string | string[] | undefined>;
}

/** Sends a body with a fixed length (a Buffer) or chunked (an array of chunks). */
function post(port: number, path: string, body: Buffer | Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const chunked = Array.isArray(body);
    // Explicit: Node's client would otherwise send a fixed length for writes buffered before the connect.
    const headers = chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(body.length) };
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent: false }, (res) => {
      let out = '';
      res.on('data', (c: Buffer) => (out += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: out }));
    });
    req.on('error', reject);
    if (chunked) for (const c of body) req.write(c);
    req.end(chunked ? undefined : body);
  });
}

describe('ctx.readBody', () => {
  let up: Upstream;
  let proxy: ProxyServer;
  let port: number;

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/stream') {
        // Answers on the first chunk, before the request body is complete.
        req.once('data', () => res.writeHead(200).write('first'));
        req.on('end', () => res.end());
        req.resume();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const b = Buffer.concat(chunks);
        const seen: Seen = { sha: sha(b), bytes: b.length, headers: req.headers };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(seen));
      });
    });
    const plugins = new Map<string, PluginDefinition>([...PLUGINS, ['response-headers', bodyReader as PluginDefinition]]);
    const checked = checkDocument(
      {
        _format_version: '1',
        services: [{ name: 's', url: `http://${up.address}` }],
        routes: [
          { name: 'read', service: 's', paths: ['/read'] },
          { name: 'twice', service: 's', paths: ['/twice'] },
          { name: 'stream', service: 's', paths: ['/stream'], strip_path: false },
        ],
        plugins: [
          { name: 'response-headers', route: 'read', config: { limit: 256 * 1024 } },
          { name: 'response-headers', route: 'twice', config: { limit: 1024, twice: true } },
        ],
      },
      plugins,
    );
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    const logger = new MemoryLogger();
    proxy = new ProxyServer({ trustedProxies: [], logger });
    proxy.swap(buildSnapshot(checked.document, plugins, { logger, pools: new PoolRegistry(), version: 1 }));
    await proxy.listen('127.0.0.1', 0);
    port = proxy.address().port;
  });
  afterAll(async () => {
    await proxy.close(500);
    await up.close();
  });

  const big = Buffer.alloc(200 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;

  it.each([
    { name: 'fixed length', path: '/read', body: big as Buffer | Buffer[] },
    { name: 'chunked', path: '/read', body: [big.subarray(0, 70_000), big.subarray(70_000, 140_000), big.subarray(140_000)] },
    { name: 'read twice, same bytes', path: '/twice', body: Buffer.from('{"a":1}') },
  ])('$name: the plugin and the upstream see the same bytes, with a correct content-length', async ({ path, body }) => {
    const whole = Array.isArray(body) ? Buffer.concat(body) : body;
    const r = await post(port, path, body);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as Seen;
    expect(seen.bytes).toBe(whole.length);
    expect(seen.sha).toBe(sha(whole));
    expect(seen.headers['x-seen-sha']).toBe(sha(whole));
    expect(seen.headers['content-length']).toBe(String(whole.length));
    expect(seen.headers['transfer-encoding']).toBeUndefined();
  });

  it('a request without a body reads as empty and is sent without one', async () => {
    const r = await send(port, '/read');
    const seen = r.json<Seen>();
    expect(seen.headers['x-seen-bytes']).toBe('0');
    expect(seen.bytes).toBe(0);
  });

  it.each([
    { name: 'declared length over the limit', body: Buffer.alloc(2048, 1) as Buffer | Buffer[] },
    { name: 'chunked body growing over the limit', body: [Buffer.alloc(600, 1), Buffer.alloc(600, 2)] },
  ])('$name → 413 problem+json, upstream not called', async ({ body }) => {
    const before = up.hits;
    const r = await post(port, '/twice', body);
    expect(r.status).toBe(413);
    expect((JSON.parse(r.body) as { code: string }).code).toBe('GW_ERR_BODY_TOO_LARGE');
    expect(up.hits).toBe(before);
  });

  it('without a plugin reading it, the body is still streamed: the upstream answers before the client ends', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/stream', method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        // The upstream's head arrived while the request body is still open: nothing buffered it.
        req.end('def');
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.flushHeaders();
      req.write('abc');
    });
    expect(status).toBe(200);
  });
});
