/**
 * The compiled route matcher: built once per config snapshot, then asked once per request which route
 * serves it.
 *
 * Precedence, highest first (the order the tie-breakers are applied in):
 *   1. explicit `priority` (higher wins);
 *   2. path kind: exact (`=/a`) > prefix (`/a`) > regex (`~…`); among prefixes the longer one wins;
 *   3. host kind: exact (`api.example.com`) > wildcard (`*.example.com`, `api.*`) > no host condition;
 *   4. more conditions (methods, each header, each query parameter) wins;
 *   5. route name, alphabetically, so equal routes resolve the same way on every node and every reload.
 * Each (route, host, path) combination is ranked once at compile time with this order, so a lookup only
 * compares integers.
 *
 * Cost: hosts are hash-map lookups (exact, then one lookup per label for wildcards), paths are a map
 * lookup for exact paths and a walk of a segment tree for prefixes, so a lookup costs O(path segments +
 * host labels), independent of the number of routes. Regex paths are the exception: they are tried in
 * rank order within each host bucket, stopping at the first one that cannot beat the best match so far.
 */
import { parsePathMatcher } from '../config/check.js';

export type HeaderMatcher = { name: string; values: (string | RegExp)[] };
export type QueryMatcher = { name: string; values: string[] };

/** What the router needs to know about a route; `data` is whatever the caller wants back. */
export interface RouteSpec<T> {
  name: string;
  priority: number;
  hosts: readonly string[];
  paths: readonly string[];
  methods: readonly string[];
  headers?: Readonly<Record<string, readonly string[]>> | undefined;
  query?: Readonly<Record<string, readonly string[]>> | undefined;
  data: T;
}

const enum PathKind {
  Exact = 0,
  Prefix = 1,
  Regex = 2,
  Any = 3,
}
const enum HostKind {
  Exact = 0,
  Wildcard = 1,
  Any = 2,
}

/** One (route, host pattern, path pattern) combination. */
export class RouteEntry<T> {
  rank = 0;
  constructor(
    readonly route: CompiledRouteConditions<T>,
    readonly pathKind: PathKind,
    /** Prefix/exact path (trailing slash of a prefix removed; root prefix is ''). */
    readonly path: string,
    /** A prefix written with a trailing slash (`/a/`) does not match `/a` itself. */
    readonly requireSlash: boolean,
    readonly regex: RegExp | undefined,
    readonly hostKind: HostKind,
  ) {}
}

/** The per-route conditions checked after the host/path index produced a candidate. */
export class CompiledRouteConditions<T> {
  constructor(
    readonly name: string,
    readonly priority: number,
    readonly methods: ReadonlySet<string> | undefined,
    readonly headers: readonly HeaderMatcher[],
    readonly query: readonly QueryMatcher[],
    readonly data: T,
  ) {}
  get conditionCount(): number {
    return (this.methods ? 1 : 0) + this.headers.length + this.query.length;
  }
}

/** What a lookup found. `prefixLength` is the length of the path part consumed by the match (for strip_path). */
export interface RouteMatch<T> {
  data: T;
  name: string;
  params: Record<string, string> | undefined;
  prefixLength: number;
}

/** The request facts the router reads. */
export interface RouteRequest {
  method: string;
  /** Lower-case host without port. */
  host: string;
  /** Port from the Host header, or '' when none. */
  port: string;
  path: string;
  query: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

class TrieNode<T> {
  children: Map<string, TrieNode<T>> | undefined;
  entries: RouteEntry<T>[] = [];
}

/** Everything routable under one host pattern. */
class HostBucket<T> {
  exact = new Map<string, RouteEntry<T>[]>();
  prefixRoot = new TrieNode<T>();
  regexes: RouteEntry<T>[] = [];
  any: RouteEntry<T>[] = [];

