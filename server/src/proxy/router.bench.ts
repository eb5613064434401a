/**
 * Router lookup throughput with 1 route versus 10,000 routes, to show that matching cost does not grow
 * with the route count. `npm run bench` runs it from the build: node server/dist/proxy/router.bench.js
 */
import { Router, type RouteRequest, type RouteSpec } from './router.js';

function specs(n: number): RouteSpec<number>[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `r${i}`,
    priority: 0,
    hosts: i % 3 === 0 ? [`svc${i % 200}.example.com`] : i % 3 === 1 ? ['*.example.com'] : [],
    paths: [i % 2 === 0 ? `/api/v${i % 7}/resource${i}` : `=/exact/${i}`],
    methods: i % 5 === 0 ? ['GET', 'POST'] : [],
    data: i,
  }));
}

function requests(n: number): RouteRequest[] {
  return Array.from({ length: 1000 }, (_, k) => {
    const i = (k * 7919) % n;
    const even = i % 2 === 0;
    return {
      method: 'GET',
      host: i % 3 === 0 ? `svc${i % 200}.example.com` : 'www.example.com',
      port: '',
      path: even ? `/api/v${i % 7}/resource${i}/items/42` : `/exact/${i}`,
      query: '',
      headers: {},
    };
  });
}

function measure(n: number, durationMs: number): number {
  const router = new Router(specs(n));
  const reqs = requests(n);
  let hits = 0;
  for (let i = 0; i < 200_000; i++) if (router.lookup(reqs[i % reqs.length]!)) hits++; // warm-up
  let ops = 0;
  const t0 = performance.now();
  let now = t0;
  while (now - t0 < durationMs) {
    for (let i = 0; i < 10_000; i++) if (router.lookup(reqs[i % reqs.length]!)) hits++;
    ops += 10_000;
    now = performance.now();
  }
  if (hits === 0) throw new Error('benchmark requests did not match');
  return ops / ((now - t0) / 1000);
}

export function runRouterBench(durationMs = 1500): { one: number; many: number; ratio: number; hundred: number; thousand: number } {
  const one = measure(1, durationMs);
  const hundred = measure(100, durationMs);
  const thousand = measure(1000, durationMs);
  const many = measure(10_000, durationMs);
  return { one, hundred, thousand, many, ratio: one / many };
}

if (process.argv[1]?.endsWith('router.bench.js') || process.argv[1]?.endsWith('router.bench.ts')) {
  const r = runRouterBench();
  console.log(`1 route:       ${Math.round(r.one).toLocaleString()} lookups/s`);
  console.log(`100 routes:    ${Math.round(r.hundred).toLocaleString()} lookups/s`);
  console.log(`1,000 routes:  ${Math.round(r.thousand).toLocaleString()} lookups/s`);
  console.log(`10,000 routes: ${Math.round(r.many).toLocaleString()} lookups/s`);
  console.log(`ratio (1 / 10,000): ${r.ratio.toFixed(2)}x`);
}
