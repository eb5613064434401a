import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { OtlpHttpSender, type SenderOptions } from './span-exporter-worker.js';
import { OtlpReceiver } from './test-support/otlp-receiver.js';

const body = (traceId: string, spans = 1): Buffer =>
  Buffer.from(
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 't' } }] },
          scopeSpans: [
            {
              scope: { name: 'gatehouse' },
              spans: Array.from({ length: spans }, (_, i) => ({ traceId, spanId: `${i}`.padStart(16, 'a'), name: 's', kind: 1, startTimeUnixNano: '1', endTimeUnixNano: '2', attributes: [], status: {} })),
            },
          ],
        },
      ],
    }),
  );

/** A collector stand-in whose answers the test scripts per request. */
class Scripted {
  readonly seen: { headers: IncomingMessage['headers']; body: Buffer }[] = [];
  private readonly held: ServerResponse[] = [];
  port = 0;
  private constructor(private readonly server: Server) {}
  static async start(answer: (n: number, res: ServerResponse, self: Scripted) => void): Promise<Scripted> {
    const server = createServer();
    const s = new Scripted(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        s.seen.push({ headers: req.headers, body: Buffer.concat(chunks) });
        answer(s.seen.length, res, s);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    s.port = (server.address() as { port: number }).port;
    return s;
  }
  hold(res: ServerResponse): void {
    this.held.push(res);
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}/v1/traces`;
  }
  close(): Promise<void> {
    for (const r of this.held) r.destroy();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function sender(over: Partial<SenderOptions> & { url: string }): { s: OtlpHttpSender; failed: [number, string][]; dropped: number[] } {
  const failed: [number, string][] = [];
  const dropped: number[] = [];
  const s = new OtlpHttpSender({ headers: {}, timeoutMs: 2_000, gzip: false, maxQueuedSpans: 100, retryBaseMs: 20, ...over }, { failed: (n, r) => failed.push([n, r]), dropped: (n) => dropped.push(n) });
  cleanups.push(() => s.close());
  return { s, failed, dropped };
}

describe('OTLP/HTTP sender (the exporter thread’s core)', () => {
  it('POSTs the bodies as JSON with the configured headers to a real receiver', async () => {
    const receiver = await OtlpReceiver.start();
    cleanups.push(() => receiver.close());
    const { s, failed } = sender({ url: receiver.url, headers: { 'x-api-key': 'k1' } });
    expect(s.enqueue(body('a'.repeat(32), 3), 3)).toBe(true);
    expect(s.enqueue(body('b'.repeat(32), 2), 2)).toBe(true);
    expect(await s.flush()).toBe(0);
    expect(receiver.spans).toHaveLength(5);
    expect(receiver.requests.every((q) => q.contentType === 'application/json' && q.headers['x-api-key'] === 'k1')).toBe(true);
    expect(s.exported).toBe(5);
    expect(failed).toEqual([]);
  });

  it('never waits: with the collector hanging, batches past the bound are dropped and counted at once', async () => {
    const hang = await Scripted.start((_n, res, self) => self.hold(res));
    cleanups.push(() => hang.close());
    const { s, dropped } = sender({ url: hang.url, maxQueuedSpans: 10, timeoutMs: 60_000 });
    const t0 = performance.now();
    const accepted = Array.from({ length: 8 }, () => s.enqueue(body('c'.repeat(32), 3), 3));
    expect(performance.now() - t0).toBeLessThan(50);
    // 3 batches of 3 fit under 10 spans; the other 5 are refused.
    expect(accepted.filter(Boolean)).toHaveLength(3);
    expect(s.dropped).toBe(15);
    expect(dropped).toEqual([3, 3, 3, 3, 3]);
    expect(s.pending).toBe(9);
  });

  it('retries 503 and network failures, then succeeds', async () => {
    const flaky = await Scripted.start((n, res) => {
      if (n === 1) res.writeHead(503, { 'retry-after': '0' }).end();
      else if (n === 2) res.socket!.destroy();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    cleanups.push(() => flaky.close());
    const { s, failed } = sender({ url: flaky.url });
    s.enqueue(body('d'.repeat(32), 4), 4);
    expect(await s.flush()).toBe(0);
    expect(flaky.seen).toHaveLength(3);
    expect(s.exported).toBe(4);
    expect(failed).toEqual([]);
  });

  it('gives up on a non-retryable answer at once, and on retryable ones after the last attempt', async () => {
    const refusing = await Scripted.start((n, res) => res.writeHead(n === 1 ? 400 : 502).end());
    cleanups.push(() => refusing.close());
    const { s, failed } = sender({ url: refusing.url, maxAttempts: 3 });
    s.enqueue(body('e'.repeat(32), 2), 2);
    expect(await s.flush()).toBe(2);
    expect(refusing.seen).toHaveLength(1);
    s.enqueue(body('f'.repeat(32), 5), 5);
    expect(await s.flush()).toBe(5);
    expect(refusing.seen).toHaveLength(4); // three attempts
    expect(failed).toEqual([
      [2, 'HTTP 400'],
      [5, 'HTTP 502'],
    ]);
    expect(s.failed).toBe(7);
    expect(s.pending).toBe(0);
  });

  it('times out a collector that does not answer', async () => {
    const hang = await Scripted.start((_n, res, self) => self.hold(res));
    cleanups.push(() => hang.close());
    const { s, failed } = sender({ url: hang.url, timeoutMs: 100, maxAttempts: 1 });
    s.enqueue(body('0'.repeat(31) + '1'), 1);
    expect(await s.flush()).toBe(1);
    expect(failed[0]![1]).toMatch(/timed out after 100 ms/);
  });

  it('gzips when asked, and counts the spans a collector reports as rejected', async () => {
    const collector = await Scripted.start((_n, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"partialSuccess":{"rejectedSpans":"2","errorMessage":"too old"}}'));
    cleanups.push(() => collector.close());
    const { s } = sender({ url: collector.url, gzip: true });
    const b = body('9'.repeat(32), 6);
    s.enqueue(b, 6);
    expect(await s.flush()).toBe(0);
    expect(collector.seen[0]!.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(collector.seen[0]!.body).equals(b)).toBe(true);
    expect(s.exported).toBe(4);
  });
});
