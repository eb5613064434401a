/**
 * Runs the discovery watches of a node and keeps each upstream's last known discovered targets.
 *
 * - One watch per upstream with a `discovery` block, started, kept or replaced as config versions arrive
 *   (`reconcile`); a changed block starts from nothing, an unchanged one keeps its targets and connection.
 * - A failure never removes targets: the sink's `fail` only records the error (`keep last known`).
 * - Changes are coalesced: whatever number of updates arrive within `coalesceMs` (and while the previous apply
 *   is still running) wake the proxy once, and only when the merged target set really changed.
 *
 * It lives in the admin (control) thread; the proxy worker only ever sees documents with the targets merged in.
 */
import type { ConfigDocument, UpstreamConfig } from '../config/schema.js';
import type { DiscoveryConfig } from './schema.js';
import type { DiscoveredTarget, DiscoveryDefaults, DiscoveryProvider, DiscoverySink, DiscoveryStatus, DiscoveryView, DiscoveryWatch } from './types.js';

export interface DiscoveryLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Same cap as TargetSchema's `targets` (maxItems): a provider cannot make an upstream larger than config could. */
export const MAX_DISCOVERED_TARGETS = 1000;

export interface DiscoveryRegistryOptions {
  providers: readonly DiscoveryProvider[];
  logger: DiscoveryLogger;
  defaults?: DiscoveryDefaults;
  /** Window in which discovered changes are folded into one snapshot apply. */
  coalesceMs?: number;
  /** How long `reconcile` waits for new watches' first answers, so a new config starts with its targets. */
  firstAnswerMs?: number;
}

/** `host:port`, bracketing IPv6 literals as TargetSchema requires. */
export function formatTarget(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The next re-resolution delay for a TTL (seconds), clamped to the block's bounds (milliseconds). */
export function clampRefresh(ttlSeconds: number, minMs: number, maxMs: number): number {
  const ms = Number.isFinite(ttlSeconds) && ttlSeconds > 0 ? ttlSeconds * 1000 : 0;
  return Math.min(Math.max(ms, minMs), Math.max(minMs, maxMs));
}

/** Delay before retrying after `failures` failures in a row: doubling from `minMs`, at most `maxMs`. */
export function retryDelay(failures: number, minMs: number, maxMs: number): number {
  return Math.min(Math.max(minMs, maxMs), minMs * 2 ** Math.min(Math.max(failures - 1, 0), 10));
}

const TARGET_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/;

/** Sorted, de-duplicated (first wins), valid and capped: two answers with the same targets compare equal. */
export function normalizeTargets(targets: readonly DiscoveredTarget[]): DiscoveredTarget[] {
  const seen = new Map<string, DiscoveredTarget>();
  for (const t of targets) {
    if (!TARGET_PATTERN.test(t.target) || seen.has(t.target)) continue;
    const port = Number(t.target.slice(t.target.lastIndexOf(':') + 1));
    if (port < 1 || port > 65535) continue;
    seen.set(t.target, { target: t.target, weight: Math.max(0, Math.min(65535, Math.round(t.weight))) });
  }
  return [...seen.values()].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)).slice(0, MAX_DISCOVERED_TARGETS);
}

function signatureOf(targets: readonly DiscoveredTarget[]): string {
  return targets.map((t) => `${t.target}=${t.weight}`).join(',');
}

/**
 * The document the proxy runs: each upstream's configured targets, then its discovered ones (a configured
 * target wins over a discovered one with the same address). Returns `document` itself when nothing is added.
 */
export function mergeDiscovered(document: ConfigDocument, discovered: ReadonlyMap<string, readonly DiscoveredTarget[]>): ConfigDocument {
  let changed = false;
  const upstreams = document.upstreams.map((u): UpstreamConfig => {
    const extra = discovered.get(u.name);
    if (!extra || extra.length === 0) return u;
    const configured = new Set(u.targets.map((t) => t.target));
    const added = extra.filter((t) => !configured.has(t.target)).map((t) => ({ target: t.target, weight: t.weight, tags: [] }));
    if (added.length === 0) return u;
    changed = true;
    return { ...u, targets: [...u.targets, ...added] };
  });
  return changed ? { ...document, upstreams } : document;
}

