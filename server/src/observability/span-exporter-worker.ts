/**
 * The OTLP/HTTP sender of the gateway's spans, and the small worker thread it runs in.
 *
 * The proxy thread encodes recorded spans into finished OTLP JSON request bodies (otlp-encoder.ts) and
 * transfers each batch's bytes here; this thread does the rest — gzip when asked, the HTTP POST with its timeout,
 * retries, reading the answer — so none of the export's I/O or buffering runs between the proxy's
 * requests. The queue is bounded in spans: a batch that would pass the bound is dropped and counted, and
 * `enqueue` never waits, so a slow or absent collector costs memory up to the bound and nothing else.
 *
 * This file imports only node: modules, so it loads as a worker both from the build (.js) and, with Node's
 * type stripping, from the sources under the unit tests (.ts); it uses erasable TypeScript syntax only.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { gzip } from 'node:zlib';

export interface SenderOptions {
  /** Full URL of the OTLP/HTTP traces endpoint (…/v1/traces). */
  url: string;
  /** Extra request headers (OTEL_EXPORTER_OTLP_HEADERS / _TRACES_HEADERS, e.g. an API key). */
  headers: Record<string, string>;
  /** Per attempt (OTEL_EXPORTER_OTLP_TIMEOUT). */
  timeoutMs: number;
  gzip: boolean;
  /** Spans waiting or in flight at most; a batch past it is dropped. */
  maxQueuedSpans: number;
  /** Exports at once (default 2). */
  maxConcurrent?: number;
  /** Attempts per batch for retryable failures: 429/502/503/504 and network errors (default 3). */
  maxAttempts?: number;
  /** First retry delay; doubled each time, ±20% jitter (default 500 ms). */
  retryBaseMs?: number;
}

export interface SenderEvents {
  /** A batch was given up (not retryable, or out of attempts): its spans are lost. */
  failed(spans: number, reason: string): void;
  /** A batch was refused because the queue was full. */
  dropped(spans: number): void;
  /** A batch was exported and its body written out in full: its memory may be reused. */
  released?(body: Buffer): void;
}

/** Messages between the proxy thread (span-export.ts) and this worker. */
export type ToExporter = { type: 'batch'; bytes: ArrayBuffer; length: number; spans: number } | { type: 'flush'; id: number };
export type FromExporter =
  | { type: 'failed'; spans: number; reason: string }
  | { type: 'dropped'; spans: number }
  | { type: 'flushed'; id: number; failed: number }
  /** A batch's memory, transferred back once exported, for the next batch. */
  | { type: 'buffer'; bytes: ArrayBuffer };

interface Batch {
  /** The JSON body as given. */
  body: Buffer;
  /** What is sent: the body, or the gzipped body. */
  payload: Buffer | undefined;
  spans: number;
  attempt: number;
  /** The last attempt's body reached the socket in full ('finish'): nothing refers to it any more. */
  written: boolean;
}

const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);
const MAX_RETRY_AFTER_MS = 30_000;
const MAX_RESPONSE_BYTES = 64 * 1024;

export class OtlpHttpSender {
  /** Spans exported (accepted by the collector, minus what it reported as rejected). */
  exported = 0;
  dropped = 0;
  failed = 0;
  private readonly queue: Batch[] = [];
  /** Spans waiting, in flight or waiting for a retry: what the bound counts. */
  private queuedSpans = 0;
  private active = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly target: URL;
  private readonly request: typeof httpRequest;
  private readonly agent: HttpAgent;
  private readonly maxConcurrent: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly opts: SenderOptions;
  private readonly events: SenderEvents;

