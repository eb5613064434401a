/**
 * What the admin API may ask of the running gateway, without depending on the proxy's internals.
 */
import type { ConfigDocument } from '../config/schema.js';
import type { EventListener } from '../observability/events.js';
import type { ResilienceView, ShadowSample } from '../proxy/resilience-view.js';

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
  /** Live events: the data plane's transitions and each config version applied. Returns the unsubscribe function. */
  onEvent(listener: EventListener): () => void;
}
