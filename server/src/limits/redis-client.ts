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
 *
 * `REDIS_URL=redis+cluster://[user:password@]host:port[,host:port…]` (`rediss+cluster://` for TLS) makes
 * createRedisConnection return an ioredis Cluster with the same guarantees: offline queue off at the
 * cluster level (no command waits for the slot map), command and connect timeouts on every node
 * connection, reconnection forever. Limit keys carry a `{hash tag}` and every script call touches one
 * slot (limits/redis-store.ts LimitBatcher groups per key on a cluster).
 */
import { Cluster, Redis } from 'ioredis';
import type { PluginLogger } from '../plugins/types.js';

/** A standalone client or a Redis Cluster client: what the limits (and the admin throttler) run on. */
export type RedisConnection = Redis | Cluster;

export interface RedisClusterTarget {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

const CLUSTER_SCHEMES = ['redis+cluster://', 'rediss+cluster://'];

export function isClusterUrl(url: string): boolean {
  return url.startsWith(CLUSTER_SCHEMES[0]!) || url.startsWith(CLUSTER_SCHEMES[1]!);
}

/**
 * Parses `redis+cluster://[user:password@]host:port[,host:port…][/]` (seed nodes; the rest of the
 * cluster is discovered from them). Throws with a readable message on anything else.
 */
export function parseClusterUrl(url: string): RedisClusterTarget {
  const tls = url.startsWith(CLUSTER_SCHEMES[1]!);
  if (!isClusterUrl(url)) throw new Error('a Redis Cluster URL starts with redis+cluster:// or rediss+cluster://');
  let rest = url.slice(tls ? CLUSTER_SCHEMES[1]!.length : CLUSTER_SCHEMES[0]!.length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest.includes('/') || rest.includes('?')) throw new Error('a Redis Cluster URL takes no database or options (a cluster has only database 0)');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const info = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = info.indexOf(':');
    const user = decodeURIComponent(colon === -1 ? info : info.slice(0, colon));
    username = user === '' ? undefined : user;
    password = colon === -1 ? undefined : decodeURIComponent(info.slice(colon + 1));
  }
  const nodes: { host: string; port: number }[] = [];
  for (const hp of rest.split(',')) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(hp.trim());
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw new Error(`\`${hp}\` is not host:port`);
    const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
    nodes.push({ host, port });
  }
  return { nodes, username, password, tls };
}

export interface RedisClientOptions {
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 6), 2_000);
}

/**
 * The node's connection for limits: a Cluster client for `redis+cluster://` URLs, a standalone one
 * otherwise (same options either way).
 */
export function createRedisConnection(url: string, logger: PluginLogger, opts: RedisClientOptions = {}): RedisConnection {
  if (!isClusterUrl(url)) return createRedisClient(url, logger, opts);
  const target = parseClusterUrl(url);
  const cluster = new Cluster(target.nodes, {
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnectDelay,
    // A node's connection queues while it reconnects (ioredis forces that); the commandTimeout below and
    // each limit's own deadline still bound how long a request waits.
    redisOptions: {
      username: target.username,
      password: target.password,
      tls: target.tls ? {} : undefined,
      commandTimeout: opts.commandTimeoutMs ?? 1_000,
      connectTimeout: opts.connectTimeoutMs ?? 2_000,
      maxRetriesPerRequest: 0,
    },
    clusterNodeRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: opts.connectTimeoutMs ?? 2_000,
    enableAutoPipelining: true,
    // The auto-pipeline routes a custom command by its first argument, which for the variadic limit
    // script (redis-store.ts) is the key count, not a key: such pipelines would be refused as mixing
    // slots. Sent on its own, the command is routed by its real keys.
    autoPipeliningIgnoredCommands: ['ghLimit'],
    scaleReads: 'master',
  });
  watchReachability(cluster, logger);
  return cluster;
}

/**
 * `redis://` URL of a cluster URL's first seed node. Pub/sub needs no cluster client: PUBLISH on any node
 * reaches subscribers on every node.
 */
export function seedNodeUrl(url: string): string {
  if (!isClusterUrl(url)) return url;
  const t = parseClusterUrl(url);
  const n = t.nodes[0]!;
  const auth = t.password !== undefined ? `${encodeURIComponent(t.username ?? '')}:${encodeURIComponent(t.password)}@` : t.username !== undefined ? `${encodeURIComponent(t.username)}@` : '';
  return `${t.tls ? 'rediss' : 'redis'}://${auth}${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`;
}

/** A standalone client; given a cluster URL, a client of its first seed node (see seedNodeUrl). */
export function createRedisClient(url: string, logger: PluginLogger, opts: RedisClientOptions = {}): Redis {
  const client = new Redis(seedNodeUrl(url), {
    enableOfflineQueue: false,
    commandTimeout: opts.commandTimeoutMs ?? 1_000,
    connectTimeout: opts.connectTimeoutMs ?? 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: reconnectDelay,
    enableAutoPipelining: true,
    // Limits keep working after a failover to a replica promoted to primary.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  });
  watchReachability(client, logger);
  return client;
}

function watchReachability(client: RedisConnection, logger: PluginLogger): void {
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
}

/** Waits until the client is ready, at most `ms`; start-up continues either way (fault policies cover it). */
export function waitReady(client: RedisConnection, ms: number): Promise<boolean> {
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
