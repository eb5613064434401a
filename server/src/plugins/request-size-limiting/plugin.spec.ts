import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { validate } from '../../config/validate.js';
import { echoHandler, send, startGateway, startUpstream, type Gateway, type Reply, type Upstream } from '../../proxy/test-support/harness.js';
import { requestSizeStats } from './plugin.js';
import { RequestSizeLimitingSchema } from './schema.js';

const LIMIT = 16 * 1024;

/** What the upstream saw of each request sent to /watch: bytes received and whether the body ended. */
interface Seen {
  bytes: number;
  ended: boolean;
}

/** Sends a chunked body (no Content-Length) in `chunks` pieces of `size` bytes, pausing between them. */
function sendChunked(port: number, path: string, chunks: number, size: number, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked', ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts).toString();
        resolve({ status: res.statusCode!, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    let i = 0;
    const next = (): void => {
      if (req.destroyed) return;
      if (i++ === chunks) {
        req.end();
        return;
      }
      req.write(Buffer.alloc(size, 0x61));
      setTimeout(next, 2);
    };
    next();
  });
}

describe('request-size-limiting', () => {
  let up: Upstream;
  let gw: Gateway;
  const seen: Seen[] = [];
  beforeAll(async () => {
    const echo = echoHandler(() => up.port);
    up = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
      if (!req.url!.startsWith('/watch')) return echo(req, res);
      const s: Seen = { bytes: 0, ended: false };
      seen.push(s);
      req.on('data', (c: Buffer) => (s.bytes += c.length));
      req.on('end', () => {
        s.ended = true;
        res.end('complete');
      });
      req.on('error', () => {});
    });
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [
        { name: 'limited', service: 's', paths: ['/limited', '/watch'] },
        { name: 'strict', service: 's', paths: ['/strict'] },
        { name: 'auth', service: 's', paths: ['/auth'] },
        { name: 'open', service: 's', paths: ['/open'] },
      ],
      plugins: [
        { name: 'request-size-limiting', route: 'limited', config: { allowed_payload_size: LIMIT } },
        { name: 'request-size-limiting', route: 'strict', config: { allowed_payload_size: LIMIT, require_content_length: true } },
        { name: 'request-size-limiting', route: 'auth', config: { allowed_payload_size: LIMIT } },
        { name: 'key-auth', route: 'auth', config: {} },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('defaults to 8 MiB and does not require Content-Length', () => {
    const v = validate(RequestSizeLimitingSchema, {});
    expect(v.ok && v.value).toEqual({ allowed_payload_size: 8 * 1024 * 1024, require_content_length: false });
  });

  it('refuses a declared Content-Length over the limit with 413 before contacting the upstream', async () => {
    const hits = up.hits;
    const before = requestSizeStats.declared;
    const r = await send(gw.port, '/limited', { method: 'POST', body: Buffer.alloc(LIMIT + 1) });
    expect(r.status).toBe(413);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.json()).toMatchObject({ code: 'GW_ERR_BODY_TOO_LARGE', status: 413, request_id: r.headers['x-request-id'] });
    expect(up.hits).toBe(hits);
    expect(requestSizeStats.declared).toBe(before + 1);
  });

  it('passes a body of exactly the limit, and routes without the plugin are not limited', async () => {
    const r = await send(gw.port, '/limited', { method: 'POST', body: Buffer.alloc(LIMIT) });
    expect(r.status).toBe(200);
    expect(r.json().bodyBytes).toBe(LIMIT);
    const o = await send(gw.port, '/open', { method: 'POST', body: Buffer.alloc(LIMIT * 4) });
    expect(o.json().bodyBytes).toBe(LIMIT * 4);
  });

  it('keeps the connection usable after a 413', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const one = (body: Buffer) =>
        new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: gw.port, path: '/limited', method: 'POST', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket }));
          });
          req.on('error', reject);
          req.end(body);
        });
      expect(await one(Buffer.alloc(LIMIT + 100))).toEqual({ status: 413, reused: false });
      expect(await one(Buffer.alloc(10))).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });

  it('refuses an oversized body before authentication asks for credentials', async () => {
    const r = await send(gw.port, '/auth', { method: 'POST', body: Buffer.alloc(LIMIT + 1) });
    expect(r.status).toBe(413);
    expect((await send(gw.port, '/auth', { method: 'POST', body: 'small' })).status).toBe(401);
  });

  it('counts a chunked body without losing any of it on the way upstream', async () => {
    const r = await sendChunked(gw.port, '/limited', 15, 1000);
    expect(r.status).toBe(200);
    expect(r.json().bodyBytes).toBe(15_000);
    expect(r.json().headers['transfer-encoding']).toBe('chunked');
  });

  it('stops a chunked body that grows over the limit: the upstream never gets it all', async () => {
    const from = seen.length;
    const before = requestSizeStats.streamed;
    const total = 64 * 1024;
    const outcome = await sendChunked(gw.port, '/watch', 64, 1024).then(
      (r) => r.status,
      (err: Error) => err.message,
    );
    // The client may still be writing when the 413 arrives; then it sees the answer or a reset, never a 200.
    expect(outcome === 413 || typeof outcome === 'string').toBe(true);
    expect(requestSizeStats.streamed).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 50));
    const s = seen.slice(from);
    expect(s.length).toBeLessThanOrEqual(1);
    if (s.length === 1) {
      expect(s[0]!.ended).toBe(false);
      expect(s[0]!.bytes).toBeLessThan(total);
    }
    // The gateway keeps serving.
    expect((await send(gw.port, '/limited')).status).toBe(200);
  });

  it('answers 413 problem+json when a chunked body grows over the limit before the upstream answered', async () => {
    // One write over the limit, then the end: the client has sent everything and waits for the answer.
    const r = await sendChunked(gw.port, '/watch', 1, LIMIT + 1);
    expect(r.status).toBe(413);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.json()).toMatchObject({ code: 'GW_ERR_BODY_TOO_LARGE', status: 413 });
    expect((await send(gw.port, '/limited')).status).toBe(200);
  });

  it('with require_content_length, refuses a chunked body with 411 and lets bodiless requests through', async () => {
    const hits = up.hits;
    const r = await sendChunked(gw.port, '/strict', 1, 10);
    expect(r.status).toBe(411);
    expect(r.json()).toMatchObject({ code: 'GW_ERR_LENGTH_REQUIRED', status: 411 });
    expect(up.hits).toBe(hits);
    expect((await send(gw.port, '/strict')).status).toBe(200);
    expect((await send(gw.port, '/strict', { method: 'POST', body: 'x' })).status).toBe(200);
  });
});
