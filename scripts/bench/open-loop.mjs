#!/usr/bin/env node
// Open-loop (fixed-rate) load: requests are scheduled at `rate` per second whatever the answers do, and
// each latency is measured from the request's scheduled time, not from when it could be sent, so a
// stalled server shows up as queueing in the percentiles instead of being hidden (coordinated omission).
// Usage: open-loop.mjs <url> <rate> <seconds> [header: value]   → one JSON line on stdout.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../server/package.json'));
const { Pool } = require('undici');

const [url, rateArg, secondsArg, header] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
if (!url || !(rate > 0) || !(seconds > 0)) {
  console.error('usage: open-loop.mjs <url> <rate> <seconds> [header: value]');
  process.exit(2);
}
const u = new URL(url);
const headers = {};
if (header) {
  const i = header.indexOf(':');
  headers[header.slice(0, i).trim().toLowerCase()] = header.slice(i + 1).trim();
}
// Enough connections that the client never becomes the queue (an open-loop client must not wait).
const pool = new Pool(u.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
const reqPath = u.pathname + u.search;
const total = Math.round(rate * seconds);
const latencies = new Float64Array(total);
let done = 0;
let errors = 0;
let non2xx = 0;

function send(i, scheduled) {
  pool.request({ path: reqPath, method: 'GET', headers }).then(
    async (res) => {
      if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
      await res.body.dump();
      latencies[i] = performance.now() - scheduled;
      if (++done === total) finish();
    },
    () => {
      errors++;
      latencies[i] = performance.now() - scheduled;
      if (++done === total) finish();
    },
  );
}

// Warm the connections first so the first second does not measure handshakes.
await Promise.all(Array.from({ length: 32 }, () => pool.request({ path: reqPath, method: 'GET', headers }).then((r) => r.body.dump())));

const start = performance.now() + 5;
let next = 0;
const interval = 1000 / rate;
function tick() {
  const now = performance.now();
  while (next < total && start + next * interval <= now) {
    send(next, start + next * interval);
    next++;
  }
  if (next < total) setTimeout(tick, 1);
}
tick();

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
function finish() {
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const r3 = (x) => Math.round(x * 1000) / 1000;
  const out = { rate, seconds, requests: total, errors, non2xx, p50: r3(pct(sorted, 50)), p90: r3(pct(sorted, 90)), p99: r3(pct(sorted, 99)), p999: r3(pct(sorted, 99.9)), max: r3(sorted.at(-1)) };
  console.log(JSON.stringify(out));
  pool.close().then(() => process.exit(0));
}
