/**
 * nginx (Debian's package) as the load balancer in front of several gateway nodes, on loopback: its config,
 * logs, temp files and pid file live in a temp folder; the master runs in the foreground as our child, and
 * only its PID is ever signalled. The access log records which node answered each request and how many
 * upstream attempts nginx made (`$upstream_addr` lists every node tried).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

export interface Nginx {
  url: string;
  port: number;
  /** Parsed access-log lines so far: status and the upstream addresses tried, in order. */
  accessLog(): { status: number; upstreams: string[]; uri: string }[];
  errorLog(): string;
  stop(): Promise<void>;
}

const NGINX = '/usr/sbin/nginx';

export async function startNginx(upstreamPorts: number[]): Promise<Nginx> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-nginx-'));
  // nginx's workers drop to `nobody` when the master is root; they must be able to write their temp files.
  chmodSync(dir, 0o777);
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, sub), { mode: 0o777 });
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  const balancer = readFileSync(new URL('../../deploy/nginx.conf', import.meta.url), 'utf8');
  // The repo's production file, with loopback addresses and this test's ports and folders substituted.
  const text = balancer
    .replace(/^\s*#.*$/gm, '')
    .replace(/include\s+\/etc\/nginx\/mime\.types;/, '')
    .replace(/error_log\s+[^;]+;/, `error_log ${dir}/error.log info;`)
    .replace(/access_log\s+[^;]+ gatehouse;/, `access_log ${dir}/access.log gatehouse;`)
    .replace(/listen\s+8000;/, `listen 127.0.0.1:${port};`)
    .replace(/(\s*server gateway-\d:8000[^;]*;)+/, upstreamPorts.map((p) => `\n    server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;`).join(''))
    .replace(/http \{/, `http {\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;`);
  writeFileSync(conf, text);
  let out = '';
  const child: ChildProcess = spawn(NGINX, ['-e', `${dir}/error.log`, '-c', conf, '-g', `daemon off; pid ${dir}/nginx.pid;`], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${out}\n${text}`);
    try {
      await (await fetch(`${url}/__nginx_ready`)).arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const read = (name: string) => {
    try {
      return readFileSync(path.join(dir, name), 'utf8');
    } catch {
      return '';
    }
  };
  return {
    url,
    port,
    accessLog() {
      return read('access.log')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [status, upstreams, uri] = line.split('|');
          return { status: Number(status), upstreams: (upstreams ?? '').split(/\s*[,:]\s+/).filter((u) => u && u !== '-'), uri: uri ?? '' };
        });
    },
    errorLog: () => read('error.log'),
    async stop() {
      // SIGTERM to the master: it stops its own workers (a SIGKILLed master would leave them listening).
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
