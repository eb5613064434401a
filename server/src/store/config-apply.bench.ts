/**
 * The whole path of `PUT /config` with a 10,000-route document (issue 11: "config apply of 10,000 routes
 * under 1 s; memory reported"), on embedded PGlite (a temporary data folder) and on PostgreSQL.
 *
 *   node server/dist/store/config-apply.bench.js [routes=10000] [rounds=3]
 *   env: BENCH_DATABASE_URL (or GATEHOUSE_TEST_DATABASE_URL) — a PostgreSQL server to create a throwaway
 *        database on; BENCH_STORES=pglite,postgres (default: both; postgres is skipped when unreachable).
 *
 * Per store, the same objects a node wires together (ConfigService → ConfigWriter → PrismaConfigStore →
 * ConfigRuntime → WorkerProxyPlane), the audit interceptor's reads and record, and a request through the
 * proxy to a route the document added. Each round applies a document that differs from the stored one in
 * every route (a rename of all of them) and then one that differs in a single route, the two shapes of a
 * declarative apply. Phases are timed one by one first (same calls, same order), then the whole path.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { checkDocument } from '../config/check.js';
import { diffDocuments, formatDiff } from '../config/diff.js';
import { PLUGINS } from '../plugins/index.js';
import { buildSnapshot } from '../proxy/snapshot.js';
import { WorkerProxyPlane } from '../proxy/proxy-plane.js';
import { ConfigRuntime } from '../runtime/config-runtime.js';
import { createLogger } from '../observability/logger.js';
import { processCredentialKeys, setActiveCredentialKeys } from '../auth/secrets.js';
import { ConfigService } from '../admin/config/config.service.js';
import { ConfigWriter } from '../admin/common/config-writer.service.js';
import type { AdminEnv } from '../admin/admin-env.js';
import type { AdminPrincipal } from '../admin/common/current-user.js';
import { createConfigStore } from './create-store.js';
import { manyRoutes } from './many-routes.js';
import type { ConfigStore } from './config-store.js';

const ROUTES = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const STORES = (process.env.BENCH_STORES ?? 'pglite,postgres').split(',');
const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgresql://gatehouse:gatehouse@127.0.0.1:5432/gatehouse';

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const ms = (t: number): string => `${t.toFixed(0).padStart(6)} ms`;

async function time<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, performance.now() - t0];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Bench {
  store: ConfigStore;
  service: ConfigService;
  plane: WorkerProxyPlane;
  runtime: ConfigRuntime;
  proxyPort: number;
  close(): Promise<void>;
}

async function setUp(kind: string): Promise<Bench> {
  const logger = createLogger('error');
  let dataDir: string | undefined;
  let dropDb: (() => Promise<void>) | undefined;
  let databaseUrl: string | undefined;
  if (kind === 'pglite') {
    dataDir = mkdtempSync(join(tmpdir(), 'gh-apply-bench-'));
  } else {
    const name = `gh_apply_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDb = async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  const store = await createConfigStore({ plugins: PLUGINS, ...(dataDir ? { dataDir } : {}), ...(databaseUrl ? { databaseUrl } : {}) });
  const keys = processCredentialKeys();
  setActiveCredentialKeys(keys);
  const plane = new WorkerProxyPlane({ trustedProxies: [], nodeId: 'bench', logLevel: 'error', redisUrl: undefined, credentialKeys: keys, requestMetrics: false }, logger);
  const runtime = new ConfigRuntime(store, plane, logger, 'bench');
  await runtime.start();
  const proxyPort = await freePort();
  await plane.listen('127.0.0.1', proxyPort);
  const writer = new ConfigWriter(store, runtime, { readOnly: false } as AdminEnv);
  const service = new ConfigService(store, PLUGINS, writer);
  return {
    store,
    service,
    plane,
    runtime,
    proxyPort,
    async close() {
      await runtime.close();
      await plane.close(0);
      await store.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (dropDb) await dropDb();
    },
  };
}

const USER: AdminPrincipal = { username: 'bench', role: 'admin', via: 'jwt' };

/** The version as the audit interceptor reads it (admin/audit/audit.interceptor.ts). */
async function headVersion(store: ConfigStore): Promise<number> {
  return store.headVersion ? store.headVersion() : (await store.current()).version;
}

/** What AuditInterceptor does around `PUT /config`: the version before and after, then one audit row. */
async function audited<T>(b: Bench, change: () => Promise<T>): Promise<T> {
  const before = { version: await headVersion(b.store) };
  const result = await change();
  const after = { version: await headVersion(b.store) };
  await b.store.audit?.record({ actor: 'bench', actor_role: 'admin', actor_via: 'jwt', action: 'config.replace', target_kind: 'config', target_key: null, before, after, status: 200, request_id: null, source_ip: null });
  return result;
}

