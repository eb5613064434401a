/**
 * Cluster mode (GATEHOUSE_WORKERS > 1): a primary process that only supervises N gateway processes.
 *
 * The proxy listener lives in each process's proxy worker thread (proxy/proxy-plane.ts says why), and
 * node:cluster cannot share a port with a worker thread: there `cluster.isPrimary` is true, so a listen
 * would bind on its own and fail with EADDRINUSE. The primary therefore binds the proxy socket once (bound,
 * never listening or accepting in the primary) and every worker inherits it as file descriptor 4; each
 * proxy thread listens on that descriptor and the kernel hands each connection to one of them. Because all
 * processes hold the same socket, a worker that stops accepting (drain, crash) leaves queued connections to
 * the others: a rolling restart loses none, which SO_REUSEPORT (one queue per socket) would not promise.
 * The HTTPS and h2c listeners (GATEHOUSE_PROXY_TLS_PORT, GATEHOUSE_PROXY_H2C_PORT) are shared the same way,
 * as the next descriptors (their numbers are passed in GATEHOUSE_CLUSTER_FDS). With GATEHOUSE_PROXY_TLS=auto
 * the HTTPS port is bound up front too, but a worker listens on it only once it has a certificate: until
 * then the socket is bound and not listening, so clients are refused exactly as by a single process that
 * has not opened the port yet (no handshake that can only fail).
 *
 * The admin API and dashboard run on worker 1 only, and its listen goes through node:cluster as usual, so
 * the primary owns the admin socket and an old and a new worker 1 overlap during a rolling restart.
 * Every worker follows the config store on its own, exactly as separate nodes do.
 *
 * Signals to the primary: SIGTERM/SIGINT drain and stop every worker; SIGHUP restarts them one at a time,
 * the next only once the new one listens. A worker that dies is restarted with a growing delay.
 */
import cluster, { type Worker } from 'node:cluster';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { GatewayEnv } from '../config/env.js';
import type { Logger } from '../observability/logger.js';
import { workerExecArgv } from './node-flags.js';

const SLOT_ENV = 'GATEHOUSE_WORKER_SLOT';
const NODE_ID_ENV = 'GATEHOUSE_CLUSTER_NODE_ID';
const FDS_ENV = 'GATEHOUSE_CLUSTER_FDS';
/** The inherited proxy socket in each worker: after stdin, stdout, stderr and the IPC channel. */
const PROXY_FD = 4;
const READY = 'gatehouse:listening';
const RESTART_MIN_MS = 250;
const RESTART_MAX_MS = 10_000;
/** A worker that ran this long before dying is restarted at once again (its crash is not a loop). */
const STABLE_MS = 30_000;
const READY_TIMEOUT_MS = 90_000;
/** Longer than a worker's own drain (10 s in main.ts) plus its shutdown. */
const STOP_TIMEOUT_MS = 30_000;

export interface ClusterWorkerInfo {
  /** 1..N; a restarted worker keeps its slot. */
  slot: number;
  /** Inherited proxy socket to listen on. */
  proxyFd: number;
  /** Inherited HTTPS socket; undefined when the primary has none (TLS off, or its port could not be bound). */
  tlsFd?: number;
  /** Inherited h2c socket; undefined without GATEHOUSE_PROXY_H2C_PORT. */
  h2cFd?: number;
  /** Worker 1 runs the admin listener. */
  admin: boolean;
  /** `<node id>-w<slot>`: stable across restarts, unique per process in logs, metrics and the live stream. */
  nodeId: string;
}

/** Set in a process forked by the primary; undefined in a single-process node. */
export function clusterWorkerInfo(env: NodeJS.ProcessEnv = process.env): ClusterWorkerInfo | undefined {
  if (!cluster.isWorker || !env[SLOT_ENV]) return undefined;
  const slot = Number(env[SLOT_ENV]);
  return { slot, ...parseListenerFds(env[FDS_ENV]), admin: slot === 1, nodeId: `${env[NODE_ID_ENV] ?? process.ppid}-w${slot}` };
}

/** Where each shared listener is in a worker's descriptor table. */
export interface ListenerFds {
  proxyFd: number;
  tlsFd?: number;
  h2cFd?: number;
}

type Stdio = 'inherit' | 'ipc' | number;

/**
 * The workers' stdio: the primary's output, the IPC channel, then the bound sockets in a fixed order (proxy,
 * HTTPS, h2c; those the primary does not have are left out), and where each one lands in the worker.
 */
