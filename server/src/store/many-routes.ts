/**
 * The 10,000-route documents of the benchmarks and the large-apply spec (issue 11): 100 services and
 * routes of five shapes (prefixes, exact paths with methods, hosts, regexes, wildcard hosts), plus a
 * `bench{tag}` route at `/bench{tag}`. `tag` renames every route and path, which makes two documents
 * differ in every route. `plugins` gives that many routes a plugin instance of their own (a request size
 * limit), as a configuration with per-route limits or auth has.
 */
import type { ConfigDocument } from '../config/schema.js';

export function manyRoutes(n: number, opts: { upstream?: string; tag?: string; plugins?: number } = {}): ConfigDocument {
  const upstream = opts.upstream ?? 'http://127.0.0.1:9001';
  const tag = opts.tag ?? '';
  const services: Record<string, unknown>[] = [{ name: 'bench', url: upstream }];
  for (let s = 0; s < 100; s++) services.push({ name: `svc-${s}`, url: upstream });
  const routes: Record<string, unknown>[] = [];
  for (let i = 0; i < n - 1; i++) {
    const r: Record<string, unknown> = { name: `r${tag}-${i}`, service: `svc-${i % 100}`, strip_path: false };
    switch (i % 5) {
      case 0: r.paths = [`/api/v1/team-${i}${tag}/items`]; break;
      case 1: r.paths = [`/api/v2/orders-${i}${tag}`]; r.methods = ['GET', 'POST']; break;
      case 2: r.paths = [`/shop/${i}${tag}`]; r.hosts = [`shop-${i}.example.com`]; break;
      case 3: r.paths = [`~/reports/${i}${tag}/[0-9]+$`]; break;
      default: r.paths = [`/static/${i}${tag}`]; r.hosts = [`*.cdn-${i}.example.com`];
    }
    routes.push(r);
  }
  if (n > 0) routes.push({ name: `bench${tag}`, service: 'bench', paths: [`/bench${tag}`], strip_path: false });
  const plugins = routes.slice(0, opts.plugins ?? 0).map((r) => ({ name: 'request-size-limiting', route: r.name, config: { allowed_payload_size: 8 } }));
  return { _format_version: '1', services, routes, ...(plugins.length ? { plugins } : {}) } as unknown as ConfigDocument;
}
