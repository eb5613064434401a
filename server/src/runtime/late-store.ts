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

export class LateStore implements RuntimeStore {
  readonly kind: ConfigStore['kind'];
  private inner: ConfigStore | undefined;
  private lastError: unknown;
  private readonly listeners = new Map<(version: number) => void, (() => void) | undefined>();
  /** Writes announced by the store (the proxy builds ahead of them); subscribed once it connects. */
  private readonly writing = new Map<WritingListener, (() => void) | undefined>();

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

  onChange(listener: (version: number) => void): () => void {
    this.listeners.set(listener, this.inner?.onChange(listener));
    return () => {
      this.listeners.get(listener)?.();
      this.listeners.delete(listener);
    };
  }

  onWriting(listener: WritingListener): () => void {
    this.writing.set(listener, this.inner?.onWriting?.(listener));
    return () => {
      this.writing.get(listener)?.();
      this.writing.delete(listener);
    };
  }

  /** Hands over to the store once it is initialised; listeners then hear its current version once. */
  async connect(store: ConfigStore): Promise<void> {
    // Read first: a store that fails now is not handed over (the caller closes it and tries again).
    const { version } = await store.current();
    this.inner = store;
    for (const listener of this.listeners.keys()) this.listeners.set(listener, store.onChange(listener));
    for (const listener of this.writing.keys()) this.writing.set(listener, store.onWriting?.(listener));
    for (const listener of this.listeners.keys()) listener(version);
  }
}
