// A real named pipe with a slow reader in a child process, for the writers' EAGAIN and short-write paths.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import path from 'node:path';

/** Reads the FIFO `chunk` bytes at a time, pausing `pauseMs` between reads (after `startMs`), into `out`; exits at EOF. */
const READER = `
const fs = require('node:fs');
const [fifo, out, chunk, pauseMs, startMs] = process.argv.slice(1);
const fd = fs.openSync(fifo, 'r');
const o = fs.openSync(out, 'w');
const b = Buffer.alloc(Number(chunk));
const sleep = new Int32Array(new SharedArrayBuffer(4));
Atomics.wait(sleep, 0, 0, Number(startMs));
for (;;) {
  const n = fs.readSync(fd, b, 0, b.length, null);
  if (n === 0) break;
  fs.writeSync(o, b, 0, n);
  if (Number(pauseMs) > 0) Atomics.wait(sleep, 0, 0, Number(pauseMs));
}
fs.closeSync(o);
`;

export interface SlowFifo {
  /** Write end, non-blocking. */
  fd: number;
  /** Where the reader copies what it read. */
  out: string;
  fifo: string;
  /** Resolves when the reader saw EOF (every write end closed) and exited. */
  done: Promise<void>;
  child: ChildProcess;
}

export async function slowFifo(dir: string, opts: { chunk?: number; pauseMs?: number; startMs?: number } = {}): Promise<SlowFifo> {
  const fifo = path.join(dir, `fifo-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const out = `${fifo}.out`;
  execFileSync('mkfifo', [fifo]);
  const child = spawn(process.execPath, ['-e', READER, fifo, out, String(opts.chunk ?? 4096), String(opts.pauseMs ?? 1), String(opts.startMs ?? 0)], { stdio: 'inherit' });
  const done = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`fifo reader exited with ${code}`))));
  });
  // O_NONBLOCK on a FIFO without a reader fails with ENXIO: retry until the child has it open.
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      return { fd, out, fifo, done, child };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO' || Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