export function workerStdio(sockets: { proxy: number; tls?: number; h2c?: number }): { stdio: Stdio[]; fds: ListenerFds } {
  const stdio: Stdio[] = ['inherit', 'inherit', 'inherit', 'ipc', sockets.proxy];
  const fds: ListenerFds = { proxyFd: PROXY_FD };
  if (sockets.tls !== undefined) {
    fds.tlsFd = stdio.length;
    stdio.push(sockets.tls);
  }
  if (sockets.h2c !== undefined) {
    fds.h2cFd = stdio.length;
    stdio.push(sockets.h2c);
  }
  return { stdio, fds };
}

/** `tls=5,h2c=6`: the value of GATEHOUSE_CLUSTER_FDS (the proxy socket is always 4). */
export function formatListenerFds(fds: ListenerFds): string {
  const parts: string[] = [];
  if (fds.tlsFd !== undefined) parts.push(`tls=${fds.tlsFd}`);
  if (fds.h2cFd !== undefined) parts.push(`h2c=${fds.h2cFd}`);
  return parts.join(',');
}

export function parseListenerFds(value: string | undefined): ListenerFds {
  const fds: ListenerFds = { proxyFd: PROXY_FD };
  for (const part of (value ?? '').split(',')) {
    const [name, n] = part.split('=');
    const fd = Number(n);
    if (!Number.isInteger(fd) || fd <= PROXY_FD) continue;
    if (name === 'tls') fds.tlsFd = fd;
    else if (name === 'h2c') fds.h2cFd = fd;
  }
  return fds;
}

/** Tells the primary this worker serves (proxy listening, and the admin listener on worker 1). */
export function reportListening(): void {
  process.send?.({ type: READY });
}

interface TcpHandle {
  close(): void;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  getsockname(out: { port?: number }): number;
  fd: number;
}

/**
 * A bound, not listening TCP socket. There is no public API for one (net.Server always listens and accepts),
 * so this uses the same tcp_wrap binding net.Server is built on.
 */
export async function bindSocket(host: string, port: number, what = 'proxy listener'): Promise<{ fd: number; port: number; handle: TcpHandle }> {
  const address = isIP(host) ? host : (await lookup(host)).address;
  const { TCP, constants } = (process as unknown as { binding(name: 'tcp_wrap'): { TCP: new (type: number) => TcpHandle; constants: { SERVER: number } } }).binding('tcp_wrap');
  const handle = new TCP(constants.SERVER);
  const err = isIP(address) === 6 ? handle.bind6(address, port, 0) : handle.bind(address, port);
  if (err) throw new Error(`cannot bind the ${what} ${host}:${port}: ${getSystemErrorName(err)}`);
  const out: { port?: number } = {};
  handle.getsockname(out);
  // libuv defers EADDRINUSE from bind to listen, which only the workers do: a socket left unbound would make
  // them listen on a random port. An unbound socket has no port, so the failure is caught here.
  if (!out.port) {
    handle.close();
    throw new Error(`cannot bind the ${what} ${host}:${port}: EADDRINUSE`);
  }
  return { fd: handle.fd, port: out.port, handle };
}

/**
 * `on` needs its port: a failure stops the start. `auto` may never get a certificate, and a single process
 * in `auto` does not fail for a taken port either, so the workers then run without HTTPS and the reason is logged.
 */
async function bindTls(t: NonNullable<GatewayEnv['proxyTls']>, logger: Logger): Promise<Awaited<ReturnType<typeof bindSocket>> | undefined> {
  try {
    return await bindSocket(t.host, t.port, 'HTTPS listener');
  } catch (err) {
    if (t.mode === 'on') throw err;
    logger.warn({ err: (err as Error).message }, 'HTTPS listener (GATEHOUSE_PROXY_TLS=auto) unavailable: its port could not be bound; the workers serve plain HTTP only');
    return undefined;
  }
}

export interface ClusterPrimary {
  /** Restarts the workers one at a time (what SIGHUP does); resolves when done. */
  rollingRestart(): Promise<void>;
  stop(): Promise<void>;
}

