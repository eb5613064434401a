/**
 * Route findings for `gatehouse validate`: routes that can never match (shadowed) and pairs of routes
 * that only the name tie-breaker tells apart (conflicting).
 *
 * The analysis does not re-implement the precedence rules: it builds the real Router and walks its
 * entries in the router's own rank order (Router.entries), so an edit to the router's ordering changes
 * the findings with it. Coverage ("every request entry B matches, entry A matches too") is decided on the
 * compiled conditions the router itself checks, and is conservative: when it cannot prove coverage
 * (a prefix against a regex, two different regexes) it says nothing. A false "never matches" would send
 * an operator to delete a live route; a missed one only leaves a dead route in place.
 */
import { Router, type DescribedEntry, type HeaderMatcher, type QueryMatcher } from '../proxy/router.js';
import type { ConfigDocument, RouteConfig } from './schema.js';

export interface RouteFinding {
  kind: 'shadowed' | 'conflict';
  /** The route that never (or only by name order) wins. */
  route: string;
  /** JSON Pointer of that route in the document. */
  path: string;
  /** The routes that take its requests. */
  winners: string[];
  message: string;
}

type Entry = DescribedEntry<number>;

export function analyzeRoutes(doc: Pick<ConfigDocument, 'routes'>): RouteFinding[] {
  const specs = doc.routes.flatMap((r, i) =>
    // Disabled routes are not in the router, as in the snapshot builder.
    r.enabled === false
      ? []
      : [{ name: r.name, priority: r.priority ?? 0, hosts: r.hosts ?? [], paths: r.paths ?? [], methods: r.methods ?? [], headers: r.headers, query: r.query, data: i }],
  );
  const router = new Router(specs);
  const entries = router.entries;
  const index = new CandidateIndex(entries);
  const byRoute = new Map<string, Entry[]>();
  for (const e of entries) {
    let list = byRoute.get(e.route.name);
    if (!list) byRoute.set(e.route.name, (list = []));
    list.push(e);
  }

  const findings: RouteFinding[] = [];
  const conflicted = new Map<string, string>();
  // Identical criteria and priority: the router still picks one (by name), but the author cannot have meant it.
  const groups = new Map<string, RouteConfig[]>();
  for (const spec of specs) {
    const r = doc.routes[spec.data]!;
    const key = criteriaKey(r);
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const winner = group.reduce((w, r) => (r.name < w.name ? r : w));
    for (const loser of group) {
      if (loser === winner) continue;
      conflicted.set(loser.name, winner.name);
      findings.push({
        kind: 'conflict',
        route: loser.name,
        path: `/routes/${doc.routes.indexOf(loser)}`,
        winners: [winner.name],
        message:
          `route '${loser.name}' has the same hosts, paths, methods, headers, query and priority (${loser.priority ?? 0}) as route '${winner.name}': ` +
          `the match is ambiguous; '${winner.name}' always wins only because its name sorts first`,
      });
    }
  }

  for (const [name, own] of byRoute) {
    const winners: { entry: Entry; by: Entry }[] = [];
    for (const b of own) {
      const by = firstCovering(index, b);
      if (!by) break;
      winners.push({ entry: b, by });
    }
    if (winners.length !== own.length) continue;
    const names = [...new Set(winners.map((w) => w.by.route.name))];
    if (conflicted.get(name) !== undefined && names.every((n) => n === conflicted.get(name))) continue;
    const at = own[0]!.route.data;
    const reasons = winners.map((w) => `${describe(w.entry)} is taken by route '${w.by.route.name}' (${describe(w.by)}: ${whyFirst(w.by, w.entry)})`);
    findings.push({
      kind: 'shadowed',
      route: name,
      path: `/routes/${at}`,
      winners: names,
      message: `route '${name}' can never match: ${[...new Set(reasons)].join('; ')}`,
    });
  }
  return findings.sort((a, b) => pointerIndex(a.path) - pointerIndex(b.path) || a.kind.localeCompare(b.kind));
}

function pointerIndex(p: string): number {
  return Number(p.slice(p.lastIndexOf('/') + 1));
}

/**
 * Entries grouped by the hosts they can cover, each list in rank order: an exact-host entry can only be
 * covered by any-host, wildcard or same-host entries, which keeps large configs from comparing all pairs.
 */
class CandidateIndex {
  readonly anyHost: Entry[] = [];
  readonly wildcard: Entry[] = [];
  readonly exact = new Map<string, Entry[]>();
  constructor(entries: readonly Entry[]) {
    for (const e of entries) {
      if (e.hostKind === 'any') this.anyHost.push(e);
      else if (e.hostKind === 'wildcard') this.wildcard.push(e);
      else {
        const k = hostOnly(e.host!);
        let list = this.exact.get(k);
        if (!list) this.exact.set(k, (list = []));
        list.push(e);
      }
    }
  }
  lists(b: Entry): Entry[][] {
    if (b.hostKind === 'any') return [this.anyHost];
    if (b.hostKind === 'wildcard') return [this.anyHost, this.wildcard];
    return [this.anyHost, this.wildcard, this.exact.get(hostOnly(b.host!)) ?? []];
  }
}

/** The best-ranked entry of another route that matches every request `b` matches, if any. */
function firstCovering(index: CandidateIndex, b: Entry): Entry | undefined {
  let best: Entry | undefined;
  for (const list of index.lists(b)) {
    for (const a of list) {
      if (a.entry.rank >= b.entry.rank || (best && a.entry.rank >= best.entry.rank)) break;
      if (a.route.name !== b.route.name && covers(a, b)) {
        best = a;
        break;
      }
    }
  }
  return best;
}

/** Whether every request that entry `b` matches is matched by entry `a` (ranks aside). */
export function covers(a: Entry, b: Entry): boolean {
  return hostCovers(a, b) && pathCovers(a, b) && conditionsCover(a, b);
}

