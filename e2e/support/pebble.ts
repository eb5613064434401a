/**
 * Pebble (Let's Encrypt's test ACME server, Debian package `pebble`) on loopback, with a dnsmasq that
 * resolves the test's host names, so its validation authority fetches HTTP-01 answers from the gateway's
 * plain listener (`httpPort`). Pebble's own HTTPS certificate is made here with `openssl`; `caFile` is
 * what the gateway trusts for it (GATEHOUSE_ACME_CA_FILE). Every process is killed by `stop()`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'node:https';
import { killAndWait } from '../../server/src/test-support/processes.js';
import { startDnsmasq, type Dnsmasq } from '../../server/src/discovery/test-support/dnsmasq.js';
import { freePort } from './ports.js';

export interface Pebble {
  directoryUrl: string;
  /** PEM of the certificate Pebble serves its API with (self-signed): the gateway's GATEHOUSE_ACME_CA_FILE. */
  caFile: string;
  /** PEM of the root that signs the certificates Pebble issues (made fresh at each start). */
  issuingRoot(): Promise<string>;
  /** The loopback ports it listens on (API, management) once started. */
  ports: number[];
  /** Launches a `deferred` Pebble (and its dnsmasq). */
  start(): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** Port the validation authority connects to for HTTP-01 (the gateway's plain listener). */
  httpPort: number;
  /** `ip name` lines dnsmasq answers (nothing else resolves). */
  hosts: string[];
  /** Validity of issued certificates in seconds (Pebble's default is five years). */
  validitySeconds?: number;
  /** Ports Pebble must not take (picked for gateways that are not listening yet). */
  avoid?: number[];
  /** Only prepare (certificate, ports, directory URL); `start()` launches it. */
  deferred?: boolean;
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: new Agent({ ca }), timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-pebble-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-keyout', keyFile, '-out', certFile, '-subj', '/CN=pebble test API',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE',
  ], { stdio: 'ignore' });
  // Ports the test has picked for gateways but not bound yet must not become Pebble's.
  const taken = new Set(opts.avoid ?? []);
  const pick = async () => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  const [port, managementPort, tlsPort] = [await pick(), await pick(), await pick()];
  const configFile = path.join(dir, 'pebble.json');
  writeFileSync(configFile, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${port}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: certFile,
      privateKey: keyFile,
      httpPort: opts.httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(opts.validitySeconds !== undefined ? { certificateValidityPeriod: opts.validitySeconds } : {}),
    },
  }));
  let dns: Dnsmasq | undefined;
  let child: ChildProcess | undefined;
  let out = '';
  const ca = readFileSync(certFile, 'utf8');
  const directoryUrl = `https://127.0.0.1:${port}/dir`;
  const launch = async () => {
    try {
      dns = await startDnsmasq({ hosts: opts.hosts, probe: opts.hosts[0]!.split(/\s+/)[1]! });
      const c = spawn('pebble', ['-config', configFile, '-dnsserver', dns.server], {
        // No random sleeps before validation, real validation, no random nonce rejections: fast and deterministic.
        env: { PATH: process.env.PATH ?? '', PEBBLE_VA_NOSLEEP: '1', PEBBLE_VA_ALWAYS_VALID: '0', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (c.exitCode !== null) throw new Error(`pebble exited:\n${out}`);
        try {
          if ((await get(directoryUrl, ca)).status === 200) break;
        } catch {
          /* not listening yet */
        }
        if (Date.now() > deadline) throw new Error(`pebble did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch (err) {
      await stop();
      throw err;
    }
  };
  const stop = async () => {
    await killAndWait(child);
    await dns?.close();
    dns = undefined;
    rmSync(dir, { recursive: true, force: true });
  };
  if (!opts.deferred) await launch();
  return {
    directoryUrl,
    caFile: certFile,
    ports: [port, managementPort],
    start: launch,
    async issuingRoot() {
      const r = await get(`https://127.0.0.1:${managementPort}/roots/0`, ca);
      if (r.status !== 200) throw new Error(`pebble roots/0: ${r.status}`);
      return r.body;
    },
    logs: () => out,
    stop,
  };
}
