/**
 * A real single-member etcd (Debian package `etcd-server`) on free loopback ports with its own data
 * directory in a temp folder. `stop`/`start` simulate an outage (same ports and data); `close` removes it.
 * Writes go through the same HTTP/JSON gateway the provider uses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, killAndWait } from '../../test-support/processes.js';

export interface Etcd {
  endpoint: string;
  put(key: string, value: string): Promise<void>;
  del(key: string): Promise<void>;
  /** Compacts history up to the current revision (a watch from an older revision is then canceled). */
  compact(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Stops the process even if the test run is interrupted: etcd must not outlive its test. */
const LIFETIME_MS = 10 * 60_000;

export async function startEtcd(): Promise<Etcd> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-etcd-'));
  const client = await freePort();
  const peer = await freePort();
  const endpoint = `http://127.0.0.1:${client}`;
  let child: ChildProcess | undefined;
  let lifetime: NodeJS.Timeout | undefined;
  let log = '';

  const call = async (p: string, body: unknown) => {
    const r = await fetch(endpoint + p, { method: 'POST', body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
    return (await r.json()) as { header: { revision: string } };
  };

  const start = async () => {
    const c = spawn(
      'etcd',
      [
        '--name', 'gh-test', '--data-dir', path.join(dir, 'data'),
        '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
        '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-cluster', `gh-test=http://127.0.0.1:${peer}`, '--log-level', 'error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    c.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    c.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    child = c;
    lifetime = setTimeout(() => c.kill('SIGKILL'), LIFETIME_MS);
    lifetime.unref();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (c.exitCode !== null) throw new Error(`etcd exited: ${log}`);
      try {
        const r = await fetch(`${endpoint}/health`);
        if (r.ok && ((await r.json()) as { health?: string }).health === 'true') return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd did not start: ${log}`);
  };

  const stop = async () => {
    clearTimeout(lifetime);
    const c = child;
    child = undefined;
    await killAndWait(c);
  };

  await start();
  return {
    endpoint,
    async put(key, value) {
      await call('/v3/kv/put', { key: b64(key), value: b64(value) });
    },
    async del(key) {
      await call('/v3/kv/deleterange', { key: b64(key) });
    },
    async compact() {
      const { header } = await call('/v3/kv/range', { key: b64('\0') });
      await call('/v3/kv/compaction', { revision: header.revision, physical: true });
    },
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
