/**
 * The proxy thread's side of span export: a batcher that joins encoded spans into OTLP request bodies,
 * and the transport that hands each body to the exporter worker (span-exporter-worker.ts). The proxy
 * thread's share is string joins and one postMessage per batch; HTTP, gzip, retries and the bounded
 * queue live in the worker.
 */
import { Worker } from 'node:worker_threads';
import type { PluginLogger } from '../plugins/types.js';
import { EXPORTER_WORKER_KEY, type FromExporter, type SenderOptions, type ToExporter } from './span-exporter-worker.js';

/** Where finished batches go. `send` never waits or throws. */
export interface SpanTransport {
  /** One OTLP JSON request body: the first `length` bytes of `bytes`, which the transport now owns. */
  send(bytes: ArrayBuffer, length: number, spans: number): void;
  /** Resolves once everything sent before is exported or given up, with the number of spans lost. */
  flush(): Promise<number>;
  close(): Promise<void>;
  /** Registers who takes back the memory of exported batches (the batcher reuses it); optional. */
  onReleased?(take: (bytes: ArrayBuffer) => void): void;
}

export interface ExportCounters {
  /** Spans handed to the transport. */
  sent: number;
  /** Refused by the full export queue (or with no exporter left). */
  dropped: number;
  /** Given up after the collector refused them or could not be reached. */
  failed: number;
}

const LOG_INTERVAL_MS = 60_000;

/** Turns the exporter's loss reports into warnings, at most one of each kind a minute, with the counts between. */
export class ExportReporter {
  readonly counters: ExportCounters = { sent: 0, dropped: 0, failed: 0 };
  private failedSince = 0;
  private droppedSince = 0;
  private lastFailedLog = -Infinity;
  private lastDroppedLog = -Infinity;
  constructor(
    private readonly logger: PluginLogger,
    private readonly endpoint: string,
  ) {}
  failed(spans: number, reason: string): void {
    this.counters.failed += spans;
    this.failedSince += spans;
    const now = Date.now();
    if (now - this.lastFailedLog < LOG_INTERVAL_MS) return;
    this.lastFailedLog = now;
    this.logger.warn({ endpoint: this.endpoint, reason, dropped_spans: this.failedSince }, 'trace export failed');
    this.failedSince = 0;
  }
  dropped(spans: number): void {
    this.counters.dropped += spans;
    this.droppedSince += spans;
    const now = Date.now();
    if (now - this.lastDroppedLog < LOG_INTERVAL_MS) return;
    this.lastDroppedLog = now;
    this.logger.warn({ endpoint: this.endpoint, dropped_spans: this.droppedSince }, 'trace export queue full, spans dropped');
    this.droppedSince = 0;
  }
}

/** Runs the OTLP/HTTP sender in its own worker thread. */
export class WorkerSpanTransport implements SpanTransport {
  private readonly worker: Worker;
  private readonly flushes = new Map<number, (failed: number) => void>();
  private nextId = 1;
  private alive = true;
  private take: ((bytes: ArrayBuffer) => void) | undefined = undefined;

  constructor(
    opts: SenderOptions,
    private readonly reporter: ExportReporter,
    logger: PluginLogger,
  ) {
    // Under the unit tests this module is the .ts source; Node strips the worker's types itself.
    const file = import.meta.url.endsWith('.ts') ? './span-exporter-worker.ts' : './span-exporter-worker.js';
    this.worker = new Worker(new URL(file, import.meta.url), { name: 'gh-span-export', workerData: { [EXPORTER_WORKER_KEY]: opts } });
    // The exporter must not keep the proxy thread alive; shutdown flushes it explicitly.
    this.worker.unref();
    this.worker.on('message', (m: FromExporter) => {
      if (m.type === 'failed') reporter.failed(m.spans, m.reason);
      else if (m.type === 'dropped') reporter.dropped(m.spans);
      else if (m.type === 'buffer') this.take?.(m.bytes);
      else if (m.type === 'flushed') {
        const done = this.flushes.get(m.id);
        this.flushes.delete(m.id);
        if (this.flushes.size === 0) this.worker.unref();
        done?.(m.failed);
      }
    });
    this.worker.on('error', (err) => logger.error({ err }, 'trace exporter thread failed'));
    this.worker.on('exit', () => {
      this.alive = false;
      // Nothing will answer these any more; what they waited for is lost.
      for (const done of this.flushes.values()) done(0);
      this.flushes.clear();
    });
  }

  send(bytes: ArrayBuffer, length: number, spans: number): void {
    if (!this.alive) {
      this.reporter.dropped(spans);
      return;
    }
    this.reporter.counters.sent += spans;
    // Transferred, not copied: the proxy thread never builds or clones a large string.
    this.worker.postMessage({ type: 'batch', bytes, length, spans } satisfies ToExporter, [bytes]);
  }

