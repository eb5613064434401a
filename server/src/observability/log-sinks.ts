/**
 * Where access-log lines go: stdout, a file rotated by size, an HTTP collector (NDJSON batches).
 * `write` never blocks and never throws: stdout and the file go through a BatchWriter (lines encoded
 * into preallocated buffers, written asynchronously a buffer at a time), the collector through a bounded
 * queue that drops its oldest lines when the collector is slow or down. Every sink counts what it had
 * to drop.
 */
import { fstatSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { Agent, request } from 'undici';
import type { PluginLogger } from '../plugins/types.js';
import { BatchWriter } from './batch-writer.js';

export interface SinkStats {
  /** Lines handed to the sink. */
  lines: number;
  /** Lines lost: over the memory bound, a failed write, or not accepted by the collector after the retry. */
  dropped: number;
  /** File: rotations done; HTTP: batches delivered. */
  [extra: string]: number;
}

export interface LineSink {
  readonly name: string;
  /** One complete line, newline included. */
  write(line: string): void;
  stats(): SinkStats;
  /** Writes or sends what is buffered, then releases the sink. */
  close(): Promise<void>;
}

/** Memory a file or stdout sink may hold while the disk (or the reader of stdout) lags; beyond it lines are dropped. */
const MAX_BUFFERED = 32 * 1024 * 1024;
/** Writes to a pipe up to this size are atomic (PIPE_BUF), so access lines never interleave mid-line with the app logger's. */
const PIPE_BUF = 4096;

/** The file sink (and stdout on a file or terminal) writes lines in batches of up to this many bytes… */
const FILE_BATCH = 256 * 1024;
/** …and at least this often. */
const FILE_FLUSH_MS = 250;
/** Grace for writing what is queued when the sink closes. */
const CLOSE_GRACE_MS = 5000;

/** Rate-limits a sink's warnings: a dead collector or a full disk must not flood the app log. */
const WARN_EVERY_MS = 60_000;

/** Lines on the process's stdout (fd 1, shared with the app logger; lines carry `"type":"access"`). */
export class StdoutSink implements LineSink {
  readonly name = 'stdout';
  private readonly writer: BatchWriter;
  private lines = 0;
  private lastWarn = 0;

  constructor(
    private readonly logger: PluginLogger,
    fd = 1,
  ) {
    // On a pipe or socket, other writers (the app logger) share the reader: a write of at most PIPE_BUF
    // bytes is atomic, so batches stay that small there. A file or a terminal takes big batches.
    let bufferSize = FILE_BATCH;
    try {
      const st = fstatSync(fd);
      if (st.isFIFO() || st.isSocket()) bufferSize = PIPE_BUF;
    } catch {
      bufferSize = PIPE_BUF;
    }
    this.writer = new BatchWriter(fd, { bufferSize, maxBuffered: MAX_BUFFERED, flushMs: FILE_FLUSH_MS, closeFd: fd > 2, onError: (err) => this.warn(err) });
  }

  write(line: string): void {
    this.lines++;
    this.writer.write(line);
  }

  private warn(err: Error): void {
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    this.logger.error({ err, dropped: this.writer.stats().dropped }, 'access log: stdout write failed');
  }

  stats(): SinkStats {
    const w = this.writer.stats();
    return { lines: this.lines, dropped: w.dropped, write_errors: w.errors };
  }

  close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    return this.writer.end(graceMs);
  }
}

export interface FileSinkOptions {
  file: string;
  /** Bytes written to the file before it is rotated. */
  maxSize: number;
  /** Rotated files kept (`file.1` newest … `file.N` oldest). */
  maxFiles: number;
  logger: PluginLogger;
}

/** Wait between attempts to open a file that could not be opened. */
const REOPEN_MS = 1000;

/**
 * A file rotated by size: past `maxSize` bytes, `file.N-1` → `file.N` … `file` → `file.1`, and `file`
 * is opened anew. One writer, one queue: what was queued before the rotation is written to the old
 * descriptor (now `file.1`), which is closed after its last byte; later lines go to the new file. So
 * no line is lost, reordered or split across files. The size is counted from the bytes accepted.
 *
 * Opening and renaming are synchronous: they happen at start and once per `maxSize` bytes, and doing
 * them in line keeps the order of files simple (no rotation can race an open in flight).
 */
