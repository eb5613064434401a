import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLogger } from '../proxy/test-support/harness.js';
import { encodeSpan, envelope, SpanFields } from './otlp-encoder.js';
import { ExportReporter, parseOtlpHeaders, senderOptionsFromEnv, SpanBatcher, WorkerSpanTransport, type SpanTransport } from './span-export.js';
import { OtlpReceiver } from './test-support/otlp-receiver.js';

class Collecting implements SpanTransport {
  readonly batches: { body: { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] }; spans: number; bytes: ArrayBuffer; length: number }[] = [];
  take: ((bytes: ArrayBuffer) => void) | undefined;
  onReleased(take: (bytes: ArrayBuffer) => void): void {
    this.take = take;
  }
  send(bytes: ArrayBuffer, length: number, spans: number): void {
    this.batches.push({ body: JSON.parse(Buffer.from(bytes, 0, length).toString('utf8')), spans, bytes, length });
  }
  flush(): Promise<number> {
    return Promise.resolve(0);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function spans(n: number, name = 's'): string {
  const f = new SpanFields();
  f.traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  f.spanId = '00f067aa0ba902b7';
  f.name = name;
  f.startMs = 1;
  f.endMs = 2;
  return Array.from({ length: n }, () => encodeSpan(f)).join(',');
}
const names = (b: Collecting['batches'][number]): string[] => b.body.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.name);
const { head, tail } = envelope({ 'service.name': 't' }, 'gatehouse');

describe('span batcher', () => {
  it('sends a valid OTLP body once batchSize spans are waiting, in its own transferable buffer', () => {
    const t = new Collecting();
    const b = new SpanBatcher(t, head, tail, 10, 60_000);
    b.add(spans(5), 5);
    expect(t.batches).toHaveLength(0);
    b.add(spans(5, 'x'), 5);
    expect(t.batches).toHaveLength(1);
    expect(t.batches[0]!.spans).toBe(10);
    expect(names(t.batches[0]!)).toEqual([...Array(5).fill('s'), ...Array(5).fill('x')]);
    b.add(spans(1, 'next'), 1);
    b.flush();
    expect(names(t.batches[1]!)).toEqual(['next']);
    // Each batch has an ArrayBuffer of its own (not Node's shared pool), so it can be transferred.
    expect(t.batches[0]!.bytes).not.toBe(t.batches[1]!.bytes);
  });

  it('reuses the buffer of an exported batch for a later one', () => {
    const t = new Collecting();
    const b = new SpanBatcher(t, head, tail, 2, 60_000);
    b.add(spans(2, 'a'), 2); // sent in buffer A; B is now current
    t.take!(t.batches[0]!.bytes);
    b.add(spans(2, 'b'), 2); // sent in B; the next current buffer is A again
    b.add(spans(2, 'c'), 2);
    expect(t.batches).toHaveLength(3);
    expect(t.batches[2]!.bytes).toBe(t.batches[0]!.bytes);
    expect(t.batches[1]!.bytes).not.toBe(t.batches[0]!.bytes);
    expect(names(t.batches[2]!)).toEqual(['c', 'c']);
    // A buffer smaller than what batches now need is not kept.
    t.take!(new ArrayBuffer(16));
    b.add(spans(2, 'd'), 2);
    expect(t.batches[3]!.bytes.byteLength).toBeGreaterThan(16);
    expect(names(t.batches[3]!)).toEqual(['d', 'd']);
  });

  it('sends a partial batch after the delay', async () => {
    const t = new Collecting();
    const b = new SpanBatcher(t, head, tail, 512, 30);
    b.add(spans(2), 2);
    expect(t.batches).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 80));
    expect(t.batches.map((x) => x.spans)).toEqual([2]);
    b.flush(); // nothing waiting: nothing sent
    expect(t.batches).toHaveLength(1);
  });

  it('flushes early when the buffer is full, grows it, and takes a single request larger than any buffer', () => {
    const t = new Collecting();
    const b = new SpanBatcher(t, head, tail, 1_000_000, 60_000);
    const big = spans(1, 'p'.repeat(40_000));
    for (let i = 0; i < 5; i++) b.add(big, 1);
    const huge = spans(1, `é${'h'.repeat(600_000)}`);
    b.add(huge, 1);
    b.flush();
    const all = t.batches.flatMap(names);
    expect(all).toHaveLength(6);
    expect(all[5]).toBe(`é${'h'.repeat(600_000)}`);
    expect(t.batches.length).toBeGreaterThan(1);
    expect(t.batches.reduce((n, x) => n + x.spans, 0)).toBe(6);
  });
});