  add(e: RouteEntry<T>): void {
    switch (e.pathKind) {
      case PathKind.Exact: {
        let list = this.exact.get(e.path);
        if (!list) this.exact.set(e.path, (list = []));
        list.push(e);
        return;
      }
      case PathKind.Prefix: {
        let node = this.prefixRoot;
        if (e.path !== '') {
          const segs = e.path.split('/');
          for (let i = 1; i < segs.length; i++) {
            const s = segs[i]!;
            if (!node.children) node.children = new Map();
            let next = node.children.get(s);
            if (!next) node.children.set(s, (next = new TrieNode<T>()));
            node = next;
          }
        }
        node.entries.push(e);
        return;
      }
      case PathKind.Regex:
        this.regexes.push(e);
        return;
      default:
        this.any.push(e);
    }
  }

  sort(): void {
    const byRank = (a: RouteEntry<T>, b: RouteEntry<T>) => a.rank - b.rank;
    this.regexes.sort(byRank);
    this.any.sort(byRank);
    for (const l of this.exact.values()) l.sort(byRank);
    const walk = (n: TrieNode<T>) => {
      n.entries.sort(byRank);
      if (n.children) for (const c of n.children.values()) walk(c);
    };
    walk(this.prefixRoot);
  }
}

/** Mutable state of one lookup, kept in locals of `lookup` and passed to helpers by reference. */
class Best<T> {
  entry: RouteEntry<T> | undefined = undefined;
  rank = Number.MAX_SAFE_INTEGER;
  match: RegExpExecArray | null = null;
}

function compareEntries<T>(a: RouteEntry<T>, b: RouteEntry<T>): number {
  if (a.route.priority !== b.route.priority) return b.route.priority - a.route.priority;
  const ak = a.pathKind === PathKind.Any ? PathKind.Regex + 1 : a.pathKind;
  const bk = b.pathKind === PathKind.Any ? PathKind.Regex + 1 : b.pathKind;
  if (ak !== bk) return ak - bk;
  if (a.pathKind === PathKind.Prefix || a.pathKind === PathKind.Exact) {
    const al = a.path.length + (a.requireSlash ? 1 : 0);
    const bl = b.path.length + (b.requireSlash ? 1 : 0);
    if (al !== bl) return bl - al;
  }
  if (a.hostKind !== b.hostKind) return a.hostKind - b.hostKind;
  const ac = a.route.conditionCount;
  const bc = b.route.conditionCount;
  if (ac !== bc) return bc - ac;
  return a.route.name < b.route.name ? -1 : a.route.name > b.route.name ? 1 : 0;
}

const PATH_KIND_NAMES = ['exact', 'prefix', 'regex', 'any'] as const;
const HOST_KIND_NAMES = ['exact', 'wildcard', 'any'] as const;

/** One ranked entry with the pattern it came from; `host` is lower case, undefined for "any host". */
export interface DescribedEntry<T> {
  entry: RouteEntry<T>;
  route: RouteSpec<T>;
  host: string | undefined;
  pathKind: (typeof PATH_KIND_NAMES)[number];
  hostKind: (typeof HOST_KIND_NAMES)[number];
}

function compileHeaderValue(v: string): string | RegExp {
  if (v.startsWith('~*')) return new RegExp(v.slice(2), 'i');
  if (v.startsWith('~')) return new RegExp(v.slice(1));
  return v.toLowerCase();
}

export class Router<T> {
  private readonly exactHosts = new Map<string, HostBucket<T>>();
  /** `*.example.com` → key `example.com`. */
  private readonly suffixHosts = new Map<string, HostBucket<T>>();
  /** `api.*` → key `api`. */
  private readonly prefixHosts = new Map<string, HostBucket<T>>();
  private readonly anyHost = new HostBucket<T>();
  private readonly hasPortHosts: boolean;
  readonly size: number;
  /** Every (route, host, path) entry in rank order: what config/route-analysis.ts reasons about, so it ranks as lookups do. */
  readonly entries: readonly DescribedEntry<T>[];

