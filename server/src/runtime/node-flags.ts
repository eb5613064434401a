/**
 * Node flags the gateway runs with.
 *
 * `--v8-pool-size=0` sizes V8's background pool (concurrent marking, parallel scavenges, optimising
 * compilers) to the CPUs the process may use, instead of Node's fixed 4 threads. On a node with fewer
 * CPUs than that (a container limited to one, a process pinned to a core), the four threads' bursts in
 * the first seconds under traffic took the core from the proxy thread: a freshly started gateway pinned to
 * one core added 17–20 ms to the p99 of 1,000 requests/s (stalls up to 130 ms) against 2.8–3.6 ms with the
 * flag, and under load it spent 3.4% less CPU per request (docs/performance-log.md). `npm start`, the
 * Dockerfile and the cluster's workers pass it; a node started otherwise says so once.
 */
import { availableParallelism } from 'node:os';

export const V8_POOL_FLAG = '--v8-pool-size=0';

/** Node's default pool when no flag sizes it. */
const NODE_DEFAULT_POOL = 4;

/** Whether the process was started with an explicit V8 pool size (command line or NODE_OPTIONS). */
export function hasPoolSize(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const has = (a: string) => a === '--v8-pool-size' || a.startsWith('--v8-pool-size=');
  return execArgv.some(has) || (nodeOptions ?? '').split(/\s+/).some(has);
}

/** The flags for a forked worker: the primary's, plus the pool size unless one is set. */
export function workerExecArgv(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  return hasPoolSize(execArgv, nodeOptions) ? [...execArgv] : [...execArgv, V8_POOL_FLAG];
}

/** A line to log when V8's default pool outnumbers the CPUs this process may use; undefined otherwise. */
export function poolSizeAdvice(execArgv: readonly string[], nodeOptions: string | undefined, cpus = availableParallelism()): string | undefined {
  if (hasPoolSize(execArgv, nodeOptions) || cpus >= NODE_DEFAULT_POOL) return undefined;
  return `V8 runs ${NODE_DEFAULT_POOL} background threads on ${cpus} CPU${cpus === 1 ? '' : 's'}: their bursts delay requests; start node with ${V8_POOL_FLAG} (npm start and the Docker image do)`;
}