describe('exporter settings from the environment', () => {
  it('reads OTEL_EXPORTER_OTLP_* headers (traces-specific first), timeout and compression', () => {
    expect(parseOtlpHeaders('api-key=abc%20def, x-tenant = t1,broken,=v,bad=%E0%A4%A')).toEqual({ 'api-key': 'abc def', 'x-tenant': 't1' });
    const o = senderOptionsFromEnv('http://c:4318/v1/traces', 2048, {
      OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=2',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=3',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    expect(o).toEqual({ url: 'http://c:4318/v1/traces', headers: { a: '1', b: '3' }, timeoutMs: 2500, gzip: true, maxQueuedSpans: 2048 });
    expect(senderOptionsFromEnv('http://c/v1/traces', 1, { OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' })).toMatchObject({ timeoutMs: 10_000, gzip: false, headers: {} });
  });
});

describe('export loss reporting', () => {
  it('warns at most once a minute per kind, with the spans lost since the last warning', () => {
    const logger = new MemoryLogger();
    const r = new ExportReporter(logger, 'http://c/v1/traces');
    r.failed(5, 'HTTP 503');
    r.failed(7, 'HTTP 503');
    r.dropped(3);
    r.dropped(4);
    expect(r.counters).toEqual({ sent: 0, dropped: 7, failed: 12 });
    const warns = logger.lines.filter((l) => l.level === 'warn');
    expect(warns.map((l) => l.msg)).toEqual(['trace export failed', 'trace export queue full, spans dropped']);
    expect(warns[0]!.obj).toMatchObject({ dropped_spans: 5, reason: 'HTTP 503' });
    expect(warns[1]!.obj).toMatchObject({ dropped_spans: 3 });
  });
});

describe('worker transport (the real exporter thread)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('exports transferred batches from its thread and reports failures back', async () => {
    const receiver = await OtlpReceiver.start();
    cleanups.push(() => receiver.close());
    const logger = new MemoryLogger();
    const reporter = new ExportReporter(logger, receiver.url);
    const t = new WorkerSpanTransport({ url: receiver.url, headers: { 'x-k': 'v' }, timeoutMs: 2_000, gzip: false, maxQueuedSpans: 100, maxAttempts: 1 }, reporter, logger);
    cleanups.push(() => t.close());
    const b = new SpanBatcher(t, head, tail, 3, 60_000);
    // What the worker gives back, seen on the way to the batcher.
    const returned: ArrayBuffer[] = [];
    const take = (t as unknown as { take: (bytes: ArrayBuffer) => void }).take;
    t.onReleased((bytes) => {
      returned.push(bytes);
      take(bytes);
    });
    const sentSizes: number[] = [];
    const send = t.send.bind(t);
    t.send = (bytes, length, n) => {
      sentSizes.push(bytes.byteLength);
      send(bytes, length, n);
    };
    b.add(spans(3, 'one'), 3);
    b.add(spans(2, 'two'), 2);
    b.flush();
    expect(await t.flush()).toBe(0);
    expect(receiver.spans.map((s) => s.name).sort()).toEqual(['one', 'one', 'one', 'two', 'two']);
    expect(receiver.requests.every((q) => q.headers['x-k'] === 'v')).toBe(true);
    expect(reporter.counters.sent).toBe(5);

    const exportedSizes = sentSizes.splice(0);
    expect(exportedSizes).toHaveLength(2);
    receiver.failWith = 400;
    b.add(spans(4), 4);
    b.flush();
    expect(await t.flush()).toBe(4);
    expect(reporter.counters.failed).toBe(4);
    expect(logger.lines.some((l) => l.msg === 'trace export failed')).toBe(true);

    // The exported batch's memory came back (transferred, before the flush answer); the refused one's did not.
    expect(returned.map((x) => x.byteLength)).toEqual(exportedSizes);

    // After close, sends are counted as dropped, and never throw.
    await t.close();
    t.send(new ArrayBuffer(8), 8, 2);
    expect(reporter.counters.dropped).toBe(2);
    expect(await t.flush()).toBe(0);
  });
});
