/**
 * Starts the real gateway (`node server/dist/main.js`) as a child process with its own ports and data
 * directory, waits until it is ready, and stops it (SIGTERM, then SIGKILL after a grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MAIN = path.join(ROOT, 'server/dist/main.js');
export const CLI = path.join(ROOT, 'server/dist/cli.js');
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

export interface Gateway {
  proxyUrl: string;
  adminUrl: string;
  proxyPort: number;
  adminPort: number;
  dataDir: string;
  process: ChildProcess;
  logs(): string;
  /** Fetch against the admin API with the static admin token. */
  admin(pathname: string, init?: RequestInit): Promise<Response>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface GatewayOptions {
  env?: Record<string, string>;
  dataDir?: string;
  proxyPort?: number;
  adminPort?: number;
  keepDataDir?: boolean;
  /**
   * What "ready" means: the admin API's /health/ready (default), or any answer on the proxy port (a node
   * started from its config cache opens its admin listener only once the store answers).
   */
  ready?: 'admin' | 'proxy';
}

export async function startGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  const proxyPort = opts.proxyPort ?? (await freePort());
  const adminPort = opts.adminPort ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'gh-e2e-'));
  let out = '';
  // The node flags `npm start` and the Docker image use (server/src/runtime/node-flags.ts says why).
  const child = spawn(process.execPath, ['--v8-pool-size=0', MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      GATEHOUSE_PROXY_LISTEN: `127.0.0.1:${proxyPort}`,
      GATEHOUSE_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_ADMIN_TOKEN: ADMIN_TOKEN,
      GATEHOUSE_DEMO: 'false',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const deadline = Date.now() + 60_000;
  let ready = false;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const r = await fetch(opts.ready === 'proxy' ? `http://127.0.0.1:${proxyPort}/` : `${adminUrl}/health/ready`);
      await r.arrayBuffer();
      if (r.ok || opts.ready === 'proxy') {
        ready = true;
        break;
      }
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`gateway did not become ready:\n${out}`);
  }
  const gw: Gateway = {
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    adminUrl,
    proxyPort,
    adminPort,
    dataDir,
    process: child,
    logs: () => out,
    admin: (pathname, init = {}) =>
      fetch(`${adminUrl}${pathname}`, {
        ...init,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
      }),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const code = await exited;
        clearTimeout(timer);
        if (!opts.keepDataDir && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
        return code;
      }
      return child.exitCode;
    },
  };
  return gw;
}
