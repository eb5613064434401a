/**
 * A real dnsmasq (Debian package `dnsmasq`) on a free loopback port, unprivileged, answering only from the
 * hosts file and SRV records given here (no upstream resolvers, no /etc/hosts). Used by the discovery
 * specs and e2e tests; `setHosts` + SIGHUP changes the A/AAAA answers, `stop`/`start` simulate an outage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { killAndWait } from '../../test-support/processes.js';

export interface SrvRecord {
  /** e.g. `_http._tcp.api.test` */
  service: string;
  target: string;
  port: number;
  priority?: number;
  weight?: number;
}

export interface Dnsmasq {
  port: number;
  server: string;
  /** Rewrites the hosts file (`ip name` lines) and makes dnsmasq re-read it. */
  setHosts(lines: string[]): Promise<void>;
  stop(): Promise<void>;
  /** Starts again on the same port (SRV records as given last). */
  start(srv?: SrvRecord[]): Promise<void>;
  close(): Promise<void>;
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.on('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startDnsmasq(opts: { hosts: string[]; srv?: SrvRecord[]; ttl?: number; probe: string }): Promise<Dnsmasq> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-dnsmasq-'));
  const hostsFile = path.join(dir, 'hosts');
  writeFileSync(hostsFile, opts.hosts.join('\n') + '\n');
  // dnsmasq listens on TCP and UDP; a UDP port free now is almost always free on TCP too.
  const port = await freeUdpPort();
  let srv = opts.srv ?? [];
  let child: ChildProcess | undefined;
  let log = '';

  const start = async (next?: SrvRecord[]) => {
    if (next) srv = next;
    const args = [
      '--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
      `--addn-hosts=${hostsFile}`, `--local-ttl=${opts.ttl ?? 1}`, '--pid-file=', `--user=${userInfo().username}`, '--log-facility=-',
      ...srv.map((r) => `--srv-host=${r.service},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 0}`),
    ];
    const c = spawn('dnsmasq', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    child = c;
    const r = new Resolver({ timeout: 200, tries: 1 });
    r.setServers([`127.0.0.1:${port}`]);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (c.exitCode !== null) throw new Error(`dnsmasq exited: ${log}`);
      try {
        await r.resolve4(opts.probe);
        return;
      } catch {
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    throw new Error(`dnsmasq did not answer on ${port}: ${log}`);
  };

  const stop = async () => {
    const c = child;
    child = undefined;
    await killAndWait(c);
  };

  await start();
  return {
    port,
    server: `127.0.0.1:${port}`,
    async setHosts(lines) {
      writeFileSync(hostsFile, lines.join('\n') + '\n');
      child?.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 100));
    },
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
