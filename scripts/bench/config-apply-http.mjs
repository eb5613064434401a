// PUT /config of 10,000 routes through a running gateway (issue 11: "config apply of 10,000 routes under
// 1 s"), repeated: every route renamed (10,000 deletes + 10,000 inserts; the answer names 20,000 changes),
// then one route changed. Times the answer and the moment the proxy serves a route the document added.
// Then single-entity writes on that configuration: a route created, changed and deleted through /routes.
//
//   node scripts/bench/config-apply-http.mjs [routes=10000] [rounds=3]
//   env: BENCH_DATABASE_URL — run the gateway on PostgreSQL instead of embedded PGlite (a temporary ./data);
//        BENCH_MAIN — another build's main.js (an A/B of two builds);
//        BENCH_ROUTE_PLUGINS — that many routes get a plugin instance of their own (default 0)
//
// The in-process phases of the same path are in server/dist/store/config-apply.bench.js.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manyRoutes as shapes } from '../../server/dist/store/many-routes.js';
import { cpuMs, stealMs } from './proc.mjs';

const ROUTES = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const root = resolve(fileURLToPath(import.meta.url), '../../..');
const PROXY = 19_156;
const ADMIN = 19_157;
const UPSTREAM = 19_001;

const PLUGINS = Number(process.env.BENCH_ROUTE_PLUGINS ?? 0);
const manyRoutes = (n, tag) => shapes(n, { upstream: `http://127.0.0.1:${UPSTREAM}`, tag, plugins: PLUGINS });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const token = 'bench-admin-token-0123456789abcdef0123456789';
const dataDir = mkdtempSync(join(tmpdir(), 'gh-apply-http-'));
const upstream = createServer((_req, res) => res.end('ok'));
await new Promise((r) => upstream.listen(UPSTREAM, '127.0.0.1', r));
const gateway = spawn(process.execPath, ['--v8-pool-size=0', process.env.BENCH_MAIN ?? join(root, 'server/dist/main.js')], {
  env: {
    ...process.env,
    GATEHOUSE_PROXY_LISTEN: `127.0.0.1:${PROXY}`,
    GATEHOUSE_ADMIN_LISTEN: `127.0.0.1:${ADMIN}`,
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_ACCESS_LOG: 'off',
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_ADMIN_TOKEN: token,
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});

try {
  for (const until = Date.now() + 60_000; ; await sleep(200)) {
    if (Date.now() > until || gateway.exitCode !== null) throw new Error(`the gateway did not get ready (exit code ${gateway.exitCode})`);
    const ok = await fetch(`http://127.0.0.1:${ADMIN}/health/ready`).then((r) => r.ok, () => false);
    if (ok) break;
  }

  // CPU time of the gateway (all its threads) and the machine's steal: on this VM the hypervisor takes
  // the cores away for whole milliseconds at a time, which lands in the wall-clock times but not in the
  // CPU the apply cost.
  /** [ms until the answer is read, ms until the proxy serves `probe`, answer bytes, gateway CPU ms, steal ms] */
  async function apply(doc, probe) {
    const body = JSON.stringify(doc);
    const cpu0 = cpuMs(gateway.pid);
    const steal0 = stealMs();
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${ADMIN}/config`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    const text = await res.text();
    const answered = performance.now() - t0;
    if (!res.ok) throw new Error(`PUT /config answered ${res.status}: ${text.slice(0, 300)}`);
    for (const until = t0 + 30_000; performance.now() < until; await sleep(2)) {
      const r = await fetch(`http://127.0.0.1:${PROXY}${probe}`).catch(() => undefined);
      await r?.arrayBuffer();
      if (r?.status === 200) return [answered, performance.now() - t0, text.length, cpuMs(gateway.pid) - cpu0, stealMs() - steal0];
    }
    throw new Error(`the proxy did not serve ${probe} within 30 s`);
  }

  const store = process.env.BENCH_DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite';
  const withPlugins = PLUGINS ? ` and ${PLUGINS.toLocaleString('en')} route plugins` : '';
  console.log(`PUT /config of ${ROUTES.toLocaleString('en')} routes${withPlugins} through the admin API (${store}), Node ${process.version}`);
  const first = await apply(manyRoutes(ROUTES, 'first'), '/benchfirst');
  console.log(`  first apply (from the demo config): answered ${first[0].toFixed(0)} ms, served ${first[1].toFixed(0)} ms; gateway CPU ${first[3].toFixed(0)} ms, steal ${first[4].toFixed(0)} ms`);
  const all = [];
  const one = [];
  for (let round = 0; round < ROUNDS; round++) {
    all.push(await apply(manyRoutes(ROUTES, `w${round}`), `/benchw${round}`));
    const doc = manyRoutes(ROUTES, `w${round}`);
    doc.routes[0].paths.push(`/one-${round}`);
    one.push(await apply(doc, `/one-${round}`));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const line = (label, rows) =>
    console.log(
      `  ${label}: answered ${median(rows.map((r) => r[0])).toFixed(0)} ms, served ${median(rows.map((r) => r[1])).toFixed(0)} ms (median of ${rows.map((r) => r[1].toFixed(0)).join(', ')}; answer ${(rows[0][2] / 1e6).toFixed(2)} MB); gateway CPU ${median(rows.map((r) => r[3])).toFixed(0)} ms (${rows.map((r) => r[3].toFixed(0)).join(', ')}), steal on both cores meanwhile ${rows.map((r) => r[4].toFixed(0)).join(', ')} ms`,
    );
  line('every route changed', all);
  line('one route changed  ', one);

  // Single-entity writes (the dashboard's): one route created, changed and deleted through /routes, timed
  // to the answer.
  const times = { 'POST /routes': [], 'PUT /routes/:name': [], 'DELETE /routes/:name': [] };
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const timed = async (label, method, url, body) => {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${ADMIN}${url}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 300)}`);
    times[label].push(performance.now() - t0);
  };
  for (let round = 0; round < ROUNDS; round++) {
    const route = { name: `single-${round}`, service: 'bench', paths: [`/single-${round}`] };
    await timed('POST /routes', 'POST', '/routes', route);
    await timed('PUT /routes/:name', 'PUT', `/routes/${route.name}`, { ...route, paths: [...route.paths, '/single-more'] });
    await timed('DELETE /routes/:name', 'DELETE', `/routes/${route.name}`);
  }
  for (const [label, ts] of Object.entries(times)) console.log(`  ${label.padEnd(21)}: answered ${median(ts).toFixed(0)} ms (median of ${ts.map((t) => t.toFixed(0)).join(', ')})`);
} finally {
  gateway.kill('SIGTERM');
  await new Promise((r) => (gateway.exitCode !== null ? r() : gateway.once('exit', r)));
  upstream.close();
  rmSync(dataDir, { recursive: true, force: true });
}
