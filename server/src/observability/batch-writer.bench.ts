/**
 * CPU per access-log line: pino's SonicBoom (as the sinks used it) versus BatchWriter, same lines
 * (~330 bytes, like the default access line of scripts/bench/plain.yaml), to a file and to a non-blocking pipe read by `cat`.
 * Lines are written in bursts of 64 with an event-loop turn between bursts, like requests ending.
 * `process.cpuUsage` counts every thread of the process (the thread-pool threads doing the writes
 * included), from the first line until everything is written; "call" is the time inside `write` only,
 * i.e. what the proxy thread pays. Run from the build:
 * node server/dist/observability/batch-writer.bench.js [lines]
 */
import { execFileSync, spawn } from 'node:child_process';
import { constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { BatchWriter } from './batch-writer.js';

const N = Number(process.argv[2] ?? 200_000);
const BURST = 64;

function makeLines(): string[] {
  return Array.from({ length: 1024 }, (_, i) => {
    const id = String(i).padStart(12, '0');
    return (
      `{"type":"access","time":"2025-01-07T10:21:33.${String(i % 1000).padStart(3, '0')}Z","request_id":"8f0c6a4e-1b2d-4c3e-9f10-${id}",` +
      `"node":"edge-1","client_ip":"203.0.113.7","route":"bench","service":"bench","method":"GET","host":"127.0.0.1:9140",` +
      `"path":"/bench/items","status":200,"bytes_in":0,"bytes_out":612,"latency_ms":0.851,"upstream_latency_ms":0.489,` +
      `"gateway_latency_ms":0.362,"upstream":"127.0.0.1:9001"}\n`
    );
  });
}

interface Target {
  write(line: string): void;
  stats?: () => string;
  /** Resolves once every line is written. */
  end(): Promise<void>;
}

type Dest = ReturnType<typeof pino.destination>;
function sonic(d: Dest): Target {
  return {
    write: (l) => void d.write(l),
    end: () =>
      new Promise<void>((resolve) => {
        d.once('close', () => resolve());
        d.end();
      }),
  };
}

function batch(w: BatchWriter): Target {
  return {
    write: (l) => void w.write(l),
    end: () => w.end(),
    stats: () => {
      const s = w.stats();
      return `writes ${s.writes}, partial ${s.partial}, eagain ${s.eagain}`;
    },
  };
}

async function measure(name: string, make: () => Promise<Target>, lines: string[]): Promise<void> {
  const t = await make();
  await new Promise((r) => setTimeout(r, 20));
  let call = 0;
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; ) {
    const s = performance.now();
    for (const end = Math.min(N, i + BURST); i < end; i++) t.write(lines[i & 1023]!);
    call += performance.now() - s;
    await new Promise((r) => setImmediate(r));
  }
  await t.end();
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / N;
  console.log(`${name.padEnd(52)} ${us.toFixed(2).padStart(6)} µs CPU/line   ${((call * 1000) / N).toFixed(2).padStart(5)} µs in write()   ${t.stats?.() ?? ''}`);
}

/** A FIFO drained by `cat` as fast as it can: the stdout-on-a-pipe case. */
async function pipeTo(dir: string, name: string): Promise<number> {
  const fifo = path.join(dir, name);
  execFileSync('mkfifo', [fifo]);
  spawn('cat', [fifo], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (;;) {
    try {
      return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-batch-bench-'));
  const lines = makeLines();
  let k = 0;
  const file = (): string => path.join(dir, `f${k++}.log`);
  const MAX = 32 * 1024 * 1024;
  console.log(`${N.toLocaleString()} lines of ${Buffer.byteLength(lines[0]!)} bytes, bursts of ${BURST}`);
  try {
    for (let round = 0; round < 3; round++) {
      await measure('file   SonicBoom minLength 0 (old stdout options)', async () => sonic(pino.destination({ dest: file(), sync: false, maxWrite: 4096, maxLength: MAX })), lines);
      await measure('file   SonicBoom minLength 8 KiB (old file sink)', async () => sonic(pino.destination({ dest: file(), sync: false, maxLength: MAX, minLength: 8192 })), lines);
      await measure('file   BatchWriter 64 KiB (old file sink)', async () => {
        const w = new BatchWriter(openSync(file(), 'a'));
        return batch(w);
      }, lines);
      await measure('file   BatchWriter 256 KiB (file sink)', async () => {
        const w = new BatchWriter(openSync(file(), 'a'), { bufferSize: 256 * 1024 });
        return batch(w);
      }, lines);
      await measure('pipe   SonicBoom maxWrite 4 KiB (old stdout sink)', async () => sonic(pino.destination({ dest: await pipeTo(dir, `p${k++}`), sync: false, maxWrite: 4096, maxLength: MAX })), lines);
      await measure('pipe   BatchWriter 4 KiB (stdout sink on a pipe)', async () => {
        const w = new BatchWriter(await pipeTo(dir, `p${k++}`), { bufferSize: 4096 });
        return batch(w);
      }, lines);
      await measure('pipe   BatchWriter 64 KiB (for comparison)', async () => {
        const w = new BatchWriter(await pipeTo(dir, `p${k++}`));
        return batch(w);
      }, lines);
      console.log('');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('batch-writer.bench.js') || process.argv[1]?.endsWith('batch-writer.bench.ts')) void run();
