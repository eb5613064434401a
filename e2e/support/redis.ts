/**
 * A throwaway redis-server on a free loopback port (no persistence), killable and restartable on the same
 * port to simulate an outage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { killAndWait } from '../../server/src/test-support/processes.js';
import { freePort } from './ports.js';

export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server (SIGKILL: an abrupt outage) and waits for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** The running server's process id (to pause it with SIGSTOP), undefined while killed. */
  readonly pid: number | undefined;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' }, () => s.write('PING\r\n'));
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
  });
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on ${port}`);
  };
  const kill = async () => {
    const c = child;
    child = undefined;
    await killAndWait(c);
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: launch,
    stop: kill,
    get pid() {
      return child?.pid;
    },
  };
}
