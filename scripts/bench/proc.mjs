// What the Node benchmark scripts read from /proc: a process's CPU time, the machine's steal.
import { readFileSync } from 'node:fs';

/** Milliseconds per clock tick of /proc (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

/** CPU time of a process so far, all its threads (user + system), in ms. */
export function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

/** Time the hypervisor has taken from this machine's cores so far (all cores summed), in ms. */
export function stealMs() {
  return Number(readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)[8]) * TICK_MS;
}