/** The host part of an exact `host:port` pattern: requests carry the port apart (RouteRequest.port). */
function hostOnly(h: string): string {
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

function hostCovers(a: Entry, b: Entry): boolean {
  if (a.hostKind === 'any') return true;
  if (b.hostKind === 'any') return false;
  const ah = a.host!;
  const bh = b.host!;
  if (a.hostKind === 'exact') return b.hostKind === 'exact' && (bh === ah || (!ah.includes(':') && hostOnly(bh) === ah));
  if (ah.startsWith('*.')) {
    // `*.x` matches any host ending in `.x`, at any depth (the router tries every label boundary).
    const suffix = ah.slice(1);
    if (b.hostKind === 'exact') return hostOnly(bh).endsWith(suffix);
    return bh.startsWith('*.') && bh.slice(1).endsWith(suffix);
  }
  const prefix = ah.slice(0, -1);
  if (b.hostKind === 'exact') return hostOnly(bh).startsWith(prefix);
  return bh.endsWith('.*') && bh.slice(0, -1).startsWith(prefix);
}

/** A prefix entry's path ('' for `/`) matches `path` on segment boundaries, as the router's segment tree does. */
function prefixMatches(prefix: string, requireSlash: boolean, path: string): boolean {
  if (prefix === '') return true;
  if (path === prefix) return !requireSlash;
  return path.startsWith(prefix + '/');
}

function pathCovers(a: Entry, b: Entry): boolean {
  if (a.pathKind === 'any') return true;
  if (b.pathKind === 'any') return false;
  const ae = a.entry;
  const be = b.entry;
  switch (a.pathKind) {
    case 'prefix':
      if (ae.path === '') return true;
      if (b.pathKind === 'exact') return prefixMatches(ae.path, ae.requireSlash, be.path);
      if (b.pathKind === 'prefix') return (be.path === ae.path && (!ae.requireSlash || be.requireSlash)) || be.path.startsWith(ae.path + '/');
      return false;
    case 'exact':
      return b.pathKind === 'exact' && be.path === ae.path;
    case 'regex':
      if (b.pathKind === 'exact') return ae.regex!.exec(be.path) !== null;
      return b.pathKind === 'regex' && be.path === ae.path;
  }
}

function sameValue(x: string | RegExp, y: string | RegExp): boolean {
  if (typeof x === 'string' || typeof y === 'string') return x === y;
  return x.source === y.source && x.flags === y.flags;
}

function headerImplied(want: HeaderMatcher, have: readonly HeaderMatcher[]): boolean {
  return have.some((h) => h.name === want.name && h.values.every((v) => want.values.some((w) => sameValue(w, v))));
}

function queryImplied(want: QueryMatcher, have: readonly QueryMatcher[]): boolean {
  if (!have.some((q) => q.name === want.name)) return false;
  if (want.values.includes('')) return true;
  return have.some((q) => q.name === want.name && q.values.every((v) => v !== '' && want.values.includes(v)));
}

function conditionsCover(a: Entry, b: Entry): boolean {
  const ar = a.entry.route;
  const br = b.entry.route;
  if (ar.methods !== undefined) {
    if (br.methods === undefined) return false;
    for (const m of br.methods) if (!ar.methods.has(m)) return false;
  }
  return ar.headers.every((h) => headerImplied(h, br.headers)) && ar.query.every((q) => queryImplied(q, br.query));
}

function describe(e: Entry): string {
  const host = e.host === undefined ? 'any host' : `host '${e.host}'`;
  const { path, requireSlash } = e.entry;
  const written = { any: '', exact: `=${path}`, prefix: path === '' ? '/' : requireSlash ? `${path}/` : path, regex: path }[e.pathKind];
  return `${host}, ${e.pathKind === 'any' ? 'any path' : `path '${written}'`}`;
}

/** Which precedence rule (router.ts, highest first) puts `a` before `b`, in words. */
function whyFirst(a: Entry, b: Entry): string {
  const ar = a.entry.route;
  const br = b.entry.route;
  if (ar.priority !== br.priority) return `priority ${ar.priority} > ${br.priority}`;
  if (a.pathKind !== b.pathKind) return `${a.pathKind} path beats ${b.pathKind} path`;
  const al = a.entry.path.length + (a.entry.requireSlash ? 1 : 0);
  const bl = b.entry.path.length + (b.entry.requireSlash ? 1 : 0);
  if ((a.pathKind === 'prefix' || a.pathKind === 'exact') && al !== bl) return 'longer path';
  if (a.hostKind !== b.hostKind) return `${a.hostKind} host beats ${b.hostKind === 'any' ? 'no host' : `${b.hostKind} host`}`;
  if (ar.conditionCount !== br.conditionCount) return `more conditions (${ar.conditionCount} > ${br.conditionCount})`;
  return `same priority and specificity; '${ar.name}' sorts first by name`;
}

/** Match criteria in a canonical form: two routes with equal keys match exactly the same requests. */
function criteriaKey(r: RouteConfig): string {
  const sorted = (xs: readonly string[] | undefined, lower = false) => [...new Set((xs ?? []).map((x) => (lower ? x.toLowerCase() : x)))].sort();
  const headers = Object.entries(r.headers ?? {})
    .map(([k, v]) => [k.toLowerCase(), sorted(v.map((x) => (x.startsWith('~') ? x : x.toLowerCase())))] as const)
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  const query = Object.entries(r.query ?? {})
    .map(([k, v]) => [k, sorted(v)] as const)
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return JSON.stringify([r.priority ?? 0, sorted(r.hosts, true), sorted(r.paths), sorted(r.methods?.map((m) => m.toUpperCase())), headers, query]);
}
