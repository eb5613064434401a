import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyDocument, type ConfigDocument } from '../config/schema.js';
import { createLogger } from '../observability/logger.js';
import { InProcessProxyPlane } from '../proxy/proxy-plane.js';
import { ProxyServer } from '../proxy/proxy-server.js';
import { createConfigStore } from '../store/create-store.js';
import { TEST_PLUGINS } from '../store/test-support.js';
import { StoreUnavailableError } from '../store/config-store.js';
import { ConfigRuntime } from './config-runtime.js';
import { LateStore } from './late-store.js';
import { readSnapshotCache, SnapshotCacheWriter } from './snapshot-cache.js';

const logger = createLogger('silent');
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'gh-cache-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function doc(serviceName: string): ConfigDocument {
  return { ...emptyDocument(), services: [{ name: serviceName, url: 'http://127.0.0.1:9' }] } as ConfigDocument;
}

describe('snapshot cache file', () => {
  it('round-trips the last written snapshot, in a file only the owner can read, leaving no temporary file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'nested', 'config-cache.json');
    const writer = new SnapshotCacheWriter(file, 'n1', logger);
    // A burst: only the newest must end up on disk.
    void writer.write(doc('v1'), 1);
    void writer.write(doc('v2'), 2);
    await writer.write(doc('v3'), 3);
    const cached = await readSnapshotCache(file);
    expect(cached?.version).toBe(3);
    expect(cached?.nodeId).toBe('n1');
    expect(cached?.document.services[0]?.name).toBe('v3');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(path.dirname(file))).toEqual(['config-cache.json']);
  });

  it('treats a missing, truncated or foreign file as no cache', async () => {
    const dir = tempDir();
    expect(await readSnapshotCache(path.join(dir, 'none.json'))).toBeUndefined();
    writeFileSync(path.join(dir, 'half.json'), '{"format":1,"version":3,"docum');
    expect(await readSnapshotCache(path.join(dir, 'half.json'))).toBeUndefined();
    writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ format: 99, version: 1, document: {} }));
    expect(await readSnapshotCache(path.join(dir, 'other.json'))).toBeUndefined();
  });

  it('logs, and keeps going, when the folder cannot be written', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'a-file'), '');
    const warnings: string[] = [];
    const writer = new SnapshotCacheWriter(path.join(dir, 'a-file', 'cache.json'), 'n1', { warn: (_o, msg) => warnings.push(msg) });
    await writer.write(doc('v1'), 1);
    expect(warnings).toEqual(['could not write the config cache']);
  });
});

describe('a runtime started from the cache', () => {
  it('serves the cached snapshot while the store is unreachable, then follows the store once it connects, caching what it applies', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'config-cache.json');
    const proxy = new ProxyServer({ trustedProxies: [], logger });
    const plane = new InProcessProxyPlane(proxy, TEST_PLUGINS, logger);
    const late = new LateStore('postgres', new Error('connect ECONNREFUSED 127.0.0.1:1'));
    const cache = new SnapshotCacheWriter(file, 'n1', logger);
    const runtime = new ConfigRuntime(late, plane, logger, 'n1', { cache });
    await expect(late.current()).rejects.toBeInstanceOf(StoreUnavailableError);
    // Without a fallback the start fails, as it always did.
    await expect(new ConfigRuntime(late, plane, logger, 'n1').start()).rejects.toThrow(/ECONNREFUSED/);

    await runtime.start({ document: doc('cached'), version: 7 });
    expect(runtime.ready()).toBe(true);
    expect(runtime.currentDocument().services[0]?.name).toBe('cached');
    expect(runtime.status()).toMatchObject({ config_version: 7, store_reachable: false });
    // What came from the cache is not written back to it.
    expect(await readSnapshotCache(file)).toBeUndefined();

    // Writes are announced (the proxy builds ahead of them) once the store is there, to listeners that
    // subscribed before it was.
    const announced: { services: string[]; committed: Promise<boolean> }[] = [];
    late.onWriting((document, committed) => announced.push({ services: document.services.map((s) => s.name), committed }));
    const store = await createConfigStore({ plugins: TEST_PLUGINS });
    try {
      await store.replace(doc('from-store'), { author: 'test' });
      expect(announced).toEqual([]);
      const { version } = await store.current();
      await late.connect(store);
      for (let i = 0; i < 100 && runtime.currentDocument().services[0]?.name !== 'from-store'; i++) await new Promise((r) => setTimeout(r, 20));
      expect(runtime.currentDocument().services[0]?.name).toBe('from-store');
      expect(runtime.status()).toMatchObject({ config_version: version, store_reachable: true });
      await cache.flush();
      expect((await readSnapshotCache(file))?.version).toBe(version);
      // And later changes through the store keep arriving.
      await store.replace(doc('later'), { author: 'test' });
      expect(announced.map((a) => a.services)).toEqual([['later']]);
      expect(await announced[0]!.committed).toBe(true);
      for (let i = 0; i < 100 && runtime.currentDocument().services[0]?.name !== 'later'; i++) await new Promise((r) => setTimeout(r, 20));
      expect(runtime.currentDocument().services[0]?.name).toBe('later');
      await runtime.close();
      expect(JSON.parse(readFileSync(file, 'utf8')).document.services[0].name).toBe('later');
    } finally {
      await store.close();
      await proxy.close(0);
    }
  }, 150_000); // an in-memory PGlite store takes seconds to create, much longer on a busy machine
});
