/**
 * A throwaway Redis Cluster on loopback: 3 primaries (no replicas), each a real redis-server with
 * `--cluster-enabled yes` on its own free port and its own bus port, joined by `redis-cli --cluster
 * create`. Used by the unit tests of the limits and by the cluster e2e test. Start-up is bounded
 * (throws after `timeoutMs`) and stop() kills every process it started and removes the node files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, killAndWait } from '../../test-support/processes.js';

export interface TestRedisCluster {
  ports: number[];
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` (what REDIS_URL takes). */
  url: string;
  stop(): Promise<void>;
}

/** Sends one inline command and returns the first reply chunk ('' on any failure). */
function command(port: number, cmd: string): Promise<string> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' }, () => s.write(cmd + '\r\n'));
    s.setTimeout(1_000, () => {
      s.destroy();
      resolve('');
    });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString());
    });
    s.once('error', () => resolve(''));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(c: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) resolve(c.exitCode);
    else c.once('exit', (code) => resolve(code));
  });
}

export async function startTestRedisCluster(timeoutMs = 30_000): Promise<TestRedisCluster> {
  const deadline = Date.now() + timeoutMs;
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-redis-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(
      children.map((c) => killAndWait(c)),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const bus = await freePort();
      const nodeDir = path.join(dir, String(i));
      mkdirSync(nodeDir); // the node writes its nodes.conf here
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--cluster-enabled', 'yes', '--cluster-port', String(bus)];
      args.push('--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--save', '', '--appendonly', 'no');
      const child = spawn('redis-server', args, { stdio: 'ignore' });
      children.push(child);
      ports.push(port);
    }
    for (const p of ports) {
      while (!(await command(p, 'PING')).startsWith('+PONG')) {
        if (Date.now() > deadline) throw new Error(`redis-server on ${p} did not start`);
        await sleep(50);
      }
    }
    const cli = spawn('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(cli);
    let out = '';
    cli.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    cli.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await Promise.race([exited(cli), sleep(Math.max(0, deadline - Date.now())).then(() => 'timeout' as const)]);
    if (code !== 0) throw new Error(`redis-cli --cluster create failed (${String(code)}): ${out.slice(-2000)}`);
    // Every node must agree the cluster is up (slots assigned, gossip converged) before tests use it.
    for (const p of ports) {
      while (!(await command(p, 'CLUSTER INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`cluster node ${p} never reached cluster_state:ok`);
        await sleep(100);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, stop };
}
