// The access log's sinks against real files, descriptors and a real local HTTP collector.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deadPort, MemoryLogger } from '../proxy/test-support/harness.js';
import { FileSink, HttpBatchSink, StdoutSink } from './log-sinks.js';
import { slowFifo } from './test-support/fifo.js';

const line = (i: number): string => `{"type":"access","i":${i},"pad":"${'x'.repeat(40 + (i % 17))}"}\n`;
const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'gh-sinks-'));

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lines of the current file and its rotated siblings, oldest first. */
function readRotated(file: string): { files: string[]; lines: string[] } {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const rotated = readdirSync(dir)
    .filter((f) => f.startsWith(`${base}.`))
    .map((f) => Number(f.slice(base.length + 1)))
    .sort((a, b) => b - a)
    .map((n) => `${file}.${n}`);
  const files = [...rotated, file];
  const lines = files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== ''));
  return { files, lines };
}

describe('FileSink', () => {
  it('rotates by size without losing, reordering or splitting a line', async () => {
    const file = path.join(tmp(), 'logs', 'access.log');
    const sink = new FileSink({ file, maxSize: 2_000, maxFiles: 1_000, logger: new MemoryLogger() });
    const total = 3_000;
    // Bursts with pauses: rotations happen both with writes in flight and with lines still buffered.
    for (let i = 0; i < total; i++) {
      sink.write(line(i));
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
      else if (i % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    await sink.close();
    const { files, lines } = readRotated(file);
    expect(files.length).toBeGreaterThan(20);
    expect(sink.stats().rotations).toBe(files.length - 1);
    expect(lines).toHaveLength(total);
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(Array.from({ length: total }, (_, i) => i));
    // Whole lines only in every file (the current one may be empty after a rotation).
    for (const f of files) expect(readFileSync(f, 'utf8')).toMatch(/^$|\n$/);
    expect(sink.stats()).toMatchObject({ lines: total, dropped: 0 });
  });

  it('never rotates what is not a regular file (a named pipe here; /dev/null or /dev/stdout alike)', async () => {
    const pipe = await slowFifo(tmp(), { chunk: 64 * 1024, pauseMs: 0 });
    const sink = new FileSink({ file: pipe.fifo, maxSize: 1_000, maxFiles: 3, logger: new MemoryLogger() });
    const total = 500; // ~40 KB, forty times maxSize
    for (let i = 0; i < total; i++) sink.write(line(i));
    await sink.close();
    closeSync(pipe.fd);
    await pipe.done;
    // Rotating would have renamed the pipe to `.1` and left a regular file in its place.
    expect(lstatSync(pipe.fifo).isFIFO()).toBe(true);
    expect(existsSync(`${pipe.fifo}.1`)).toBe(false);
    expect(sink.stats()).toMatchObject({ lines: total, dropped: 0, rotations: 0 });
    const got = readFileSync(pipe.out, 'utf8').split('\n').filter(Boolean);
    expect(got.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('keeps at most maxFiles rotated files, the newest', async () => {
    const file = path.join(tmp(), 'access.log');
    const sink = new FileSink({ file, maxSize: 1_024, maxFiles: 3, logger: new MemoryLogger() });
    let i = 0;
    for (let r = 1; r <= 6; r++) {
      for (const end = i + 20; i < end; i++) sink.write(line(i));
      await until(() => (sink.stats().rotations ?? 0) >= r);
    }
    const written = i;
    await sink.close();
    const names = readdirSync(path.dirname(file)).sort();
    expect(names).toEqual(['access.log', 'access.log.1', 'access.log.2', 'access.log.3']);
    const { lines } = readRotated(file);
    const ids = lines.map((l) => (JSON.parse(l) as { i: number }).i);
    // The newest lines survive, contiguous up to the last one.
    expect(ids.at(-1)).toBe(written - 1);
    expect(ids.length).toBeLessThan(written);
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, k) => written - ids.length + k));
  });

  it('counts an existing file towards the size and appends to it', async () => {
    const file = path.join(tmp(), 'access.log');
    writeFileSync(file, 'x'.repeat(1_500) + '\n');
    const sink = new FileSink({ file, maxSize: 1_600, maxFiles: 2, logger: new MemoryLogger() });
    sink.write(line(1));
    sink.write(line(2));
    await sink.close();
    expect(existsSync(`${file}.1`)).toBe(true);
    expect(readFileSync(`${file}.1`, 'utf8').startsWith('x'.repeat(1_500))).toBe(true);
  });
});

describe('StdoutSink', () => {
  it('writes lines to its descriptor', async () => {
    const file = path.join(tmp(), 'out');
    const fd = openSync(file, 'a');
    const sink = new StdoutSink(new MemoryLogger(), fd);
    for (let i = 0; i < 1_000; i++) sink.write(line(i));
    await sink.close();
    // The sink closed the descriptor it was given (fd 1 and 2 it never closes).
    expect(() => closeSync(fd)).toThrow(/EBADF/);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(1_000);
    expect((JSON.parse(lines[999]!) as { i: number }).i).toBe(999);
  });

  it('never interleaves its lines with another writer on a pipe whose reader lags', async () => {
    const dir = tmp();
    const pipe = await slowFifo(dir, { chunk: 2_000, pauseMs: 1 });
    const sink = new StdoutSink(new MemoryLogger(), pipe.fd);
    // The app logger's stand-in: another process writing its own lines to the same pipe meanwhile.
    const app = spawn(process.execPath, ['-e', APP_WRITER, pipe.fifo, '4000'], { stdio: 'inherit' });
    const appDone = new Promise<number | null>((r) => app.once('exit', r));
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      sink.write(line(i));
      if (i % 500 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await sink.close();
    expect(await appDone).toBe(0);
    await pipe.done;
    const access: number[] = [];
    const appLines: number[] = [];
    for (const l of readFileSync(pipe.out, 'utf8').split('\n').filter(Boolean)) {
      const o = JSON.parse(l) as { type?: string; i?: number; app?: number };
      if (o.type === 'access') access.push(o.i!);
      else appLines.push(o.app!);
    }
    expect(access).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(appLines).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    expect(sink.stats()).toMatchObject({ lines: n, dropped: 0, write_errors: 0 });
  }, 60_000);

  it('counts lines it could not write and logs the failure once', async () => {
    const file = path.join(tmp(), 'ro');
    writeFileSync(file, '');
    const logger = new MemoryLogger();
    const sink = new StdoutSink(logger, openSync(file, 'r'));
    for (let i = 0; i < 100; i++) sink.write(line(i));
    await sink.close();
    expect(sink.stats()).toMatchObject({ lines: 100, dropped: 100 });
    expect(sink.stats().write_errors).toBeGreaterThan(0);
    expect(logger.lines.filter((l) => l.level === 'error' && /stdout write failed/.test(l.msg ?? ''))).toHaveLength(1);
  });
});

/** Writes `count` JSON lines of its own to the FIFO, one write(2) each, as pino's synchronous logger does. */
const APP_WRITER = `
const fs = require('node:fs');
const [fifo, count] = process.argv.slice(1);
const fd = fs.openSync(fifo, 'w');
for (let i = 0; i < Number(count); i++) fs.writeSync(fd, JSON.stringify({ level: 30, app: i, msg: 'y'.repeat(100 + (i % 50)) }) + '\\n');
fs.closeSync(fd);
`;

interface Collector {
  url: string;
  batches: { lines: string[]; headers: IncomingMessage['headers']; at: number }[];
  /** Answer with this status (then 200 once it is reset to 200). */
  status: number;
  /** When set, requests wait until it is called. */
  hold: Promise<void> | undefined;
  close(): Promise<void>;
}

async function startCollector(): Promise<Collector> {
  const c: Collector = { url: '', batches: [], status: 200, hold: undefined, close: async () => {} };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      void (async () => {
        if (c.hold) await c.hold;
        if (c.status === 200) c.batches.push({ lines: body.split('\n').filter(Boolean), headers: req.headers, at: Date.now() });
        res.statusCode = c.status;
        res.end();
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  c.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/ingest`;
  c.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return c;
}

describe('HttpBatchSink', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0)) await f();
  });

  it('POSTs NDJSON batches of at most maxLines, the remainder after maxDelayMs', async () => {
    const col = await startCollector();
    cleanup.push(col.close);
    const sink = new HttpBatchSink({ url: col.url, authorization: 'Bearer collector-token', logger: new MemoryLogger(), maxLines: 4, maxDelayMs: 300 });
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) sink.write(line(i));
    await until(() => sink.stats().sent_lines === 10);
    expect(col.batches.map((b) => b.lines.length)).toEqual([4, 4, 2]);
    expect(col.batches.flatMap((b) => b.lines.map((l) => (JSON.parse(l) as { i: number }).i))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(col.batches[0]!.headers).toMatchObject({ 'content-type': 'application/x-ndjson', authorization: 'Bearer collector-token' });
    // The last, partial batch waited for the delay.
    expect(col.batches[2]!.at - t0).toBeGreaterThanOrEqual(250);
    expect(sink.stats()).toMatchObject({ lines: 10, dropped: 0, batches: 3, sent_lines: 10 });
    await sink.close();
  });

  it('splits batches at maxBytes', async () => {
    const col = await startCollector();
    cleanup.push(col.close);
    const sink = new HttpBatchSink({ url: col.url, logger: new MemoryLogger(), maxLines: 1_000, maxBytes: 300, maxDelayMs: 50 });
    for (let i = 0; i < 20; i++) sink.write(line(i));
    await until(() => col.batches.reduce((n, b) => n + b.lines.length, 0) === 20);
    expect(col.batches.length).toBeGreaterThan(3);
    for (const b of col.batches) expect(b.lines.reduce((n, l) => n + l.length + 1, 0)).toBeLessThanOrEqual(300);
    await sink.close();
  });

  it('retries a failed batch once, then delivers it', async () => {
    const col = await startCollector();
    cleanup.push(col.close);
    col.status = 503;
    const sink = new HttpBatchSink({ url: col.url, logger: new MemoryLogger(), maxLines: 3, retryDelayMs: 200 });
    for (let i = 0; i < 3; i++) sink.write(line(i));
    await until(() => sink.stats().retries === 1);
    col.status = 200;
    await until(() => sink.stats().batches === 1);
    expect(col.batches[0]!.lines).toHaveLength(3);
    expect(sink.stats()).toMatchObject({ retries: 1, batches: 1, dropped: 0, failed_batches: 0 });
    await sink.close();
  });

  it('drops and counts when the collector is down, without growing past its queue', async () => {
    const logger = new MemoryLogger();
    const sink = new HttpBatchSink({ url: `http://127.0.0.1:${await deadPort()}/`, logger, maxLines: 5, queueLines: 20, retryDelayMs: 20, maxDelayMs: 20 });
    for (let i = 0; i < 200; i++) {
      sink.write(line(i));
      expect(sink.stats().queued ?? 0).toBeLessThanOrEqual(20);
    }
    await until(() => sink.stats().queued === 0 && (sink.stats().failed_batches ?? 0) >= 1 && sink.stats().lines === sink.stats().dropped, 10_000);
    expect(sink.stats().dropped).toBe(200);
    expect(logger.lines.some((l) => l.level === 'warn' && /dropp/.test(l.msg ?? ''))).toBe(true);
    await sink.close();
  });

  it('keeps the newest lines when a slow collector lets the queue fill', async () => {
    const col = await startCollector();
    cleanup.push(col.close);
    let release!: () => void;
    col.hold = new Promise((r) => (release = r));
    const sink = new HttpBatchSink({ url: col.url, logger: new MemoryLogger(), maxLines: 10, queueLines: 30, maxDelayMs: 20 });
    for (let i = 0; i < 10; i++) sink.write(line(i)); // the first batch, now held by the collector
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 10; i < 110; i++) sink.write(line(i));
    expect(sink.stats()).toMatchObject({ queued: 30, dropped: 70 });
    col.hold = undefined;
    release();
    await until(() => col.batches.reduce((n, b) => n + b.lines.length, 0) === 40);
    const ids = col.batches.flatMap((b) => b.lines.map((l) => (JSON.parse(l) as { i: number }).i));
    expect(ids).toEqual([...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 30 }, (_, i) => 80 + i)]);
    await sink.close();
  });

  it('sends what is queued on close', async () => {
    const col = await startCollector();
    cleanup.push(col.close);
    const sink = new HttpBatchSink({ url: col.url, logger: new MemoryLogger(), maxLines: 100, maxDelayMs: 60_000 });
    for (let i = 0; i < 7; i++) sink.write(line(i));
    await sink.close();
    expect(col.batches.map((b) => b.lines.length)).toEqual([7]);
  });
});
