// The batch writer against real files and a real named pipe read slowly by another process.
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchWriter } from './batch-writer.js';
import { slowFifo } from './test-support/fifo.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'gh-batch-'));

/** Lines of varying length, some with multi-byte characters (2, 3 and 4 bytes in UTF-8). */
function line(i: number): string {
  const pad = i % 5 === 0 ? 'é€😀'.repeat(i % 13) : 'x'.repeat(20 + (i % 97));
  return `{"i":${i},"pad":"${pad}"}\n`;
}

/** Every line of `text` parses and carries the ids 0..n-1 (or `ids`) in order. */
function expectLines(text: string, ids: number[]): void {
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  expect(lines.length).toBe(ids.length);
  for (let k = 0; k < lines.length; k++) {
    // Whole and unchanged: the exact bytes the line was written with.
    if (lines[k] + '\n' !== line(ids[k]!)) throw new Error(`line ${k}: expected id ${ids[k]}, got ${JSON.stringify(lines[k]!.slice(0, 80))}`);
  }
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('BatchWriter', () => {
  it('writes 100,000 lines to a file whole and in order', async () => {
    const file = path.join(tmp(), 'out.log');
    const fd = openSync(file, 'a');
    const w = new BatchWriter(fd);
    const n = 100_000;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      bytes += w.write(line(i));
      // Let writes complete mid-stream now and then, so sealing, recycling and writing interleave.
      if (i % 5_000 === 0) await new Promise((r) => setImmediate(r));
    }
    await w.end();
    expect(() => closeSync(fd)).toThrow(/EBADF/);
    const text = readFileSync(file, 'utf8');
    expect(Buffer.byteLength(text)).toBe(bytes);
    expectLines(text, range(n));
    expect(w.stats()).toMatchObject({ dropped: 0, errors: 0, pending: 0 });
    // Batched: far fewer writes than lines.
    expect(w.stats().writes).toBeLessThan(n / 50);
  });

  it('gives a line larger than a buffer a buffer of its own, between the others', async () => {
    const file = path.join(tmp(), 'out.log');
    const w = new BatchWriter(openSync(file, 'a'), { bufferSize: 256 });
    const big = `{"big":"${'b'.repeat(1_000)}"}\n`;
    w.write(line(0));
    w.write(big);
    w.write(line(1));
    w.write(big);
    await w.end();
    expect(readFileSync(file, 'utf8')).toBe(line(0) + big + line(1) + big);
  });

  it('drops and counts lines past maxBuffered, never holding more', async () => {
    const file = path.join(tmp(), 'out.log');
    const w = new BatchWriter(openSync(file, 'a'), { bufferSize: 4096, maxBuffered: 64 * 1024 });
    const accepted: number[] = [];
    let refused = 0;
    // One synchronous burst: no write can complete meanwhile, so the bound is what stops the lines.
    for (let i = 0; i < 5_000; i++) {
      if (w.write(line(i)) > 0) accepted.push(i);
      else refused++;
      expect(w.stats().pending).toBeLessThanOrEqual(64 * 1024);
    }
    expect(refused).toBeGreaterThan(3_000);
    expect(w.stats().dropped).toBe(refused);
    await w.end();
    expectLines(readFileSync(file, 'utf8'), accepted);
    // Once written, the room is back.
    expect(w.stats().pending).toBe(0);
  });

  it('writes a partly filled buffer on the flush timer', async () => {
    const file = path.join(tmp(), 'out.log');
    const w = new BatchWriter(openSync(file, 'a'), { flushMs: 100 });
    w.write(line(1));
    w.write(line(2));
    await new Promise((r) => setTimeout(r, 30));
    expect(readFileSync(file, 'utf8')).toBe('');
    const t0 = Date.now();
    while (readFileSync(file, 'utf8') === '' && Date.now() - t0 < 2_000) await new Promise((r) => setTimeout(r, 10));
    expect(readFileSync(file, 'utf8')).toBe(line(1) + line(2));
    expect(Date.now() - t0).toBeLessThan(500);
    await w.end();
  });

  it('continues short writes and retries EAGAIN on a non-blocking pipe with a slow reader', async () => {
    const pipe = await slowFifo(tmp(), { chunk: 3_000, pauseMs: 1 });
    const w = new BatchWriter(pipe.fd, { retryMs: 2 });
    const n = 30_000;
    for (let i = 0; i < n; i++) {
      w.write(line(i));
      if (i % 2_000 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await w.end(30_000);
    await pipe.done;
    expectLines(readFileSync(pipe.out, 'utf8'), range(n));
    const s = w.stats();
    // The paths under test were taken: 64 KiB writes into a pipe with less room are cut short, and a full pipe refuses.
    expect(s.partial).toBeGreaterThan(0);
    expect(s.eagain).toBeGreaterThan(0);
    expect(s).toMatchObject({ dropped: 0, errors: 0 });
  }, 60_000);

  it('gives up what a stalled reader leaves after the grace period on end', async () => {
    const pipe = await slowFifo(tmp(), { startMs: 1_500 });
    const w = new BatchWriter(pipe.fd, { retryMs: 5, bufferSize: 4096 });
    for (let i = 0; i < 5_000; i++) w.write(line(i));
    const t0 = Date.now();
    await w.end(200);
    expect(Date.now() - t0).toBeLessThan(1_000);
    // The pipe holds 64 KiB at most: the rest was given up and counted, not held.
    expect(w.stats().dropped).toBeGreaterThan(1_000);
    expect(w.stats().pending).toBeLessThanOrEqual(4096);
    // The descriptor is closed once the write in flight gives up: the reader sees EOF after what the pipe held.
    await pipe.done;
    const got = readFileSync(pipe.out, 'utf8');
    expect(got.length).toBeGreaterThan(0);
    expect(() => closeSync(pipe.fd)).toThrow(/EBADF/);
    expectLines(got, range(got.split('\n').length - 1));
    expect(w.stats().dropped).toBe(5_000 - (got.split('\n').length - 1));
  }, 10_000);

  it('switches descriptors in order: earlier lines to the old one, which is then closed', async () => {
    const dir = tmp();
    const a = openSync(path.join(dir, 'a'), 'a');
    const b = openSync(path.join(dir, 'b'), 'a');
    const w = new BatchWriter(a);
    for (let i = 0; i < 1_000; i++) w.write(line(i));
    w.switchFd(b);
    for (let i = 1_000; i < 2_000; i++) w.write(line(i));
    await w.end();
    expectLines(readFileSync(path.join(dir, 'a'), 'utf8'), range(1_000));
    expectLines(readFileSync(path.join(dir, 'b'), 'utf8'), range(2_000).slice(1_000));
    expect(() => closeSync(a)).toThrow(/EBADF/);
    expect(() => closeSync(b)).toThrow(/EBADF/);
  });

  it('reports a failing descriptor, counts its lines as dropped and never throws', async () => {
    const file = path.join(tmp(), 'ro');
    closeSync(openSync(file, 'w'));
    const fd = openSync(file, 'r'); // writes fail with EBADF
    const errors: string[] = [];
    const w = new BatchWriter(fd, { bufferSize: 1024, onError: (e) => errors.push(e.code ?? '') });
    for (let i = 0; i < 100; i++) expect(() => w.write(line(i))).not.toThrow();
    await w.end();
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toBe('EBADF');
    expect(w.stats()).toMatchObject({ dropped: 100, pending: 0 });
    expect(w.stats().errors).toBe(errors.length);
    // After end, lines are dropped and counted.
    w.write(line(0));
    expect(w.stats().dropped).toBe(101);
  });
});
