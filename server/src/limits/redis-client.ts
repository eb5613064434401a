/**
 * The one Redis connection a node shares for limits (and the admin throttler). Settings chosen for a
 * data path that must never wait on Redis:
 *  - enableOfflineQueue: false  a command while disconnected fails at once (the limit's fault policy
 *                               decides), instead of queueing until reconnect and hanging requests;
 *  - commandTimeout             a backstop for commands a hung Redis never answers (limits also carry
 *                               their own, shorter `redis_timeout_ms`);
 *  - maxRetriesPerRequest: 0    a command is not replayed on a new connection: it already timed out;
 *  - retryStrategy              reconnect forever with capped backoff, so recovery needs no restart;
 *  - enableAutoPipelining       concurrent requests' scripts share one write (fewer syscalls).
 */
import { Redis } from 'ioredis';
import type { PluginLogger } from '../plugins/types.js';

export interface RedisClientOptions {
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 6), 2_000);
}

export function createRedisClient(url: string, logger: PluginLogger, opts: RedisClientOptions = {}): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: opts.commandTimeoutMs ?? 1_000,
    connectTimeout: opts.connectTimeoutMs ?? 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: reconnectDelay,
    enableAutoPipelining: true,
    // Limits keep working after a failover to a replica promoted to primary.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  });
  // Without a listener ioredis prints every connection error; log state changes once each instead.
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.warn({ err: err.message }, 'redis unreachable; limits follow their fault policy until it is back');
  });
  client.on('ready', () => {
    if (down) logger.info({}, 'redis reachable again');
    down = false;
  });
  return client;
}

/** Waits until the client is ready, at most `ms`; start-up continues either way (fault policies cover it). */
export function waitReady(client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    client.on('ready', onReady);
  });
}
