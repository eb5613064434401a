/**
 * A small but real GatewayRuntime for admin API tests: it reads the store on every reload (so status
 * and currentDocument reflect what was committed) and counts reloads, without running a proxy. Resilience
 * state comes from this thread's real registries (breakers, target health, cache, traffic-split and
 * mirror counters, shadow samples), as with an in-process proxy plane, so tests drive it by driving those.
 */
import { emptyDocument, type ConfigDocument } from '../../config/schema.js';
import type { GatewayRuntime, GatewayStatus, ReloadStats } from '../../runtime/gateway-runtime.js';
import type { ConfigStore } from '../../store/config-store.js';
import type { EventListener } from '../../observability/events.js';
import { recentErrors, type RecentErrorsView } from '../../observability/recent-errors.js';
import type { LiveListener, LiveSecond } from '../../observability/live-aggregates.js';
import { clearShadowSamples, purgeCache, resilienceView, shadowSamples, subscribeResilienceEvents, type ResilienceView, type ShadowSample } from '../../proxy/resilience-view.js';

export class RecordingRuntime implements GatewayRuntime {
  reloads = 0;
  /** Version the runtime last loaded; tests compare it with the store's to prove reload ran before the answer. */
  loadedVersion = 0;
  private document: ConfigDocument = emptyDocument();
  private appliedAt: Date | null = null;
  private readonly startedAt = new Date();
  /** Lets a test simulate a node whose first snapshot has not been built. */
  forceNotReady = false;
  /** What metricsText() answers: a test sets a real RequestMetrics fed by a real proxy; none: empty, as with metrics off. */
  requestMetrics: { text(): Promise<string> } | undefined = undefined;
  private readonly configListeners = new Set<EventListener>();
  private readonly liveListeners = new Set<LiveListener>();

  constructor(private readonly store: ConfigStore) {}

  async reload(): Promise<void> {
    const { document, version } = await this.store.current();
    this.document = document;
    this.loadedVersion = version;
    this.appliedAt = new Date();
    this.reloads++;
    for (const l of this.configListeners) l({ kind: 'config', at: this.appliedAt.getTime(), version, errors: 0 });
  }

  resilience(): Promise<ResilienceView> {
    return Promise.resolve(resilienceView());
  }

  purgeCache(key?: string): Promise<number> {
    return purgeCache(key);
  }

  shadowSamples(route?: string): Promise<ShadowSample[]> {
    return Promise.resolve(shadowSamples(route));
  }

  clearShadowSamples(route?: string): Promise<number> {
    return Promise.resolve(clearShadowSamples(route));
  }

  metricsText(): Promise<string> {
    return this.requestMetrics?.text() ?? Promise.resolve('');
  }

  reloadStats(): ReloadStats {
    return { applied: this.reloads, store_errors: 0 };
  }

  /** This thread's error store, as an in-process proxy plane reads it. */
  recentErrors(route?: string, limit?: number): Promise<RecentErrorsView> {
    return Promise.resolve(recentErrors.view(route, limit));
  }

  onLive(listener: LiveListener): () => void {
    this.liveListeners.add(listener);
    return () => {
      this.liveListeners.delete(listener);
    };
  }

  /** Delivers a second as the proxy worker would; tests build it with a real LiveAggregator. */
  emitLive(second: LiveSecond): void {
    for (const l of this.liveListeners) l(second);
  }

  onEvent(listener: EventListener): () => void {
    const off = subscribeResilienceEvents(listener);
    this.configListeners.add(listener);
    return () => {
      off();
      this.configListeners.delete(listener);
    };
  }

  ready(): boolean {
    return !this.forceNotReady && this.appliedAt !== null;
  }

  currentDocument(): ConfigDocument {
    return this.document;
  }

  status(): GatewayStatus {
    return {
      version: '0.0.0-test',
      node_id: 'test-node',
      started_at: this.startedAt.toISOString(),
      uptime_seconds: Math.floor((Date.now() - this.startedAt.getTime()) / 1000),
      config_version: this.loadedVersion,
      config_applied_at: this.appliedAt?.toISOString() ?? null,
      config_source: this.store.kind,
      store_reachable: true,
      store_error: null,
      snapshot_errors: [],
      connections: { active: 0, total: 0 },
      requests_total: 0,
      routes: this.document.routes.length,
    };
  }
}
