/**
 * A ProxyPlane in front of the real one that merges discovered targets into every document it applies, and
 * re-applies the current document when discovered targets change. A discovery change thus reaches the proxy
 * the way a config change does (a new snapshot, built in the worker and swapped atomically; pools of
 * unchanged targets stay warm) without a config version being written: the snapshot keeps the version
 * of the document it was built from.
 *
 * Applies are serialized, so a discovery re-apply can never overtake (and undo) a newer config version.
 *
 * Document sources (types.ts `DocumentSource`, e.g. kubernetes-routes.ts) add entities the same way: added
 * before discovery is reconciled (their upstreams may carry discovery blocks), re-applied when they change.
 */
import type { ConfigDocument } from '../config/schema.js';
import type { ProxyPlane, ProxyStats, ResilienceView, ShadowSample } from '../proxy/proxy-plane.js';
import type { SnapshotError } from '../runtime/gateway-runtime.js';
import type { EventListener } from '../observability/events.js';
import type { LiveListener } from '../observability/live-aggregates.js';
import type { RecentErrorsView } from '../observability/recent-errors.js';
import type { DiscoveryLogger, DiscoveryRegistry } from './registry.js';
import type { DocumentSource } from './types.js';

export class DiscoveringProxyPlane implements ProxyPlane {
  private current: { document: ConfigDocument; version: number } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private appliedSignature: string | undefined;

  constructor(
    private readonly inner: ProxyPlane,
    private readonly registry: DiscoveryRegistry,
    private readonly logger: DiscoveryLogger,
    private readonly sources: readonly DocumentSource[] = [],
  ) {
    registry.onChange(() => this.reapply());
    for (const source of sources) {
      source.onChange(() => {
        this.sourceChanged().catch((err: unknown) => logger.error({ source: source.name, err: (err as Error).message }, 'applying a document source change failed'));
      });
    }
  }

  /** What prepare() handed the inner plane: apply() of the same document, nothing discovered since, passes the same object. */
  private prepared: { document: ConfigDocument; signature: string; merged: ConfigDocument } | undefined;

  prepare(document: ConfigDocument, committed: Promise<boolean>): void {
    if (!this.inner.prepare) return;
    const merged = this.registry.merge(this.withSources(document));
    this.prepared = { document, signature: this.signature(), merged };
    this.inner.prepare(merged, committed);
    void committed.then((ok) => {
      if (!ok && this.prepared?.document === document) this.prepared = undefined;
    });
  }

  async apply(document: ConfigDocument, version: number): Promise<SnapshotError[]> {
    this.current = { document, version };
    await Promise.all(this.sources.map((s) => s.ready()));
    // Watches of new discovery blocks get a moment to answer, so the new version starts with their targets.
    await this.registry.reconcile(this.withSources(document));
    return this.serially(() => this.applyCurrent());
  }

  /** Re-applies the current document with the latest discovered targets; false when that state is already live. */
  private reapply(): Promise<boolean> {
    return this.serially(async () => {
      if (!this.current || this.signature() === this.appliedSignature) return false;
      const errors = await this.applyCurrent();
      for (const e of errors) this.logger.warn({ path: e.path }, `entity disabled after a discovery change: ${e.message}`);
      return true;
    });
  }

  private async applyCurrent(): Promise<SnapshotError[]> {
    const { document, version } = this.current!;
    const signature = this.signature();
    let merged: ConfigDocument | undefined;
    if (this.prepared?.document === document) {
      // Unless a new discovery block answered in apply()'s reconcile, or targets moved: the merge is stale then.
      if (this.prepared.signature === signature) merged = this.prepared.merged;
      this.prepared = undefined;
    }
    merged ??= this.registry.merge(this.withSources(document));
    const errors = await this.inner.apply(merged, version);
    this.appliedSignature = signature;
    return errors;
  }

  /** The stored document with every source's entities added. */
  private withSources(document: ConfigDocument): ConfigDocument {
    return this.sources.reduce((d, s) => s.contribute(d), document);
  }

  private signature(): string {
    return this.sources.reduce((sig, s) => `${sig}\n${s.name}:${s.signature()}`, this.registry.signature());
  }

  /** A source's entities changed: their discovery blocks are reconciled, then the document re-applied. */
  private async sourceChanged(): Promise<void> {
    if (!this.current) return;
    await this.registry.reconcile(this.withSources(this.current.document));
    await this.reapply();
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