/** The phases one at a time, in the order the request runs them. */
async function phases(b: Bench, body: string, probe: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const [parsed, tParse] = await time(() => JSON.parse(body) as unknown);
  out['JSON.parse of the body'] = tParse;
  const [, tAuditBefore] = await time(() => headVersion(b.store));
  const [checked, tCheck] = await time(() => checkDocument(parsed, PLUGINS));
  if (!checked.ok) throw new Error(`invalid document: ${JSON.stringify(checked.issues.slice(0, 3))}`);
  out['validation (checkDocument)'] = tCheck;
  const [, tDiff] = await time(async () => {
    const current = await b.store.current();
    return formatDiff(diffDocuments(current.document, checked.document));
  });
  out['diff (current + diffDocuments + formatDiff)'] = tDiff;
  const [, tWrite] = await time(() => b.store.replace(checked.document, { author: 'bench', message: 'bench' }));
  out['store write (replace)'] = tWrite;
  // The store's change notification has started the runtime's reload; this waits for it.
  const [, tReload] = await time(() => b.runtime.reload());
  out['runtime reload (store.current + worker apply)'] = tReload;
  // The reload's parts again, one by one (the same document and version, rebuilt).
  const [current, tRead] = await time(() => b.store.current());
  out['  of which store.current()'] = tRead;
  const [, tWorker] = await time(() => b.plane.apply(current.document, current.version));
  out['  of which postMessage + worker build + swap'] = tWorker;
  const [, tBuild] = await time(() => buildSnapshot(current.document, PLUGINS, { version: current.version, logger: createLogger('error') }));
  out['snapshot build alone, main thread (reference)'] = tBuild;
  const [, tAudit] = await time(async () => {
    const after = await headVersion(b.store);
    await b.store.audit?.record({ actor: 'bench', actor_role: 'admin', actor_via: 'jwt', action: 'config.replace', target_kind: 'config', target_key: null, before: null, after: { version: after }, status: 200, request_id: null, source_ip: null });
  });
  out['audit (version before + after, record)'] = tAudit + tAuditBefore;
  const status = await get(b.proxyPort, probe);
  if (status !== 200) throw new Error(`the proxy answered ${status} for ${probe} after the apply`);
  return out;
}

/** The whole path as one request runs it, to the proxy answering on a route the document added. */
async function whole(b: Bench, body: string, probe: string): Promise<number> {
  const [, t] = await time(async () => {
    await audited(b, () => b.service.apply(JSON.parse(body), { dryRun: false, message: undefined }, USER));
    const status = await get(b.proxyPort, probe);
    if (status !== 200) throw new Error(`the proxy answered ${status} for ${probe} after the apply`);
  });
  return t;
}

async function main(): Promise<void> {
  const upstream: Server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  console.log(`config apply: ${ROUTES.toLocaleString('en')} routes, ${ROUNDS} round(s), Node ${process.version}`);
  for (const kind of STORES) {
    let b: Bench;
    try {
      b = await setUp(kind);
    } catch (e) {
      console.log(`\n${kind}: skipped (${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    const rss0 = process.memoryUsage().rss;
    console.log(`\n${kind}   RSS before: ${mib(rss0)}`);
    const sums = new Map<string, number[]>();
    const totals: { all: number[]; one: number[] } = { all: [], one: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Every route renamed: 10,000 deletes and 10,000 inserts.
      const allChanged = manyRoutes(ROUTES, { upstream: upstreamUrl, tag: `p${round}` });
      for (const [k, v] of Object.entries(await phases(b, JSON.stringify(allChanged), `/benchp${round}`))) (sums.get(`all: ${k}`) ?? sums.set(`all: ${k}`, []).get(`all: ${k}`)!).push(v);
      // One route changed out of 10,000.
      const oneChanged = manyRoutes(ROUTES, { upstream: upstreamUrl, tag: `p${round}` });
      (oneChanged.routes[0]!.paths as string[]).push(`/one-${round}`);
      for (const [k, v] of Object.entries(await phases(b, JSON.stringify(oneChanged), `/benchp${round}`))) (sums.get(`one: ${k}`) ?? sums.set(`one: ${k}`, []).get(`one: ${k}`)!).push(v);
      totals.all.push(await whole(b, JSON.stringify(manyRoutes(ROUTES, { upstream: upstreamUrl, tag: `w${round}` })), `/benchw${round}`));
      const one = manyRoutes(ROUTES, { upstream: upstreamUrl, tag: `w${round}` });
      (one.routes[0]!.paths as string[]).push(`/one-${round}`);
      totals.one.push(await whole(b, JSON.stringify(one), `/benchw${round}`));
    }
    const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    for (const [k, v] of sums) console.log(`  ${k.padEnd(62)} ${ms(median(v))}   (${v.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`  ${'TOTAL, every route changed (request → proxy serving)'.padEnd(62)} ${ms(median(totals.all))}   (${totals.all.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`  ${'TOTAL, one route changed (request → proxy serving)'.padEnd(62)} ${ms(median(totals.one))}   (${totals.one.map((x) => x.toFixed(0)).join(', ')})`);
    const mu = process.memoryUsage();
    console.log(`  RSS after: ${mib(mu.rss)} (+${mib(mu.rss - rss0)}), main heap used ${mib(mu.heapUsed)}`);
    await b.close();
  }
  upstream.close();
}

await main();