export class FileSink implements LineSink {
  readonly name = 'file';
  private readonly writer: BatchWriter;
  /** -1 while the file could not be opened (lines are dropped, an open is retried). */
  private fd: number;
  private openedAt = 0;
  private size = 0;
  private lines = 0;
  private dropped = 0;
  private rotations = 0;
  private lastWarn = 0;
  /**
   * Only a regular file is rotated. Rotating renames the path, so pointed at `/dev/null`, `/dev/stdout` or
   * a named pipe it would move the device node aside and leave a plain file in its place (running as
   * root, that file is not writable by other users); those destinations are written and never rotated.
   */
  private rotatable = false;

  constructor(private readonly opts: FileSinkOptions) {
    try {
      this.size = statSync(opts.file).size;
    } catch {
      this.size = 0;
    }
    this.fd = this.open();
    this.writer = new BatchWriter(this.fd, { bufferSize: FILE_BATCH, maxBuffered: MAX_BUFFERED, flushMs: FILE_FLUSH_MS, closeFd: true, onError: (err) => this.warn(err, 'access log: file write failed') });
  }

  private open(): number {
    this.openedAt = Date.now();
    try {
      mkdirSync(path.dirname(this.opts.file), { recursive: true });
      const fd = openSync(this.opts.file, 'a');
      this.rotatable = fstatSync(fd).isFile();
      return fd;
    } catch (err) {
      this.warn(err as Error, 'access log: cannot open the file');
      return -1;
    }
  }

  /** Writes out what the batch holds (also done by the writer's timer). */
  flush(): void {
    this.writer.flush();
  }

  write(line: string): void {
    this.lines++;
    if (this.fd < 0 && !this.reopen()) {
      this.dropped++;
      return;
    }
    this.size += this.writer.write(line);
    if (this.size >= this.opts.maxSize && this.rotatable) this.rotate();
  }

  private reopen(): boolean {
    if (Date.now() - this.openedAt < REOPEN_MS) return false;
    const fd = this.open();
    if (fd < 0) return false;
    this.fd = fd;
    this.writer.switchFd(fd);
    try {
      this.size = statSync(this.opts.file).size;
    } catch {
      this.size = 0;
    }
    return true;
  }

  private rotate(): void {
    const f = this.opts.file;
    try {
      // Rare (every maxSize bytes) and a handful of renames: synchronous keeps the order of files simple.
      for (let i = this.opts.maxFiles - 1; i >= 1; i--) {
        try {
          renameSync(`${f}.${i}`, `${f}.${i + 1}`);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      renameSync(f, `${f}.1`);
    } catch (err) {
      // Keep writing to the current file; a later line tries again.
      this.warn(err as Error, 'access log: rotation failed');
      this.size = 0;
      return;
    }
    this.size = 0;
    this.rotations++;
    const fd = this.open();
    // Without a new file, the lines keep going to the old descriptor (now `file.1`); the next rotation tries again.
    if (fd < 0) return;
    this.fd = fd;
    this.writer.switchFd(fd);
  }

  private warn(err: Error, msg: string): void {
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    this.opts.logger.error({ err, file: this.opts.file }, msg);
  }

  stats(): SinkStats {
    const w = this.writer.stats();
    return { lines: this.lines, dropped: this.dropped + w.dropped, rotations: this.rotations, write_errors: w.errors };
  }

  close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    return this.writer.end(graceMs);
  }
}

export interface HttpSinkOptions {
  url: string;
  authorization?: string | undefined;
  logger: PluginLogger;
  /** A batch is sent once it has this many lines… */
  maxLines?: number;
  /** …or this many bytes (counted in UTF-16 units, equal to bytes for ASCII lines)… */
  maxBytes?: number;
  /** …or once its first line is this old. */
  maxDelayMs?: number;
  /** Lines held while the collector is slow or down; past it the oldest are dropped. */
  queueLines?: number;
  queueBytes?: number;
  /** Wait before the one retry of a failed batch. */
  retryDelayMs?: number;
  /** Time allowed for the collector to answer a batch. */
  timeoutMs?: number;
}

/**
 * POSTs NDJSON batches to a collector, one batch in flight at a time. Lines wait in a ring buffer; a
 * batch that fails (connection error, timeout, non-2xx) is retried once after `retryDelayMs`, then
 * dropped and counted. Memory stays bounded whatever the collector does.
 */
export class HttpBatchSink implements LineSink {
  readonly name = 'http';
  private readonly ring: (string | undefined)[];
  private head = 0;
  private count = 0;
  private bytes = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  private closed = false;
  private idle: (() => void) | undefined = undefined;
  private lastWarn = 0;
  private readonly agent: Agent;
  private readonly headers: Record<string, string>;
  private readonly maxLines: number;
  private readonly maxBytes: number;
  private readonly maxDelayMs: number;
  private readonly queueBytes: number;
  private readonly retryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (!this.inFlight && this.count > 0) this.send();
  };
  // Counters.
  private lines = 0;
  private dropped = 0;
  private batches = 0;
  private sentLines = 0;
  private failedBatches = 0;
  private retries = 0;