  constructor(specs: readonly RouteSpec<T>[]) {
    const entries: RouteEntry<T>[] = [];
    const placed: [HostBucket<T>, RouteEntry<T>][] = [];
    const described: DescribedEntry<T>[] = [];
    let portHosts = false;
    for (const spec of specs) {
      const methods = spec.methods.length ? new Set(spec.methods.map((m) => m.toUpperCase())) : undefined;
      const headers = Object.entries(spec.headers ?? {}).map(([name, values]) => ({ name: name.toLowerCase(), values: values.map(compileHeaderValue) }));
      const query = Object.entries(spec.query ?? {}).map(([name, values]) => ({ name, values: [...values] }));
      const cond = new CompiledRouteConditions(spec.name, spec.priority, methods, headers, query, spec.data);
      const hostPatterns: [HostKind, HostBucket<T>, string | undefined][] = [];
      if (spec.hosts.length === 0) hostPatterns.push([HostKind.Any, this.anyHost, undefined]);
      for (const raw of spec.hosts) {
        const h = raw.toLowerCase();
        if (h.startsWith('*.')) hostPatterns.push([HostKind.Wildcard, bucketOf(this.suffixHosts, h.slice(2)), h]);
        else if (h.endsWith('.*')) hostPatterns.push([HostKind.Wildcard, bucketOf(this.prefixHosts, h.slice(0, -2)), h]);
        else {
          if (h.includes(':')) portHosts = true;
          hostPatterns.push([HostKind.Exact, bucketOf(this.exactHosts, h), h]);
        }
      }
      const pathPatterns = spec.paths.length ? spec.paths : [undefined];
      for (const [hostKind, bucket, host] of hostPatterns) {
        for (const p of pathPatterns) {
          let e: RouteEntry<T>;
          if (p === undefined) e = new RouteEntry(cond, PathKind.Any, '', false, undefined, hostKind);
          else {
            const m = parsePathMatcher(p);
            if (m.kind === 'regex') e = new RouteEntry(cond, PathKind.Regex, p, false, m.regex, hostKind);
            else if (m.kind === 'exact') e = new RouteEntry(cond, PathKind.Exact, m.path, false, undefined, hostKind);
            else {
              const slash = m.path.length > 1 && m.path.endsWith('/');
              const path = m.path === '/' ? '' : slash ? m.path.slice(0, -1) : m.path;
              e = new RouteEntry(cond, PathKind.Prefix, path, slash, undefined, hostKind);
            }
          }
          entries.push(e);
          placed.push([bucket, e]);
          described.push({ entry: e, route: spec, host, pathKind: PATH_KIND_NAMES[e.pathKind], hostKind: HOST_KIND_NAMES[e.hostKind] });
        }
      }
    }
    entries.sort(compareEntries);
    entries.forEach((e, i) => (e.rank = i));
    for (const [bucket, e] of placed) bucket.add(e);
    for (const b of this.allBuckets()) b.sort();
    this.hasPortHosts = portHosts;
    this.entries = described.sort((a, b) => a.entry.rank - b.entry.rank);
    this.size = specs.length;
  }

  private *allBuckets(): Iterable<HostBucket<T>> {
    yield this.anyHost;
    yield* this.exactHosts.values();
    yield* this.suffixHosts.values();
    yield* this.prefixHosts.values();
  }

  /** Finds the best route for the request, or undefined (→ 404). */
  lookup(req: RouteRequest): RouteMatch<T> | undefined {
    const best = new Best<T>();
    const host = req.host;
    let b = this.exactHosts.get(host);
    if (b) this.searchBucket(b, req, best);
    if (this.hasPortHosts && req.port !== '') {
      b = this.exactHosts.get(host + ':' + req.port);
      if (b) this.searchBucket(b, req, best);
    }
    if (this.suffixHosts.size) {
      for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
        b = this.suffixHosts.get(host.slice(dot + 1));
        if (b) this.searchBucket(b, req, best);
      }
    }
    if (this.prefixHosts.size) {
      for (let dot = host.lastIndexOf('.'); dot > 0; dot = host.lastIndexOf('.', dot - 1)) {
        b = this.prefixHosts.get(host.slice(0, dot));
        if (b) this.searchBucket(b, req, best);
      }
    }
    this.searchBucket(this.anyHost, req, best);
    const e = best.entry;
    if (!e) return undefined;
    let params: Record<string, string> | undefined;
    let prefixLength = 0;
    if (e.pathKind === PathKind.Regex) {
      const m = best.match!;
      prefixLength = m[0].length;
      if (m.groups) {
        params = {};
        for (const k in m.groups) {
          const v = m.groups[k];
          if (v !== undefined) params[k] = v;
        }
      }
    } else if (e.pathKind === PathKind.Prefix) prefixLength = e.path.length;
    else if (e.pathKind === PathKind.Exact) prefixLength = e.path.length;
    return { data: e.route.data, name: e.route.name, params, prefixLength };
  }

