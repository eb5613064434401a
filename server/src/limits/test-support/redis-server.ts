/** A throwaway redis-server on a free loopback port for unit tests of the `redis` policy. */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, killAndWait } from '../../test-support/processes.js';

export interface TestRedis {
  port: number;
  url: string;
  /** SIGSTOP/SIGCONT: a Redis that accepts nothing and answers nothing (hung, not down). */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {}); // refused while the server starts; retried below
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await probe.connect();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT');
      await killAndWait(child);
    },
  };
}
