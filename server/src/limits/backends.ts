/**
 * Where limiter state lives, process-wide: one in-memory store (so counters survive config snapshot
 * rebuilds) and, when REDIS_URL is set, one Redis store over the node's shared client. main.ts attaches
 * Redis at start; tests can pass their own backends through PluginDeps.limiters.
 */
import type { RedisConnection } from './redis-client.js';
import { LocalConcurrency, LocalLimiterStore } from './local-store.js';
import { RedisLimiterStore } from './redis-store.js';

export interface LimiterBackends {
  readonly local: LocalLimiterStore;
  readonly concurrency: LocalConcurrency;
  /** Undefined when no Redis is configured: a `redis` policy limit then follows its fault policy. */
  redis: RedisLimiterStore | undefined;
  /** Requests let through because Redis failed (fail-open), per process; shown in logs and tests. */
  failOpenCount: number;
  /** Requests refused because Redis failed (fail-closed). */
  failClosedCount: number;
}

export function createBackends(redis?: RedisConnection): LimiterBackends {
  return {
    local: new LocalLimiterStore(),
    concurrency: new LocalConcurrency(),
    redis: redis ? new RedisLimiterStore(redis) : undefined,
    failOpenCount: 0,
    failClosedCount: 0,
  };
}

/** The process's backends (lazily created so importing this module starts no timer). */
let processBackends: LimiterBackends | undefined;
export function defaultBackends(): LimiterBackends {
  return (processBackends ??= createBackends());
}

/** Called by main.ts once the shared client exists (and with undefined on stop). */
export function attachRedis(client: RedisConnection | undefined): void {
  defaultBackends().redis = client ? new RedisLimiterStore(client) : undefined;
}
