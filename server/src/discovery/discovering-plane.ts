/**
 * A ProxyPlane in front of the real one that merges discovered targets into every document it applies, and
 * re-applies the current document when discovered targets change. A discovery change thus reaches the proxy
 * the way a config change does (a new snapshot, built in the worker and swapped atomically; pools of
 * unchanged targets stay warm) without a config version being written: the snapshot keeps the version
 * of the document it was built from.
 *
 * Applies are serialized, so a discovery re-apply can never overtake (and undo) a newer config version.
 */
import type { ConfigDocument } from '../config/schema.js';
import type { ProxyPlane, ProxyStats, ResilienceView, ShadowSample } from '../proxy/proxy-plane.js';
import type { SnapshotError } from '../runtime/gateway-runtime.js';
import type { EventListener } from '../observability/events.js';
import type { LiveListener } from '../observability/live-aggregates.js';
import type { RecentErrorsView } from '../observability/recent-errors.js';
import type { DiscoveryLogger, DiscoveryRegistry } from './registry.js';

export class DiscoveringProxyPlane implements ProxyPlane {
  private current: { document: ConfigDocument; version: number } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private appliedSignature: string | undefined;

  constructor(
    private readonly inner: ProxyPlane,
    private readonly registry: DiscoveryRegistry,
    private readonly logger: DiscoveryLogger,
  ) {
    registry.onChange(() => this.reapply());
  }

  async apply(document: ConfigDocument, version: number): Promise<SnapshotError[]> {
    this.current = { document, version };
    // Watches of new discovery blocks get a moment to answer, so the new version starts with their targets.
    await this.registry.reconcile(document);
    return this.serially(() => this.applyCurrent());
  }

  /** Re-applies the current document with the latest discovered targets; false when that state is already live. */
  private reapply(): Promise<boolean> {
    return this.serially(async () => {
      if (!this.current || this.registry.signature() === this.appliedSignature) return false;
      const errors = await this.applyCurrent();
      for (const e of errors) this.logger.warn({ path: e.path }, `entity disabled after a discovery change: ${e.message}`);
      return true;
    });
  }

  private async applyCurrent(): Promise<SnapshotError[]> {
    const { document, version } = this.current!;
    const signature = this.registry.signature();
    const errors = await this.inner.apply(this.registry.merge(document), version);
    this.appliedSignature = signature;
    return errors;
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  listen(host: string, port: number): Promise<void> {
    return this.inner.listen(host, port);
  }
  close(graceMs: number): Promise<void> {
    return this.inner.close(graceMs);
  }
  stats(): ProxyStats {
    return this.inner.stats();
  }
  resilience(): Promise<ResilienceView> {
    return this.inner.resilience();
  }
  purgeCache(key?: string): Promise<number> {
    return this.inner.purgeCache(key);
  }
  shadowSamples(route?: string): Promise<ShadowSample[]> {
    return this.inner.shadowSamples(route);
  }
  clearShadowSamples(route?: string): Promise<number> {
    return this.inner.clearShadowSamples(route);
  }
  metricsText(): Promise<string> {
    return this.inner.metricsText();
  }
  recentErrors(route?: string, limit?: number): Promise<RecentErrorsView> {
    return this.inner.recentErrors(route, limit);
  }
  onEvent(listener: EventListener): () => void {
    return this.inner.onEvent(listener);
  }
  onLive(listener: LiveListener): () => void {
    return this.inner.onLive(listener);
  }
}
