// The runtime between a real store and a proxy plane: a write on this node has its snapshot built while
// the store commits, and the reload after the commit swaps in that snapshot instead of building again.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigDocument } from '../config/schema.js';
import { createLogger } from '../observability/logger.js';
import { InProcessProxyPlane } from '../proxy/proxy-plane.js';
import { ProxyServer } from '../proxy/proxy-server.js';
import type { ConfigStore } from '../store/config-store.js';
import { createConfigStore } from '../store/create-store.js';
import { TEST_PLUGINS, sampleDocument } from '../store/test-support.js';
import { ConfigRuntime } from './config-runtime.js';

const logger = createLogger('silent');
const author = { author: 'tester' };

/** The worker plane's protocol on one thread: `prepare` builds at once, `apply` of that object swaps it in. */
class PreparingPlane extends InProcessProxyPlane {
  readonly prepared: ConfigDocument[] = [];
  readonly applied: ConfigDocument[] = [];
  prepare(document: ConfigDocument, committed: Promise<boolean>): void {
    this.prepared.push(document);
    this.prebuild(document);
    void committed.then(async (ok) => {
      if (!ok) await this.discardPrebuilt();
    });
  }
  override apply(document: ConfigDocument, version: number) {
    this.applied.push(document);
    return super.apply(document, version);
  }
}

describe('ConfigRuntime with a plane that prepares', () => {
  let store: ConfigStore | undefined;
  let runtime: ConfigRuntime | undefined;
  afterEach(async () => {
    await runtime?.close();
    await store?.close();
  });

  it("builds this node's writes beside the commit and swaps in that snapshot", async () => {
    store = await createConfigStore({ plugins: TEST_PLUGINS });
    const server = new ProxyServer({ trustedProxies: [], logger });
    const plane = new PreparingPlane(server, TEST_PLUGINS, logger);
    runtime = new ConfigRuntime(store, plane, logger, 'n1');
    await runtime.start();
    expect(plane.prepared).toEqual([]);

    const r = await store.replace(sampleDocument(), author);
    await runtime.reload();
    expect(plane.prepared).toHaveLength(1);
    // The document the store announced is the one the reload applied: the prebuilt snapshot was used.
    expect(plane.applied.at(-1)).toBe(plane.prepared[0]);
    expect(server.snapshot.version).toBe(r.version);
    expect(server.snapshot.router.size).toBe(sampleDocument().routes.length);
    expect(runtime.status().config_version).toBe(r.version);

    // A write that changes nothing announces nothing and keeps the head document.
    await store.replace(sampleDocument(), author);
    await runtime.reload();
    expect(plane.prepared).toHaveLength(1);
    expect((await store.current()).document).toBe(plane.prepared[0]);
  }, 60_000);
});