class Entry {
  watch: DiscoveryWatch | undefined;
  targets: DiscoveredTarget[] = [];
  signature = '';
  answered = false;
  state: DiscoveryStatus['state'] = 'starting';
  error: string | null = null;
  errorAt: Date | null = null;
  failures = 0;
  lastSuccessAt: Date | null = null;
  lastChangeAt: Date | null = null;
  changes = 0;
  nextRefreshAt: Date | null = null;
  skipped = 0;
  note: string | null = null;
  stopped = false;
  private firstAnswer: (() => void) | undefined;
  readonly answeredOnce: Promise<void>;

  constructor(
    readonly upstream: string,
    readonly config: DiscoveryConfig,
    readonly key: string,
  ) {
    this.answeredOnce = new Promise((resolve) => (this.firstAnswer = resolve));
  }

  markAnswered(): void {
    this.answered = true;
    this.firstAnswer?.();
    this.firstAnswer = undefined;
  }

  status(): DiscoveryStatus {
    const iso = (d: Date | null) => (d ? d.toISOString() : null);
    return {
      upstream: this.upstream,
      provider: this.config.provider,
      state: this.state,
      targets: this.targets.map((t) => ({ ...t })),
      error: this.error,
      error_at: iso(this.errorAt),
      consecutive_failures: this.failures,
      last_success_at: iso(this.lastSuccessAt),
      last_change_at: iso(this.lastChangeAt),
      changes: this.changes,
      next_refresh_at: iso(this.nextRefreshAt),
      skipped: this.skipped,
      note: this.note,
    };
  }
}

