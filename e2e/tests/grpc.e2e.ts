/**
 * gRPC pass-through (issue 9): a real @grpc/grpc-js server behind the gateway and a real grpc-js client in
 * front, speaking prior-knowledge HTTP/2 (h2c) to the gateway's h2c listener. Unary and server-streaming
 * calls, an upstream error status with its message, gateway errors as gRPC statuses (upstream down →
 * UNAVAILABLE, missing API key → UNAUTHENTICATED, rate limited → RESOURCE_EXHAUSTED).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { startFileGateway, type FileGateway } from './resilience-helpers.js';

const PROTO = `
syntax = "proto3";
package demo;
message Msg { string text = 1; int32 n = 2; }
service Echo {
  rpc Say (Msg) returns (Msg);
  rpc Count (Msg) returns (stream Msg);
  rpc Fail (Msg) returns (Msg);
}
service Down { rpc Say (Msg) returns (Msg); }
service Guarded { rpc Say (Msg) returns (Msg); }
service Limited { rpc Say (Msg) returns (Msg); }
`;

interface Msg {
  text: string;
  n: number;
}
type Unary = (req: Msg, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Msg) => void) => void;
type Client = grpc.Client & { Say: Unary; Fail: Unary; Count(req: Msg): grpc.ClientReadableStream<Msg> };
type Ctor = new (addr: string, creds: grpc.ChannelCredentials) => Client;

function unary(client: Client, method: 'Say' | 'Fail', req: Msg, md = new grpc.Metadata()): Promise<{ res?: Msg; err?: grpc.ServiceError }> {
  return new Promise((resolve) => client[method](req, md, (err, res) => resolve(err ? { err } : { res: res! })));
}

describe('gRPC pass-through (e2e)', () => {
  let dir: string;
  let server: grpc.Server;
  let gw: FileGateway;
  let h2cPort: number;
  let pkg: Record<string, Ctor>;
  let seenMetadata: grpc.Metadata | undefined;
  const clients: Client[] = [];
  const client = (name: string): Client => {
    const c = new pkg[name]!(`127.0.0.1:${h2cPort}`, grpc.credentials.createInsecure());
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gh-e2e-grpc-'));
    writeFileSync(path.join(dir, 'demo.proto'), PROTO);
    const def = protoLoader.loadSync(path.join(dir, 'demo.proto'), { keepCase: true, defaults: true });
    pkg = (grpc.loadPackageDefinition(def) as unknown as { demo: Record<string, Ctor> }).demo;
    const svc = (n: string) => (pkg[n] as unknown as { service: grpc.ServiceDefinition }).service;

    server = new grpc.Server();
    server.addService(svc('Echo'), {
      Say: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
        seenMetadata = call.metadata;
        cb(null, { text: `echo: ${call.request.text}`, n: call.request.n + 1 });
      },
      Count: (call: grpc.ServerWritableStream<Msg, Msg>) => {
        let i = 0;
        // Spaced writes: the gateway must stream them as they come, not once the call ends.
        const timer = setInterval(() => {
          if (i === call.request.n) {
            clearInterval(timer);
            call.end();
            return;
          }
          call.write({ text: `${call.request.text}-${i}`, n: i++ });
        }, 20);
      },
      Fail: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
        cb({ code: grpc.status.FAILED_PRECONDITION, details: `cannot do "${call.request.text}", 100% sure` });
      },
    });
    const upstreamPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    const downPort = await freePort();
    h2cPort = await freePort();
    gw = await startFileGateway(
      {
        services: [
          { name: 'echo', protocol: 'grpc', host: '127.0.0.1', port: upstreamPort },
          { name: 'down', protocol: 'grpc', host: '127.0.0.1', port: downPort },
        ],
        routes: [
          { name: 'echo', service: 'echo', paths: ['/demo.Echo/'], strip_path: false },
          { name: 'down', service: 'down', paths: ['/demo.Down/'], strip_path: false },
          // Rewritten onto the Echo service, so a call that gets through reaches a real method.
          { name: 'guarded', service: 'echo', paths: ['~/demo\\.Guarded/(?<m>\\w+)$'], rewrite: '/demo.Echo/{m}' },
          { name: 'limited', service: 'echo', paths: ['~/demo\\.Limited/(?<m>\\w+)$'], rewrite: '/demo.Echo/{m}' },
        ],
        plugins: [
          { name: 'key-auth', route: 'guarded', config: {} },
          { name: 'rate-limiting', route: 'limited', config: { minute: 1 } },
        ],
      },
      { GATEHOUSE_PROXY_H2C_PORT: `127.0.0.1:${h2cPort}` },
    );
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await gw?.cleanup();
    await new Promise<void>((r) => (server ? server.tryShutdown(() => r()) : r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('unary call: the answer comes back, metadata and the gateway headers reach the upstream', async () => {
    const md = new grpc.Metadata();
    md.set('x-tenant', 'acme');
    const { res, err } = await unary(client('Echo'), 'Say', { text: 'hello', n: 41 }, md);
    expect(err).toBeUndefined();
    expect(res).toEqual({ text: 'echo: hello', n: 42 });
    expect(seenMetadata?.get('x-tenant')).toEqual(['acme']);
    expect(seenMetadata?.get('x-request-id')[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(seenMetadata?.get('via')[0]).toContain('gatehouse');
  });

  it('server streaming: every message arrives, one by one, then status OK', async () => {
    const got: { msg: Msg; at: number }[] = [];
    const stream = client('Echo').Count({ text: 'tick', n: 5 });
    const status = await new Promise<grpc.StatusObject>((resolve, reject) => {
      stream.on('data', (m: Msg) => got.push({ msg: m, at: Date.now() }));
      stream.on('status', resolve);
      stream.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.OK ? undefined : reject(e)));
    });
    expect(status.code).toBe(grpc.status.OK);
    expect(got.map((g) => g.msg.text)).toEqual(['tick-0', 'tick-1', 'tick-2', 'tick-3', 'tick-4']);
    // Streamed, not buffered: the first and last messages arrive apart (the upstream writes every 20 ms).
    expect(got[4]!.at - got[0]!.at).toBeGreaterThanOrEqual(40);
  });

  it("an upstream error status reaches the client with its message (from the upstream's trailers)", async () => {
    const { err } = await unary(client('Echo'), 'Fail', { text: 'the thing', n: 0 });
    expect(err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err?.details).toBe('cannot do "the thing", 100% sure');
  });

  it('upstream down → UNAVAILABLE from the gateway, with its error code in the message', async () => {
    const { err } = await unary(client('Down'), 'Say', { text: 'x', n: 0 });
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(err?.details).toContain('GW_ERR_UPSTREAM_UNAVAILABLE');
    expect(err?.metadata.get('x-request-id')[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('missing API key → UNAUTHENTICATED; the upstream is not called', async () => {
    seenMetadata = undefined;
    const { err } = await unary(client('Guarded'), 'Say', { text: 'x', n: 0 });
    expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err?.details).toContain('GW_ERR_AUTH_MISSING');
    expect(seenMetadata).toBeUndefined();
  });

  it('over the rate limit → RESOURCE_EXHAUSTED', async () => {
    const c = client('Limited');
    const first = await unary(c, 'Say', { text: 'one', n: 0 });
    expect(first.err).toBeUndefined();
    expect(first.res?.text).toBe('echo: one');
    const second = await unary(c, 'Say', { text: 'two', n: 0 });
    expect(second.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(second.err?.details).toContain('GW_ERR_RATE_LIMITED');
  });
});