  flush(): Promise<number> {
    if (!this.alive) return Promise.resolve(0);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.flushes.set(id, resolve);
      // A thread with nothing else to do must still wait for the answer (shutdown).
      this.worker.ref();
      this.worker.postMessage({ type: 'flush', id } satisfies ToExporter);
    });
  }

  async close(): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    await this.worker.terminate();
  }

  onReleased(take: (bytes: ArrayBuffer) => void): void {
    this.take = take;
  }
}

const MIN_BATCH_BYTES = 64 * 1024;
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Exported batches' buffers kept for reuse; a few cover the batches in flight. */
const SPARE_MAX = 4;

/**
 * Collects encoded spans into one OTLP request body and sends it when `batchSize` spans are waiting or
 * `delayMs` after the first of them, whichever comes first.
 *
 * Each request's spans are written as UTF-8 straight into the batch's own ArrayBuffer, which is then
 * transferred to the exporter thread: measured on Node 24, joining a batch into one large string and
 * posting it (a clone of a few hundred KB, then a new large string on the other side) cost 5–8× more
 * CPU per span than encoding the spans did.
 */
export class SpanBatcher {
  private buf: Buffer;
  private used = 0;
  private spans = 0;
  private capacity: number;
  private readonly headBytes: Buffer;
  private readonly tailBytes: Buffer;
  private timer: NodeJS.Timeout | undefined;
  /** Buffers of exported batches, back from the transport. */
  private readonly spare: ArrayBuffer[] = [];
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.flush();
  };

  constructor(
    private readonly transport: SpanTransport,
    head: string,
    tail: string,
    private readonly batchSize: number,
    private readonly delayMs: number,
  ) {
    this.headBytes = Buffer.from(head, 'utf8');
    this.tailBytes = Buffer.from(tail, 'utf8');
    this.capacity = MIN_BATCH_BYTES;
    this.buf = this.fresh(this.capacity);
    transport.onReleased?.((bytes) => this.reuse(bytes));
  }

  /** Keeps an exported batch's buffer for a later batch, unless batches have outgrown it. */
  private reuse(bytes: ArrayBuffer): void {
    if (bytes.byteLength >= this.capacity && this.spare.length < SPARE_MAX) this.spare.push(bytes);
  }

  /** `json` holds `spans` encoded spans, comma-separated. */
  add(json: string, spans: number): void {
    // A UTF-16 code unit takes at most 3 UTF-8 bytes; the comma and the tail must still fit after it.
    const worst = json.length * 3 + 1 + this.tailBytes.length;
    if (this.used + worst > this.buf.length) {
      if (this.spans > 0) {
        // Size the next buffers for batches like this one, within bounds.
        this.capacity = Math.min(MAX_BATCH_BYTES, this.capacity * 2);
        this.flush();
      }
      if (this.used + worst > this.buf.length) this.buf = this.fresh(Math.max(this.capacity, this.used + worst));
    }
    if (this.spans > 0) this.buf[this.used++] = 44; // ','
    this.used += this.buf.write(json, this.used, 'utf8');
    this.spans += spans;
    if (this.spans >= this.batchSize) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(this.onTimer, this.delayMs);
      this.timer.unref();
    }
  }

  /** Sends what is waiting now. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.spans === 0) return;
    const buf = this.buf;
    const length = this.used + this.tailBytes.copy(buf, this.used);
    const spans = this.spans;
    this.buf = this.fresh(this.capacity);
    this.spans = 0;
    this.transport.send(buf.buffer as ArrayBuffer, length, spans);
  }

  /** A buffer with its own ArrayBuffer (transferable, unlike the pooled ones), the envelope's head written. */
  private fresh(size: number): Buffer {
    let b: Buffer | undefined;
    while (b === undefined && this.spare.length > 0) {
      const spare = this.spare.pop()!;
      if (spare.byteLength >= size) b = Buffer.from(spare);
    }
    b ??= Buffer.allocUnsafeSlow(size);
    this.used = this.headBytes.copy(b, 0);
    return b;
  }
}

/**
 * `key1=value1,key2=value2` (OTEL_EXPORTER_OTLP_HEADERS: W3C baggage syntax, values percent-encoded).
 * Malformed entries are skipped, as the OpenTelemetry SDKs do.
 */
export function parseOtlpHeaders(v: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined) return out;
  for (const part of v.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      continue;
    }
    if (key !== '') out[key] = value;
  }
  return out;
}

/**
 * The exporter settings the OpenTelemetry SDK's OTLP exporter read from the environment (headers, timeout,
 * compression), traces-specific variables over the generic ones.
 */
export function senderOptionsFromEnv(url: string, maxQueuedSpans: number, env: NodeJS.ProcessEnv = process.env): SenderOptions {
  const timeout = Number((env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT ?? '').trim() || 10_000);
  const compression = (env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? env.OTEL_EXPORTER_OTLP_COMPRESSION ?? 'none').trim().toLowerCase();
  return {
    url,
    headers: { ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 10_000,
    gzip: compression === 'gzip',
    maxQueuedSpans,
  };
}
