/**
 * The store as the runtime sees it on a node that started from its snapshot cache because PostgreSQL was
 * unreachable: reads fail (the runtime keeps serving the cached snapshot and retries) until `connect`
 * succeeds, then everything goes to the real store and the listeners hear its current version, so the node
 * follows the cluster from that moment without a restart.
 */
import type { ConfigDocument } from '../config/schema.js';
import type { ConfigStore, WritingListener } from '../store/config-store.js';
import { StoreUnavailableError } from '../store/config-store.js';
import type { RuntimeStore } from './config-runtime.js';

type Unsubscribe = () => void;

/** Listeners kept with their subscription to the store, if there is one yet; subscribed again on `connect`. */
class Subscriptions<L> {
  private readonly entries = new Map<L, Unsubscribe | undefined>();
  constructor(private readonly subscribe: (store: ConfigStore, listener: L) => Unsubscribe | undefined) {}

  add(listener: L, store: ConfigStore | undefined): Unsubscribe {
    this.entries.set(listener, store && this.subscribe(store, listener));
    return () => {
      this.entries.get(listener)?.();
      this.entries.delete(listener);
    };
  }

  connect(store: ConfigStore): void {
    for (const listener of this.entries.keys()) this.entries.set(listener, this.subscribe(store, listener));
  }

  listeners(): IterableIterator<L> {
    return this.entries.keys();
  }
}

export class LateStore implements RuntimeStore {
  readonly kind: ConfigStore['kind'];
  private inner: ConfigStore | undefined;
  private lastError: unknown;
  private readonly changes = new Subscriptions<(version: number) => void>((store, listener) => store.onChange(listener));
  /** Writes announced by the store (the proxy builds ahead of them). */
  private readonly writes = new Subscriptions<WritingListener>((store, listener) => store.onWriting?.(listener));

  constructor(kind: ConfigStore['kind'], initialError: unknown) {
    this.kind = kind;
    this.lastError = initialError;
  }

  get connected(): ConfigStore | undefined {
    return this.inner;
  }

  /** Remembers why the last connection attempt failed (the runtime reports it as the store error). */
  failed(err: unknown): void {
    this.lastError = err;
  }

  current(): Promise<{ document: ConfigDocument; version: number }> {
    if (!this.inner) return Promise.reject(this.lastError instanceof StoreUnavailableError ? this.lastError : new StoreUnavailableError(this.lastError));
    return this.inner.current();
  }

  onChange(listener: (version: number) => void): Unsubscribe {
    return this.changes.add(listener, this.inner);
  }

  onWriting(listener: WritingListener): Unsubscribe {
    return this.writes.add(listener, this.inner);
  }

  /** Hands over to the store once it is initialised; listeners then hear its current version once. */
  async connect(store: ConfigStore): Promise<void> {
    // Read first: a store that fails now is not handed over (the caller closes it and tries again).
    const { version } = await store.current();
    this.inner = store;
    this.changes.connect(store);
    this.writes.connect(store);
    for (const listener of this.changes.listeners()) listener(version);
  }
}