  constructor(private readonly opts: HttpSinkOptions) {
    this.maxLines = opts.maxLines ?? 1000;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
    this.maxDelayMs = opts.maxDelayMs ?? 1000;
    this.queueBytes = opts.queueBytes ?? 16 * 1024 * 1024;
    this.retryDelayMs = opts.retryDelayMs ?? 500;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.ring = new Array<string | undefined>(opts.queueLines ?? 10_000).fill(undefined);
    this.agent = new Agent({ connections: 2, keepAliveTimeout: 10_000 });
    this.headers = { 'content-type': 'application/x-ndjson' };
    if (opts.authorization !== undefined) this.headers.authorization = opts.authorization;
  }

  write(line: string): void {
    if (this.closed) return;
    this.lines++;
    const cap = this.ring.length;
    while (this.count > 0 && (this.count === cap || this.bytes + line.length > this.queueBytes)) this.dropOldest();
    this.ring[(this.head + this.count) % cap] = line;
    this.count++;
    this.bytes += line.length;
    if (this.inFlight) return;
    if (this.count >= this.maxLines || this.bytes >= this.maxBytes) this.send();
    else if (this.timer === undefined) this.timer = setTimeout(this.onTimer, this.maxDelayMs);
  }

  private dropOldest(): void {
    const line = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    this.bytes -= line.length;
    this.dropped++;
    this.warn('access log: collector queue full; dropping the oldest lines');
  }

  private send(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const cap = this.ring.length;
    let body = '';
    let n = 0;
    while (n < this.count && n < this.maxLines && (n === 0 || body.length + this.ring[(this.head + n) % cap]!.length <= this.maxBytes)) {
      const i = (this.head + n) % cap;
      body += this.ring[i]!;
      this.ring[i] = undefined;
      n++;
    }
    this.head = (this.head + n) % cap;
    this.count -= n;
    this.bytes -= body.length;
    this.inFlight = true;
    this.post(body, n, false);
  }

  private post(body: string, n: number, retry: boolean): void {
    request(this.opts.url, { method: 'POST', body, headers: this.headers, dispatcher: this.agent, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs }).then(
      async (res) => {
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) this.delivered(n);
        else this.failed(body, n, retry, `collector answered ${res.statusCode}`);
      },
      (err: unknown) => this.failed(body, n, retry, (err as Error).message),
    );
  }

  private delivered(n: number): void {
    this.batches++;
    this.sentLines += n;
    this.next();
  }

  private failed(body: string, n: number, retried: boolean, reason: string): void {
    if (!retried) {
      this.retries++;
      setTimeout(() => this.post(body, n, true), this.closed ? 0 : this.retryDelayMs).unref();
      return;
    }
    this.failedBatches++;
    this.dropped += n;
    this.warn(`access log: collector batch dropped after a retry (${reason})`);
    this.next();
  }

  private next(): void {
    this.inFlight = false;
    if (this.count > 0 && (this.closed || this.count >= this.maxLines || this.bytes >= this.maxBytes)) this.send();
    else if (this.count > 0 && this.timer === undefined) this.timer = setTimeout(this.onTimer, this.maxDelayMs);
    else if (this.count === 0 && this.idle !== undefined) this.idle();
  }

  private warn(msg: string): void {
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    this.opts.logger.warn({ url: this.opts.url, dropped: this.dropped }, msg);
  }

  stats(): SinkStats {
    return { lines: this.lines, dropped: this.dropped, batches: this.batches, sent_lines: this.sentLines, failed_batches: this.failedBatches, retries: this.retries, queued: this.count };
  }

  /** Sends what is queued (waiting at most `graceMs`), then closes the connections. */
  async close(graceMs = 5000): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.count > 0 || this.inFlight) {
      const drained = new Promise<void>((resolve) => (this.idle = resolve));
      if (!this.inFlight) this.send();
      let t: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (t = setTimeout(resolve, graceMs)))]);
      clearTimeout(t);
    }
    // A collector still holding the last batch after the grace period loses it: stopping must not hang.
    await (this.inFlight ? this.agent.destroy() : this.agent.close()).catch(() => {});
  }
}
