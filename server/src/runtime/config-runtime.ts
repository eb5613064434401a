/**
 * Keeps the proxy's route table in step with the store: hands each new config version to the proxy plane,
 * which builds a snapshot off the hot path and swaps it in atomically. Reloads are coalesced (a burst of 100 changes builds at
 * most two snapshots back to back), and a store that cannot be read leaves the last good snapshot serving.
 */
import type { Logger } from '../observability/logger.js';
import type { ConfigDocument } from '../config/schema.js';
import { emptyDocument } from '../config/schema.js';
import type { ConfigStore } from '../store/config-store.js';
import type { GatewayRuntime, GatewayStatus, ReloadStats, SnapshotError } from './gateway-runtime.js';
import type { ProxyPlane, ResilienceView, ShadowSample } from '../proxy/proxy-plane.js';
import type { EventListener } from '../observability/events.js';
import type { RecentErrorsView } from '../observability/recent-errors.js';
import type { LiveListener } from '../observability/live-aggregates.js';
import { GATEHOUSE_VERSION } from '../version.js';
import type { SnapshotCacheWriter } from './snapshot-cache.js';

/** What the runtime reads from the store (a node started from its cache follows a store that connects later). */
export type RuntimeStore = Pick<ConfigStore, 'current' | 'onChange' | 'onWriting' | 'kind'>;

export interface ConfigRuntimeOptions {
  /** Receives every snapshot applied from the store (runtime/snapshot-cache.ts). */
  cache?: SnapshotCacheWriter;
}


/** How often a node that failed to read the store retries, and re-checks the version as a safety net. */
const RETRY_MS = 2_000;

export class ConfigRuntime implements GatewayRuntime {
  private readonly startedAt = new Date();
  private version = 0;
  private appliedAt: Date | null = null;
  private document: ConfigDocument = emptyDocument();
  private snapshotErrors: SnapshotError[] = [];
  private storeError: string | null = null;
  private routeCount = 0;
  /** Where the serving snapshot came from: the store, or the local cache while the store was unreachable. */
  private source: 'store' | 'cache' = 'store';
  private running: Promise<void> | null = null;
  private pending = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private closed = false;
  private readonly configListeners = new Set<EventListener>();
  private readonly reloads: ReloadStats = { applied: 0, store_errors: 0 };

  constructor(
    private readonly store: RuntimeStore,
    private readonly proxy: ProxyPlane,
    private readonly logger: Logger,
    private readonly nodeId: string,
    private readonly options: ConfigRuntimeOptions = {},
  ) {}

  /**
   * Loads the first snapshot and follows changes. When the store cannot be read, start-up fails unless a
   * `fallback` (the cached snapshot) is given: it is served and the store retried until it answers.
   */
  async start(fallback?: { document: ConfigDocument; version: number }): Promise<void> {
    try {
      await this.rebuild(true);
    } catch (err) {
      if (!fallback) throw err;
      await this.install(fallback.document, fallback.version, 'cache');
      this.scheduleRetry();
    }
    const offChange = this.store.onChange((version) => {
      if (version !== this.version || this.source === 'cache') void this.reload();
    });
    // This node's own writes: the proxy builds the snapshot while the store commits (ProxyPlane.prepare);
    // the reload after the commit then finds the same document in store.current() and only swaps it in.
    const offWriting = this.proxy.prepare && this.store.onWriting?.((document, committed) => this.proxy.prepare?.(document, committed));
    this.unsubscribe = () => {
      offChange();
      offWriting?.();
    };
  }

  ready(): boolean {
    return this.appliedAt !== null;
  }

  currentDocument(): ConfigDocument {
    return this.document;
  }

  /** Coalescing reload: callers await a rebuild that started after their call. */
  reload(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.pending = true;
      return this.running.then(() => this.running ?? undefined);
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.pending = false;
      await this.rebuild(false);
    } while (this.pending && !this.closed);
  }

  private async rebuild(initial: boolean): Promise<void> {
    let current: { document: ConfigDocument; version: number };
    try {
      current = await this.store.current();
      if (this.storeError) this.logger.info({ version: current.version }, 'config store reachable again');
      this.storeError = null;
    } catch (err) {
      this.storeError = (err as Error).message;
      this.reloads.store_errors++;
      if (initial) throw err;
      this.logger.error({ err: this.storeError }, 'config store unreachable; serving the last good snapshot');
      this.scheduleRetry();
      return;
    }
    // A node that started from its cache has applied nothing from the store yet, even at the same version.
    if (!initial && current.version === this.version && this.source === 'store') return;
    await this.install(current.document, current.version, 'store');
  }

  private async install(document: ConfigDocument, version: number, source: 'store' | 'cache'): Promise<void> {
    const t0 = performance.now();
    const errors = await this.proxy.apply(document, version);
    this.version = version;
    this.document = document;
    this.source = source;
    this.snapshotErrors = errors;
    this.routeCount = document.routes.length;
    this.appliedAt = new Date();
    this.reloads.applied++;
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    this.logger.info({ version, routes: this.routeCount, build_ms: ms, errors: errors.length, source }, 'config snapshot applied');
    for (const e of errors) this.logger.warn({ path: e.path }, `entity disabled: ${e.message}`);
    // Written after the swap, so the cache only ever holds a snapshot this node actually served.
    if (source === 'store') void this.options.cache?.write(document, version);
    const event = { kind: 'config', at: this.appliedAt.getTime(), version, errors: errors.length } as const;
    for (const l of this.configListeners) {
      try {
        l(event);
      } catch (err) {
        this.logger.error({ err }, 'config event listener failed');
      }
    }
  }

  resilience(): Promise<ResilienceView> {
    return this.proxy.resilience();
  }

  purgeCache(key?: string): Promise<number> {
    return this.proxy.purgeCache(key);
  }

  shadowSamples(route?: string): Promise<ShadowSample[]> {
    return this.proxy.shadowSamples(route);
  }

  clearShadowSamples(route?: string): Promise<number> {
    return this.proxy.clearShadowSamples(route);
  }

  metricsText(): Promise<string> {
    return this.proxy.metricsText();
  }

  reloadStats(): ReloadStats {
    return { ...this.reloads };
  }

  recentErrors(route?: string, limit?: number): Promise<RecentErrorsView> {
    return this.proxy.recentErrors(route, limit);
  }

  onLive(listener: LiveListener): () => void {
    return this.proxy.onLive(listener);
  }

  onEvent(listener: EventListener): () => void {
    const off = this.proxy.onEvent(listener);
    this.configListeners.add(listener);
    return () => {
      off();
      this.configListeners.delete(listener);
    };
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.reload();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  status(): GatewayStatus {
    const stats = this.proxy.stats();
    return {
      version: GATEHOUSE_VERSION,
      node_id: this.nodeId,
      started_at: this.startedAt.toISOString(),
      uptime_seconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      config_version: this.version,
      config_applied_at: this.appliedAt?.toISOString() ?? null,
      config_source: this.store.kind,
      store_reachable: this.storeError === null,
      store_error: this.storeError,
      snapshot_errors: this.snapshotErrors,
      connections: { active: stats.active, total: stats.total },
      requests_total: stats.requests,
      routes: this.routeCount,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.running;
    await this.options.cache?.flush();
  }
}
