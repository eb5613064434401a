/**
 * What the admin API may ask of the running gateway, without depending on the proxy's internals.
 */
import type { ConfigDocument } from '../config/schema.js';
import type { EventListener } from '../observability/events.js';
import type { LiveListener } from '../observability/live-aggregates.js';
import type { ResilienceView, ShadowSample } from '../proxy/resilience-view.js';
import type { RecentErrorsView } from '../observability/recent-errors.js';

export interface SnapshotError {
  /** JSON Pointer of the entity that was disabled, e.g. `/plugins/2`. */
  path: string;
  message: string;
}

export interface GatewayStatus {
  version: string;
  node_id: string;
  started_at: string;
  uptime_seconds: number;
  config_version: number;
  config_applied_at: string | null;
  config_source: 'pglite' | 'postgres' | 'file';
  store_reachable: boolean;
  store_error: string | null;
  /** Entities the snapshot builder disabled instead of failing the whole config. */
  snapshot_errors: SnapshotError[];
  connections: { active: number; total: number };
  requests_total: number;
  routes: number;
}

/** This node's config reloads since start (GET /metrics). */
export interface ReloadStats {
  /** Snapshots built and swapped in, the first one included. */
  applied: number;
  /** Reads of the config store that failed (the last good snapshot kept serving). */
  store_errors: number;
}

export interface GatewayRuntime {
  status(): GatewayStatus;
  /** True once the first snapshot serves traffic. */
  ready(): boolean;
  /** Rebuilds from the store now (used after a local write, so the answer reflects the new config). */
  reload(): Promise<void>;
  /** The document the current snapshot was built from. */
  currentDocument(): ConfigDocument;
  /** Breakers, target health, cache and shedding counters of the data plane. */
  resilience(): Promise<ResilienceView>;
  /** Purges the proxy cache (one key, or all); resolves with the number of entries removed. */
  purgeCache(key?: string): Promise<number>;
  /** The data plane's shadow-comparison records (one route, or all), newest first. */
  shadowSamples(route?: string): Promise<ShadowSample[]>;
  /** Forgets shadow-comparison records (one route, or all); resolves with the number removed. */
  clearShadowSamples(route?: string): Promise<number>;
  /** The data plane's request metrics as Prometheus text (observability/request-metrics.ts); empty when off. */
  metricsText(): Promise<string>;
  reloadStats(): ReloadStats;
  /** The data plane's recent failed requests (one route, or all; at most `limit`), newest first, with counts per code. */
  recentErrors(route?: string, limit?: number): Promise<RecentErrorsView>;
  /** Live events: the data plane's transitions and each config version applied. Returns the unsubscribe function. */
  onEvent(listener: EventListener): () => void;
  /** This node's per-second aggregates from the data plane (the live stream); returns the unsubscribe function. */
  onLive(listener: LiveListener): () => void;
}