  private searchBucket(b: HostBucket<T>, req: RouteRequest, best: Best<T>): void {
    const path = req.path;
    const exact = b.exact.size ? b.exact.get(path) : undefined;
    if (exact) this.consider(exact, req, best);
    // Walk the segment tree: every node on the way is a prefix that ends on a segment boundary.
    let node: TrieNode<T> | undefined = b.prefixRoot;
    if (node.entries.length) this.considerPrefix(node.entries, req, best, path, 0);
    let pos = 0;
    while (node.children && pos < path.length) {
      const next = path.indexOf('/', pos + 1);
      const end = next === -1 ? path.length : next;
      node = node.children.get(path.slice(pos + 1, end));
      if (!node) break;
      if (node.entries.length) this.considerPrefix(node.entries, req, best, path, end);
      if (next === -1) break;
      pos = next;
    }
    const rx = b.regexes;
    for (let i = 0; i < rx.length; i++) {
      const e = rx[i]!;
      if (e.rank >= best.rank) break;
      const m = e.regex!.exec(path);
      if (m !== null && matchConditions(e.route, req)) {
        best.entry = e;
        best.rank = e.rank;
        best.match = m;
        break;
      }
    }
    if (b.any.length) this.consider(b.any, req, best);
  }

  private considerPrefix(list: RouteEntry<T>[], req: RouteRequest, best: Best<T>, path: string, end: number): void {
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e.rank >= best.rank) return;
      if (e.requireSlash && path.charCodeAt(end) !== 47) continue;
      if (matchConditions(e.route, req)) {
        best.entry = e;
        best.rank = e.rank;
        return;
      }
    }
  }

  private consider(list: RouteEntry<T>[], req: RouteRequest, best: Best<T>): void {
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e.rank >= best.rank) return;
      if (matchConditions(e.route, req)) {
        best.entry = e;
        best.rank = e.rank;
        return;
      }
    }
  }
}

function bucketOf<T>(m: Map<string, HostBucket<T>>, key: string): HostBucket<T> {
  let b = m.get(key);
  if (!b) m.set(key, (b = new HostBucket<T>()));
  return b;
}

function matchConditions<T>(r: CompiledRouteConditions<T>, req: RouteRequest): boolean {
  if (r.methods !== undefined && !r.methods.has(req.method)) return false;
  const hs = r.headers;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    const v = req.headers[h.name];
    if (v === undefined) return false;
    if (typeof v === 'string') {
      if (!headerValueMatches(h.values, v)) return false;
    } else if (!v.some((x) => headerValueMatches(h.values, x))) return false;
  }
  if (r.query.length) {
    const params = new URLSearchParams(req.query);
    for (const q of r.query) {
      const got = params.getAll(q.name);
      if (got.length === 0) return false;
      if (!q.values.some((want) => want === '' || got.includes(want))) return false;
    }
  }
  return true;
}

function headerValueMatches(values: readonly (string | RegExp)[], v: string): boolean {
  let lower: string | undefined;
  for (let i = 0; i < values.length; i++) {
    const want = values[i]!;
    if (typeof want === 'string') {
      lower ??= v.toLowerCase();
      if (want === lower) return true;
    } else if (want.test(v)) return true;
  }
  return false;
}