  constructor(opts: SenderOptions, events: SenderEvents) {
    this.opts = opts;
    this.events = events;
    this.target = new URL(opts.url);
    this.maxConcurrent = opts.maxConcurrent ?? 2;
    this.maxAttempts = opts.maxAttempts ?? 3;
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    const https = this.target.protocol === 'https:';
    this.request = https ? httpsRequest : httpRequest;
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: this.maxConcurrent }) : new HttpAgent({ keepAlive: true, maxSockets: this.maxConcurrent });
  }

  /** Spans waiting or being exported. */
  get pending(): number {
    return this.queuedSpans;
  }

  /** Queues a finished request body of `spans` spans; false (and counted as dropped) when the queue is full. */
  enqueue(body: Buffer, spans: number): boolean {
    if (this.closed || this.queuedSpans + spans > this.opts.maxQueuedSpans) {
      this.dropped += spans;
      this.events.dropped(spans);
      return false;
    }
    this.queuedSpans += spans;
    this.queue.push({ body, payload: undefined, spans, attempt: 0, written: false });
    this.pump();
    return true;
  }

  /** Resolves when nothing is queued or in flight, with the spans that failed meanwhile. */
  flush(): Promise<number> {
    const failedBefore = this.failed;
    if (this.queuedSpans === 0) return Promise.resolve(0);
    return new Promise((resolve) => this.idleWaiters.push(() => resolve(this.failed - failedBefore)));
  }

  /** Stops: pending retries are given up, sockets closed. */
  close(): void {
    this.closed = true;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.agent.destroy();
  }

  private pump(): void {
    while (this.active < this.maxConcurrent && this.queue.length > 0) {
      const b = this.queue.shift()!;
      this.active++;
      this.prepare(b);
    }
  }

  private prepare(b: Batch): void {
    if (b.payload !== undefined) {
      this.post(b);
      return;
    }
    if (!this.opts.gzip) {
      b.payload = b.body;
      this.post(b);
      return;
    }
    // zlib's async gzip runs on libuv's thread pool, not on this thread's loop.
    gzip(b.body, (err, out) => {
      if (err) {
        this.settle(b, false, `gzip: ${err.message}`);
        return;
      }
      b.payload = out;
      this.post(b);
    });
  }

  private post(b: Batch): void {
    b.attempt++;
    b.written = false;
    const headers: Record<string, string | number> = { ...this.opts.headers, 'content-type': 'application/json', 'content-length': b.payload!.length };
    if (this.opts.gzip) headers['content-encoding'] = 'gzip';
    const options: RequestOptions = { method: 'POST', agent: this.agent, headers, timeout: this.opts.timeoutMs };
    let finished = false;
    const finish = (ok: boolean, reason: string, retryable: boolean, retryAfterMs?: number): void => {
      if (finished) return;
      finished = true;
      if (!ok && retryable && !this.closed && b.attempt < this.maxAttempts) this.retry(b, retryAfterMs);
      else this.settle(b, ok, reason);
    };
    let req: ClientRequest;
    try {
      req = this.request(this.target, options, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(c);
        });
        res.on('error', (err) => finish(false, err.message, true));
        res.on('end', () => {
          if (status >= 200 && status < 300) {
            this.exported -= rejectedSpans(chunks);
            finish(true, '', false);
          } else finish(false, `HTTP ${status}`, RETRYABLE_STATUS.has(status), retryAfter(res.headers['retry-after']));
        });
      });
    } catch (err) {
      finish(false, (err as Error).message, false);
      return;
    }
    req.on('finish', () => (b.written = true));
    req.on('timeout', () => req.destroy(new Error(`timed out after ${this.opts.timeoutMs} ms`)));
    req.on('error', (err) => finish(false, err.message, true));
    req.end(b.payload);
  }

  private retry(b: Batch, retryAfterMs: number | undefined): void {
    const backoff = this.retryBaseMs * 2 ** (b.attempt - 1) * (0.8 + Math.random() * 0.4);
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      this.post(b);
    }, retryAfterMs ?? backoff);
    this.retryTimers.add(t);
  }

  private settle(b: Batch, ok: boolean, reason: string): void {
    this.active--;
    this.queuedSpans -= b.spans;
    if (ok) {
      this.exported += b.spans;
      // A gzipped body was read in full before its POST; a plain one once the request finished writing.
      if (this.opts.gzip || b.written) this.events.released?.(b.body);
    } else {
      this.failed += b.spans;
      this.events.failed(b.spans, reason);
    }
    this.pump();
    if (this.queuedSpans === 0 && this.idleWaiters.length > 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}

/** OTLP partial success: `{"partialSuccess":{"rejectedSpans":"3",…}}`; 0 when absent or unreadable. */
function rejectedSpans(chunks: Buffer[]): number {
  if (chunks.length === 0) return 0;
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { partialSuccess?: { rejectedSpans?: string | number } };
    const n = Number(body?.partialSuccess?.rejectedSpans ?? 0);
    return Number.isFinite(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

/** `Retry-After` in seconds (the HTTP-date form is ignored: collectors send seconds), capped. */
function retryAfter(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = Number(v);
  return Number.isFinite(s) && s >= 0 ? Math.min(s * 1000, MAX_RETRY_AFTER_MS) : undefined;
}

/** Marks this module's worker among other workers' data. */
export const EXPORTER_WORKER_KEY = 'gatehouseSpanExporter';

function runWorker(opts: SenderOptions): void {
  const port = parentPort!;
  const sender = new OtlpHttpSender(opts, {
    failed: (spans, reason) => port.postMessage({ type: 'failed', spans, reason } satisfies FromExporter),
    dropped: (spans) => port.postMessage({ type: 'dropped', spans } satisfies FromExporter),
    // Back to the proxy thread for its next batch: a new buffer per batch cost page faults there and,
    // here, the major collections that external memory arriving at this rate triggers.
    released: (body) => {
      const bytes = body.buffer;
      if (body.byteOffset === 0 && bytes instanceof ArrayBuffer) port.postMessage({ type: 'buffer', bytes } satisfies FromExporter, [bytes]);
    },
  });
  port.on('message', (m: ToExporter) => {
    if (m.type === 'batch') sender.enqueue(Buffer.from(m.bytes, 0, m.length), m.spans);
    else if (m.type === 'flush') void sender.flush().then((failed) => port.postMessage({ type: 'flushed', id: m.id, failed } satisfies FromExporter));
  });
}

const data = workerData as Record<string, unknown> | null | undefined;
if (!isMainThread && data !== null && typeof data === 'object' && data[EXPORTER_WORKER_KEY] !== undefined) runWorker(data[EXPORTER_WORKER_KEY] as SenderOptions);