export class DiscoveryRegistry implements DiscoveryView {
  private readonly providers: Map<string, DiscoveryProvider>;
  private readonly entries = new Map<string, Entry>();
  private readonly coalesceMs: number;
  private readonly firstAnswerMs: number;
  private listener: (() => Promise<boolean>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  private dirty = false;
  private closed = false;
  private applyCount = 0;

  constructor(private readonly opts: DiscoveryRegistryOptions) {
    this.providers = new Map(opts.providers.map((p) => [p.name, p]));
    this.coalesceMs = opts.coalesceMs ?? 250;
    this.firstAnswerMs = opts.firstAnswerMs ?? 3_000;
  }

  /**
   * Called (coalesced) when discovered targets changed; the discovering plane re-applies the document and
   * resolves true when it did (false: that state was already applied).
   */
  onChange(listener: () => Promise<boolean>): void {
    this.listener = listener;
  }

  /**
   * Starts, keeps or replaces watches to match the document's upstreams. Resolves once every new watch
   * answered (or failed) for the first time, or after `firstAnswerMs`, whichever comes first.
   */
  async reconcile(document: ConfigDocument): Promise<void> {
    if (this.closed) return;
    const wanted = new Map<string, DiscoveryConfig>();
    for (const u of document.upstreams) if (u.discovery) wanted.set(u.name, u.discovery);
    const stops: Promise<void>[] = [];
    for (const [name, entry] of this.entries) {
      const config = wanted.get(name);
      if (config && JSON.stringify(config) === entry.key) continue;
      this.entries.delete(name);
      stops.push(this.stopEntry(entry));
    }
    const started: Entry[] = [];
    for (const [name, config] of wanted) {
      if (this.entries.has(name)) continue;
      const entry = new Entry(name, config, JSON.stringify(config));
      this.entries.set(name, entry);
      this.start(entry);
      started.push(entry);
    }
    await Promise.all(stops);
    if (started.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(started.map((e) => e.answeredOnce)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.firstAnswerMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  /** The discovered targets per upstream, as merged into the next snapshot. */
  discovered(): Map<string, readonly DiscoveredTarget[]> {
    const out = new Map<string, readonly DiscoveredTarget[]>();
    for (const [name, e] of this.entries) if (e.targets.length) out.set(name, e.targets);
    return out;
  }

  /** Identifies the discovered state; the plane skips an apply when it has already applied this one. */
  signature(): string {
    return [...this.entries.values()].map((e) => `${e.upstream}:${e.signature}`).join('|');
  }

  merge(document: ConfigDocument): ConfigDocument {
    return mergeDiscovered(document, this.discovered());
  }

  list(): DiscoveryStatus[] {
    return [...this.entries.values()].map((e) => e.status()).sort((a, b) => (a.upstream < b.upstream ? -1 : 1));
  }

  get(upstream: string): DiscoveryStatus | undefined {
    return this.entries.get(upstream)?.status();
  }

  applies(): number {
    return this.applyCount;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((e) => this.stopEntry(e)));
  }

  private start(entry: Entry): void {
    const provider = this.providers.get(entry.config.provider);
    const sink = this.sinkFor(entry);
    if (!provider) {
      sink.fail(new Error(`no discovery provider '${entry.config.provider}' on this node`));
      return;
    }
    try {
      entry.watch = provider.watch(entry.upstream, entry.config, sink, this.opts.defaults ?? {});
    } catch (err) {
      sink.fail(err as Error);
    }
  }

  private async stopEntry(entry: Entry): Promise<void> {
    entry.stopped = true;
    entry.markAnswered();
    try {
      await entry.watch?.stop();
    } catch (err) {
      this.opts.logger.warn({ upstream: entry.upstream, err: (err as Error).message }, 'discovery watch did not stop cleanly');
    }
    // Its targets leave the merged document with the entry; wake the proxy if it was serving any.
    if (entry.targets.length && !this.closed) this.schedule();
  }

  private sinkFor(entry: Entry): DiscoverySink {
    const log = this.opts.logger;
    return {
      update: (targets, info) => {
        if (entry.stopped) return;
        const next = normalizeTargets(targets);
        const sig = signatureOf(next);
        const now = new Date();
        if (entry.state === 'error') log.info({ upstream: entry.upstream, provider: entry.config.provider, targets: next.length }, 'discovery recovered');
        entry.state = 'ok';
        entry.error = null;
        entry.failures = 0;
        entry.lastSuccessAt = now;
        entry.nextRefreshAt = info?.refreshInMs !== undefined ? new Date(now.getTime() + info.refreshInMs) : null;
        entry.skipped = info?.skipped ?? 0;
        entry.note = info?.note ?? null;
        entry.markAnswered();
        if (sig === entry.signature && entry.changes > 0) return;
        const first = entry.changes === 0;
        entry.targets = next;
        entry.signature = sig;
        entry.changes++;
        entry.lastChangeAt = now;
        log.info({ upstream: entry.upstream, provider: entry.config.provider, targets: next.map((t) => t.target) }, first ? 'discovered targets' : 'discovered targets changed');
        this.schedule();
      },
      fail: (error, info) => {
        if (entry.stopped) return;
        const now = new Date();
        // One log line per outage, not one per retry.
        if (entry.state !== 'error') {
          log.warn({ upstream: entry.upstream, provider: entry.config.provider, err: error.message, kept_targets: entry.targets.length }, 'discovery failed; keeping the last known targets');
        }
        entry.state = 'error';
        entry.error = error.message;
        entry.errorAt = now;
        entry.failures++;
        entry.nextRefreshAt = info?.retryInMs !== undefined ? new Date(now.getTime() + info.retryInMs) : null;
        entry.markAnswered();
      },
    };
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer || this.flushing) {
      this.dirty = true;
      return;
    }
    this.timer = setTimeout(() => void this.flush(), this.coalesceMs);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    this.dirty = false;
    if (!this.listener || this.closed) return;
    this.flushing = true;
    try {
      if (await this.listener()) this.applyCount++;
    } catch (err) {
      this.opts.logger.error({ err: (err as Error).message }, 'applying discovered targets failed');
    } finally {
      this.flushing = false;
    }
    if (this.dirty) this.schedule();
  }
}