export async function runClusterPrimary(env: GatewayEnv, logger: Logger): Promise<ClusterPrimary> {
  const socket = await bindSocket(env.proxyListen.host, env.proxyListen.port);
  const tls = env.proxyTls ? await bindTls(env.proxyTls, logger) : undefined;
  const h2c = env.proxyH2c ? await bindSocket(env.proxyH2c.host, env.proxyH2c.port, 'h2c listener') : undefined;
  const { stdio, fds } = workerStdio({ proxy: socket.fd, ...(tls ? { tls: tls.fd } : {}), ...(h2c ? { h2c: h2c.fd } : {}) });
  // The handles own the descriptors: kept here for the primary's lifetime so they are never collected and closed.
  const bound = [socket, tls, h2c];
  const baseId = process.env.GATEHOUSE_NODE_ID || String(process.pid);
  cluster.setupPrimary({ stdio, execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
  const slots = new Map<number, Worker>();
  const delays = new Map<number, number>();
  let stopping = false;
  let rolling: Promise<void> | null = null;

  function fork(slot: number): Worker {
    const worker = cluster.fork({ [SLOT_ENV]: String(slot), [NODE_ID_ENV]: baseId, [FDS_ENV]: formatListenerFds(fds) });
    const startedAt = Date.now();
    worker.on('exit', (code, signal) => {
      // Replaced by a rolling restart, or stopped on purpose: nothing to do.
      if (slots.get(slot) !== worker) return;
      slots.delete(slot);
      if (stopping) return;
      const previous = delays.get(slot);
      const delay = previous === undefined || Date.now() - startedAt > STABLE_MS ? RESTART_MIN_MS : Math.min(previous * 2, RESTART_MAX_MS);
      delays.set(slot, delay);
      logger.error({ slot, pid: worker.process.pid, code, signal, restart_in_ms: delay }, 'gateway worker exited; restarting it');
      setTimeout(() => {
        if (!stopping && !slots.has(slot)) slots.set(slot, fork(slot));
      }, delay).unref();
    });
    return worker;
  }

  function listening(worker: Worker): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`worker ${worker.process.pid} did not listen within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const onMessage = (msg: unknown) => {
        if ((msg as { type?: unknown } | null)?.type === READY) done();
      };
      const onExit = (code: number | null, signal: string | null) => done(new Error(`worker ${worker.process.pid} exited (${signal ?? code}) before listening`));
      function done(err?: Error): void {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      }
      worker.on('message', onMessage);
      worker.on('exit', onExit);
    });
  }

  function stopWorker(worker: Worker): Promise<void> {
    if (worker.process.exitCode !== null || worker.process.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      // The worker drains its proxy (in-flight requests finish) on SIGTERM, see main.ts.
      worker.process.kill('SIGTERM');
    });
  }

  async function roll(): Promise<void> {
    logger.info({ workers: env.workers }, 'rolling restart of the gateway workers');
    for (let slot = 1; slot <= env.workers && !stopping; slot++) {
      const old = slots.get(slot);
      const fresh = fork(slot);
      try {
        await listening(fresh);
      } catch (err) {
        // The old worker keeps serving; the rest of the restart is abandoned (the new code or config is broken).
        logger.error({ slot, err: (err as Error).message }, 'new worker did not start; rolling restart stopped');
        fresh.process.kill('SIGKILL');
        return;
      }
      slots.set(slot, fresh);
      delays.delete(slot);
      if (old) await stopWorker(old);
      logger.info({ slot, pid: fresh.process.pid }, 'worker replaced');
    }
    logger.info('rolling restart done');
  }

  const primary: ClusterPrimary = {
    rollingRestart() {
      rolling ??= roll().finally(() => {
        rolling = null;
      });
      return rolling;
    },
    async stop() {
      stopping = true;
      await rolling?.catch(() => undefined);
      await Promise.all([...cluster.workers ? Object.values(cluster.workers) : []].filter((w): w is Worker => w !== undefined).map(stopWorker));
    },
  };

  const first: Promise<void>[] = [];
  for (let slot = 1; slot <= env.workers; slot++) {
    const worker = fork(slot);
    slots.set(slot, worker);
    first.push(listening(worker).catch((err: unknown) => logger.error({ slot, err: (err as Error).message }, 'worker failed to start')));
  }
  await Promise.all(first);
  logger.info(
    { workers: env.workers, port: socket.port, tls_port: bound[1]?.port, h2c_port: bound[2]?.port, pid: process.pid },
    `cluster primary: ${env.workers} gateway workers on ${env.proxyListen.host}:${socket.port}`,
  );
  return primary;
}
