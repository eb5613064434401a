#!/usr/bin/env node
// `npm run bench`: the router micro-benchmark (1 vs 10,000 routes), the suite (scripts/bench/suite.mjs:
// ratios against bare @fastify/http-proxy and the direct upstream, the production pipeline, 10,000 routes,
// open-loop latency, config apply; writes bench-results/latest.md and latest.svg), then
// ../shared/bench/run-peers.sh with the gateway (DB-less, plain proxying, no plugins) as an extra entry next
// to nginx, HAProxy, Caddy and the Node gateways, each pinned to one core. Pass `--quick` for short runs;
// PEERS=none measures only ours; `--no-suite` or `--no-peers` skips a part.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const node = process.execPath;

const routerBench = path.join(root, 'server/dist/proxy/router.bench.js');
if (existsSync(routerBench)) spawnSync(node, [routerBench], { stdio: 'inherit' });

if (!process.argv.includes('--no-suite')) {
  const suite = spawnSync(node, [path.join(root, 'scripts/bench/suite.mjs'), ...(quick ? ['--quick'] : [])], { stdio: 'inherit' });
  if (suite.status !== 0) process.exit(suite.status ?? 1);
}
if (process.argv.includes('--no-peers')) process.exit(0);

const peers = path.resolve(root, '../shared/bench/run-peers.sh');
if (!existsSync(peers)) {
  console.log(`(skipping the peer comparison: ${peers} not found)`);
  process.exit(0);
}
const gateway =
  `gatehouse|env GATEWAY_CONFIG=${root}/scripts/bench/plain.yaml GATEHOUSE_PROXY_LISTEN=127.0.0.1:9110 ` +
  `GATEHOUSE_ADMIN_LISTEN=127.0.0.1:9111 GATEHOUSE_LOG_LEVEL=warn GATEHOUSE_ACCESS_LOG=off GATEHOUSE_DEMO=false ${node} --v8-pool-size=0 ${root}/server/dist/main.js|9110`;
const args = quick ? ['4', '64', gateway] : ['8', '64', gateway];
const r = spawnSync('bash', [peers, ...args], { stdio: 'inherit', env: { ...process.env, NODE_BIN: node } });
process.exit(r.status ?? 1);
