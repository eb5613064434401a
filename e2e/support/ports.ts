/**
 * Free loopback ports for the processes an e2e test starts.
 *
 * They are taken below the kernel's ephemeral range (32768–60999 by default). A port the OS hands out
 * for `listen(0)` comes from that range, and so do the source ports of outgoing connections: between the
 * moment a test found such a port free and the moment its gateway bound it (seconds, with PostgreSQL and
 * Pebble started in between), a connection to PostgreSQL or Redis could take it, and the gateway failed
 * with EADDRINUSE. Below the range only a listener can take a port, and the test files run one at a time.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const HIGH = ephemeralLow();
const LOW = HIGH - 10_000;
/** Ports handed out by this process; each is given once. */
const handed = new Set<number>();
// A random start: consecutive test files (processes) do not begin on the ports the last one used.
let next = LOW + Math.floor(Math.random() * (HIGH - LOW));

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < HIGH - LOW; tries++) {
    const port = next;
    next = next + 1 >= HIGH ? LOW : next + 1;
    if (handed.has(port)) continue;
    if (await bindable(port)) {
      handed.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port in ${LOW}-${HIGH - 1}`);
}
