/**
 * Traefik dynamic configuration → Gatehouse's config document.
 *
 * Routers become routes (one per alternative of an `||` rule), loadBalancer services become services
 * and upstreams, weighted / mirroring / failover services become traffic-split, mirror and
 * circuit-breaker instances on the routes, and middlewares become route plugins. Every router, service
 * and middleware gets a report entry; anything not carried over exactly says why.
 */
import {
  emptyDocument,
  type ConfigDocument,
  type ConsumerConfig,
  type HealthchecksConfig,
  type RouteConfig,
  type ServiceConfig,
  type UpstreamConfig,
} from '../../config/schema.js';
import { ImportInputError, type Importer, type ImportOutcome, type ImportReportEntry, type ImportResult } from '../types.js';
import { field, isRec, readInput, type Def, type Rec, type TraefikModel } from './input.js';
import { buildMatch, MatchError, type Notes, type RouteMatch } from './match.js';
import { middlewareType, parseDuration, translateMiddleware, type MwEffect, type PathOp, type PluginSpec } from './middlewares.js';
import { parseRule, RuleSyntaxError, toDisjunctiveNormalForm, type Literal } from './rule.js';

const RANK: Record<ImportOutcome, number> = { mapped: 0, approximated: 1, unmapped: 2 };
const TAGS = ['traefik'];

/** A report entry being built: its outcome is the worst of what was noted. */
class Entry {
  outcome: ImportOutcome = 'mapped';
  readonly messages: string[] = [];
  readonly targets: string[] = [];
  constructor(readonly source: string) {}
  approx(msg: string): void {
    if (RANK[this.outcome] < 1) this.outcome = 'approximated';
    this.messages.push(msg);
  }
  fail(msg: string): void {
    this.outcome = 'unmapped';
    this.messages.unshift(msg);
  }
  note(msg: string): void {
    this.messages.push(msg);
  }
  toReport(): ImportReportEntry {
    const e: ImportReportEntry = { outcome: this.outcome, source: this.source, message: this.messages.join('; ') };
    if (this.targets.length && this.outcome !== 'unmapped') e.target = [...new Set(this.targets)].join(', ');
    return e;
  }
}

/** Unique names in the schema's alphabet. */
class Names {
  private readonly used = new Set<string>();
  take(raw: string, lower = false): string {
    let base = raw.replace(/[^A-Za-z0-9._~-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
    if (lower) base = base.toLowerCase().replace(/[_~]/g, '-');
    base = (base || 'imported').slice(0, 120);
    let name = base;
    for (let i = 2; this.used.has(name.toLowerCase()); i++) name = `${base}-${i}`;
    this.used.add(name.toLowerCase());
    return name;
  }
}

interface LbBuilt {
  service: string;
  preserveHost: boolean;
}

interface ServiceUse {
  service: string;
  preserveHost: boolean;
  plugins: PluginSpec[];
  /** The report entry of a weighted/mirroring/failover service, which lists the routes it became part of. */
  entry?: Entry;
}

interface RoutePlan {
  route: RouteConfig;
  plugins: Map<string, Rec>;
  /** The router's Traefik priority: explicit, or the rule's length. */
  effectivePriority: number;
}

const HTPASSWD_FORMATS: [RegExp, string][] = [
  [/^\$apr1\$/, 'Apache MD5 ($apr1$)'],
  [/^\$2[aby]\$/, 'bcrypt'],
  [/^\{SHA\}/, 'SHA-1 ({SHA})'],
  [/^\$[156]\$/, 'crypt'],
];

class Converter {
  readonly doc: ConfigDocument = emptyDocument();
  private readonly entries: Entry[] = [];
  private readonly routeNames = new Names();
  private readonly serviceNames = new Names();
  private readonly upstreamNames = new Names();
  private readonly consumerNames = new Names();
  private readonly lbBuilt = new Map<string, LbBuilt | { error: string }>();
  private readonly serviceEntries = new Map<string, Entry>();
  private readonly mwEffects = new Map<string, { effect: MwEffect; entry: Entry }>();
  private readonly consumers = new Map<string, ConsumerConfig>();
  private readonly plans: RoutePlan[] = [];
  /** Gatehouse service → retries wanted by each route using it (0: no retry middleware). */
  private readonly retries = new Map<string, Map<string, number>>();

  constructor(private readonly model: TraefikModel) {}

  private entry(source: string): Entry {
    const e = new Entry(source);
    this.entries.push(e);
    return e;
  }

  /** `name@file` → `name`; other providers are outside this file. */
  private refKey(ref: string, what: Map<string, Def>): { key: string } | { error: string } {
    const at = ref.lastIndexOf('@');
    if (at === -1) return what.has(ref) ? { key: ref } : { error: `'${ref}' is not defined in this file` };
    const name = ref.slice(0, at);
    const provider = ref.slice(at + 1);
    const own = this.model.kind === 'file' ? 'file' : 'kubernetescrd';
    if (provider === own && what.has(name)) return { key: name };
    if (provider === own) return { error: `'${ref}' is not defined in this file` };
    return { error: `'${ref}' comes from Traefik's '${provider}' provider, which is not part of this import` };
  }

  run(): ImportResult {
    for (const [id, def] of this.model.routers) this.router(id, def);
    // Services no router uses are still converted: the user may route to them later.
    for (const [id, def] of this.model.services) {
      if (this.serviceEntries.has(id)) continue;
      if (isRec(field(def.spec, 'loadBalancer'))) this.loadBalancer(id, def);
      else this.entry(def.source).fail(def.error ?? 'no router uses this service (only loadBalancer services are imported on their own)');
    }
    for (const [id, def] of this.model.middlewares) {
      if (!this.mwEffects.has(id)) {
        const e = this.entry(def.source);
        e.fail('no router uses this middleware');
      }
    }
    for (const [id, def] of this.model.serversTransports) {
      if (!this.usedTransports.has(id)) this.entry(def.source).fail('no service uses this serversTransport');
    }
    this.applyPriorities();
    this.applyRetries();
    for (const p of this.plans) {
      this.doc.routes.push(p.route);
      for (const [name, config] of p.plugins) this.doc.plugins.push({ name, route: p.route.name, enabled: true, config, tags: [...TAGS] });
    }
    this.doc.consumers.push(...this.consumers.values());
    const report = [...this.model.report, ...this.entries.map((e) => e.toReport())];
    return { document: this.doc, report };
  }

  // ---------------------------------------------------------------- routers

  private router(id: string, def: Def): void {
    const entry = this.entry(def.source);
    if (def.error) return entry.fail(def.error);
    const spec = def.spec;
    const rule = field(spec, 'rule');
    if (typeof rule !== 'string' || !rule.trim()) return entry.fail('the router has no rule');

    let alternatives: Literal[][];
    try {
      alternatives = toDisjunctiveNormalForm(parseRule(rule));
    } catch (e) {
      if (e instanceof RuleSyntaxError) return entry.fail(`rule \`${rule}\`: ${e.message}`);
      throw e;
    }

    const notes: Notes = { approximated: [], unmapped: [] };
    const matches: RouteMatch[] = [];
    try {
      for (const alt of alternatives) {
        const m = buildMatch(alt, notes);
        if (m) matches.push(m);
        else notes.unmapped.push('an alternative of the rule can never match (contradictory conditions); it was left out');
      }
    } catch (e) {
      if (e instanceof MatchError) return entry.fail(`rule \`${rule}\`: ${e.message}`);
      throw e;
    }
    if (matches.length === 0) return entry.fail(`rule \`${rule}\` can never match`);
    for (const n of new Set(notes.approximated)) entry.approx(n);
    for (const n of new Set(notes.unmapped)) entry.approx(`not mapped: ${n}`);
    if (alternatives.length > 1) entry.note(`the rule's ${matches.length} alternatives (||) became ${matches.length} routes`);

    // Middlewares, chains flattened in order.
    const mwIds = Array.isArray(field(spec, 'middlewares')) ? (field(spec, 'middlewares') as unknown[]).map(String) : [];
    const effects: { id: string; effect: MwEffect; entry: Entry }[] = [];
    let disabled: string | undefined;
    const flatten = (refs: string[], stack: string[], at: string) => {
      refs.forEach((ref, i) => {
        const r = this.refKey(ref, this.model.middlewares);
        if ('error' in r) {
          disabled ??= `middleware ${r.error}`;
          this.entry(`${at}[${i}]`).fail(`middleware ${r.error}; the routes are imported disabled, since it may have guarded them`);
          return;
        }
        if (stack.includes(r.key)) {
          this.entry(`${at}[${i}]`).fail(`chain cycle through '${r.key}'`);
          return;
        }
        const mdef = this.model.middlewares.get(r.key)!;
        const chain = field(mdef.spec, 'chain');
        if (isRec(chain)) {
          let ce = this.mwEffects.get(r.key);
          if (!ce) {
            ce = { effect: { outcome: 'mapped', approximations: [], notes: [], plugins: [] }, entry: this.entry(mdef.source) };
            ce.entry.note('chain: flattened into the routes of its routers');
            this.mwEffects.set(r.key, ce);
          }
          const inner = Array.isArray(field(chain, 'middlewares')) ? (field(chain, 'middlewares') as unknown[]).map(String) : [];
          effects.push({ id: r.key, effect: ce.effect, entry: ce.entry });
          flatten(inner, [...stack, r.key], `${mdef.source}.chain.middlewares`);
          return;
        }
        const me = this.middleware(r.key, mdef);
        effects.push({ id: r.key, ...me });
        if (me.effect.disable) disabled ??= `middleware '${r.key}': ${me.effect.disable}`;
      });
    };
    flatten(mwIds, [], `${def.source}.middlewares`);

    // The service, unless a middleware answers every request itself (a redirect).
    const serviceRef = field(spec, 'service');
    let use: ServiceUse | undefined;
    const answers = effects.some((e) => e.effect.plugins.some((p) => p.name === 'redirect'));
    if (typeof serviceRef === 'string' && serviceRef) {
      const r = this.useService(serviceRef);
      if ('error' in r) {
        if (!answers) return entry.fail(`service ${r.error}`);
        entry.approx(`service ${r.error}; the routes have none (the redirect answers every request)`);
      } else use = r;
    } else if (!answers) return entry.fail('the router has no service');

    for (const k of Object.keys(spec)) {
      const f = k.toLowerCase();
      if (f === 'rulesyntax') entry.note(`ruleSyntax ${String(spec[k])}: both the v2 and the v3 matcher forms are read`);
      else if (f === 'observability') entry.note('observability: Gatehouse records metrics, traces and access logs for every route');
      else if (!['rule', 'service', 'middlewares', 'priority', 'entrypoints', 'tls'].includes(f)) entry.approx(`not mapped: ${k}`);
    }
    const entryPoints = field(spec, 'entryPoints');
    if (Array.isArray(entryPoints) && entryPoints.length) {
      const msg = `entryPoints ${entryPoints.join(', ')}: Gatehouse has one proxy listener; the route protocol follows the router's tls setting`;
      // The conventional web/websecure pair maps onto that listener; other entry points (an internal port) do not.
      if (entryPoints.every((p) => ['web', 'websecure', 'http', 'https'].includes(String(p).toLowerCase()))) entry.note(msg);
      else entry.approx(`${msg}, so the routes are reachable on the proxy listener rather than only on those entry points`);
    }
    const tls = field(spec, 'tls');
    const hasTls = tls !== undefined && tls !== null && tls !== false;
    if (isRec(tls) && Object.keys(tls).length) {
      entry.approx(`tls ${JSON.stringify(tls)}: certificates and TLS options belong to the Gatehouse listener; the routes only accept HTTPS`);
    }
    let protocols: ('http' | 'https')[] = hasTls ? ['https'] : ['http'];

    // Path operations compose into one request-transformer rewrite_path.
    let path: { regex: string; replacement: string } | undefined;
    let pathFrom: string | undefined;
    const plugins = new Map<string, Rec>();
    const pluginFrom = new Map<string, string>();
    let retries = 0;
    const addPlugin = (p: PluginSpec, from: string, entryOf: Entry): boolean => {
      const prev = plugins.get(p.name);
      if (!prev) {
        plugins.set(p.name, structuredClone(p.config));
        pluginFrom.set(p.name, from);
        return true;
      }
      if (p.name === 'request-transformer' || p.name === 'response-headers') {
        mergeSections(prev, p.config);
        return true;
      }
      if (p.name === 'acl' && Array.isArray(prev.allow) && Array.isArray(p.config.allow)) {
        // Two basicAuth middlewares in a row: Traefik required both; acl can only require one group.
        entryOf.approx(`on ${def.source}: a consumer of either basicAuth middleware is accepted (Traefik required both)`);
        prev.allow = [...new Set([...(prev.allow as string[]), ...(p.config.allow as string[])])];
        return true;
      }
      entryOf.approx(`not mapped on ${def.source}: a second ${p.name} instance on one route (the one from '${pluginFrom.get(p.name)}' is kept)`);
      return false;
    };

    if (use) for (const p of use.plugins) addPlugin(p, String(serviceRef), entry);
    for (const { id: mid, effect, entry: me } of effects) {
      for (const p of effect.plugins) addPlugin(p, mid, me);
      if (effect.protocols) protocols = protocols.filter((x) => effect.protocols!.includes(x));
      if (effect.retries !== undefined) retries = Math.max(retries, effect.retries);
      if (effect.path) {
        const next = composePath(path, effect.path);
        if (next === undefined) me.approx(`not mapped on ${def.source}: a second path rewrite after '${pathFrom}' cannot be combined into one`);
        else {
          if (path && effect.path.kind === 'prefix' && path.regex !== '^.*$' && path.regex !== '^(.*)$')
            me.approx(`on ${def.source}: the prefix is added only to paths the earlier '${pathFrom}' rewrite matched`);
          path = next;
          pathFrom = mid;
        }
      }
    }
    if (protocols.length === 0) {
      protocols = hasTls ? ['https'] : ['http'];
      entry.approx('a redirectScheme middleware would never apply to this router; its redirect still answers every request');
    }
    if (path) {
      const prev = plugins.get('request-transformer') ?? {};
      prev.rewrite_path = { regex: path.regex, replacement: path.replacement };
      plugins.set('request-transformer', prev);
    }
    if (disabled) entry.approx(`imported disabled: ${disabled}`);

    const explicit = field(spec, 'priority');
    const given = typeof explicit === 'number' ? explicit : typeof explicit === 'string' && /^-?\d+$/.test(explicit) ? Number(explicit) : undefined;
    // Traefik reads priority 0 as "not set": the rule's length.
    const prio = given === 0 ? undefined : given;
    matches.forEach((m, i) => {
      const name = this.routeNames.take(matches.length > 1 ? `${id}-${i + 1}` : id);
      const route: RouteConfig = {
        name,
        hosts: m.hosts,
        paths: m.paths,
        methods: m.methods as RouteConfig['methods'],
        priority: 0,
        strip_path: false,
        preserve_host: use?.preserveHost ?? true,
        protocols: [...protocols],
        enabled: disabled === undefined,
        tags: [...TAGS],
      };
      if (use) route.service = use.service;
      if (Object.keys(m.headers).length) route.headers = m.headers;
      if (Object.keys(m.query).length) route.query = m.query;
      const routePlugins = new Map([...plugins].map(([k, v]) => [k, structuredClone(v)]));
      if (m.ipAllow.length || m.ipDeny.length) {
        const existing = routePlugins.get('ip-restriction');
        if (existing) entry.approx(`not mapped on route ${name}: ClientIP cannot be combined with the ipAllowList middleware's ip-restriction`);
        else routePlugins.set('ip-restriction', { allow: m.ipAllow, deny: m.ipDeny });
      }
      this.plans.push({ route, plugins: routePlugins, effectivePriority: prio ?? rule.length });
      entry.targets.push(`routes/${name}`);
      use?.entry?.targets.push(`routes/${name}`);
      for (const { entry: me } of effects) me.targets.push(`routes/${name}`);
      if (use) {
        let m2 = this.retries.get(use.service);
        if (!m2) this.retries.set(use.service, (m2 = new Map()));
        m2.set(name, retries);
      }
    });
  }

  /** Traefik orders routers by priority, by default the rule's length; Gatehouse's explicit priority keeps that order. */
  private applyPriorities(): void {
    if (this.plans.length === 0) return;
    const values = [...new Set(this.plans.map((p) => p.effectivePriority))].sort((a, b) => a - b);
    const fits = values[0]! >= -1000 && values[values.length - 1]! <= 1000;
    const rank = new Map(values.map((v, i) => [v, i + 1]));
    for (const p of this.plans) p.route.priority = fits ? p.effectivePriority : rank.get(p.effectivePriority)!;
    const e = this.entry(this.model.kind === 'file' ? 'http.routers (priority)' : 'IngressRoute routes (priority)');
    e.note(
      "each route's priority is its router's Traefik priority (explicit, or the rule's length as Traefik defaults to), so routes are tried in Traefik's order; routes of one router share it",
    );
    if (!fits) e.approx(`priorities outside -1000…1000 were replaced by their rank (1…${values.length}), which keeps the order`);
  }

  private applyRetries(): void {
    for (const [svc, byRoute] of this.retries) {
      const max = Math.max(...byRoute.values());
      if (max === 0) continue;
      const s = this.doc.services.find((x) => x.name === svc);
      if (!s) continue;
      s.retries = max;
      const without = [...byRoute].filter(([, r]) => r !== max).map(([n]) => n);
      if (without.length) this.serviceEntries.get(svc)?.approx(`retries ${max} (from a retry middleware) also apply to routes ${without.join(', ')}, whose routers had fewer or none`);
    }
  }

  // ------------------------------------------------------------ middlewares

  private middleware(id: string, def: Def): { effect: MwEffect; entry: Entry } {
    const cached = this.mwEffects.get(id);
    if (cached) return cached;
    const entry = this.entry(def.source);
    const t = middlewareType(def.spec);
    let effect: MwEffect;
    if (!t) effect = { outcome: 'unmapped', approximations: [], notes: [`a middleware needs exactly one type, found ${Object.keys(def.spec).join(', ') || 'none'}`], plugins: [], disable: 'its type is unknown' };
    else effect = translateMiddleware(t[0], t[1], id);
    if (effect.outcome === 'unmapped') entry.fail(effect.notes.join('; '));
    else {
      for (const n of effect.approximations) entry.approx(n);
      for (const n of effect.notes) entry.note(n);
    }
    if (effect.users && effect.group) this.basicAuthUsers(effect.users, effect.group, def.source);
    const r = { effect, entry };
    this.mwEffects.set(id, r);
    return r;
  }

  private basicAuthUsers(users: { username: string; hash: string }[], group: string, source: string): void {
    users.forEach(({ username, hash }, i) => {
      const at = `${source}.basicAuth.users[${i}] (${username})`;
      const e = this.entry(at);
      let consumer = [...this.consumers.values()].find((c) => c.custom_id === username || c.username === username);
      if (!consumer) {
        const name = this.consumerNames.take(username);
        consumer = { username: name, groups: [], tags: [...TAGS] };
        if (name !== username) consumer.custom_id = username;
        this.consumers.set(name, consumer);
      }
      if (!consumer.groups.includes(group)) consumer.groups.push(group);
      e.targets.push(`consumers/${consumer.username}`);
      const format = HTPASSWD_FORMATS.find(([re]) => re.test(hash))?.[1] ?? 'an unrecognised';
      e.approx(
        `consumer created without a password: its ${format} htpasswd hash cannot be turned into the scrypt hash Gatehouse's basic-auth verifies; add a basic-auth credential for '${consumer.username}' (admin API or dashboard)` +
          (consumer.username !== username ? `; the name was changed to fit Gatehouse's naming rules (custom_id keeps '${username}')` : ''),
      );
    });
  }

  // --------------------------------------------------------------- services

  private useService(ref: string): ServiceUse | { error: string } {
    const r = this.refKey(ref, this.model.services);
    if ('error' in r) return r;
    const def = this.model.services.get(r.key)!;
    if (def.error) {
      const e = this.serviceEntry(r.key, def);
      if (e.outcome !== 'unmapped') e.fail(def.error);
      return { error: `'${ref}': ${def.error}` };
    }
    const lb = field(def.spec, 'loadBalancer');
    if (isRec(lb)) {
      const b = this.loadBalancer(r.key, def);
      if ('error' in b) return { error: `'${ref}': ${b.error}` };
      return { service: b.service, preserveHost: b.preserveHost, plugins: [] };
    }
    const weighted = field(def.spec, 'weighted');
    if (isRec(weighted)) return this.weighted(r.key, def, weighted);
    const mirroring = field(def.spec, 'mirroring');
    if (isRec(mirroring)) return this.mirroring(r.key, def, mirroring);
    const failover = field(def.spec, 'failover');
    if (isRec(failover)) return this.failover(r.key, def, failover);
    const e = this.serviceEntry(r.key, def);
    e.fail(`unknown service type ${Object.keys(def.spec).join(', ')}`);
    return { error: `'${ref}' has an unknown type` };
  }

  private serviceEntry(key: string, def: Def): Entry {
    let e = this.serviceEntries.get(key);
    if (!e) {
      e = this.entry(def.source);
      this.serviceEntries.set(key, e);
    }
    return e;
  }

  /** A loadBalancer child of weighted/mirroring/failover. */
  private child(ref: unknown, what: string): LbBuilt | { error: string } {
    if (typeof ref !== 'string') return { error: `${what} has no service name` };
    const r = this.refKey(ref, this.model.services);
    if ('error' in r) return { error: `${what} ${r.error}` };
    const def = this.model.services.get(r.key)!;
    if (!isRec(field(def.spec, 'loadBalancer'))) return { error: `${what} '${ref}' is not a loadBalancer service (nested weighted/mirroring services are not imported)` };
    return this.loadBalancer(r.key, def);
  }

  private weighted(key: string, def: Def, w: Rec): ServiceUse | { error: string } {
    const e = this.serviceEntry(key, def);
    const list = Array.isArray(field(w, 'services')) ? (field(w, 'services') as unknown[]) : [];
    const targets: { service: string; weight: number }[] = [];
    let first: LbBuilt | undefined;
    for (const [i, s] of list.entries()) {
      const c = this.child(field(s, 'name'), `weighted.services[${i}]`);
      if ('error' in c) {
        if (!e.messages.includes(c.error)) e.fail(c.error);
        return { error: `'${key}': ${c.error}` };
      }
      first ??= c;
      if (c.preserveHost !== first.preserveHost && !e.messages.some((m) => m.includes('passHostHeader'))) {
        e.approx(`passHostHeader differs between the weighted services; the routes use the first one's (${first.preserveHost})`);
      }
      const weight = Number(field(s, 'weight') ?? 1);
      targets.push({ service: c.service, weight: Number.isFinite(weight) ? Math.max(0, Math.min(Math.round(weight), 1_000_000)) : 1 });
    }
    if (!first) {
      e.fail('weighted service without services');
      return { error: `'${key}' has no services` };
    }
    if (targets.length > 20) {
      e.fail('traffic-split takes at most 20 services');
      return { error: `'${key}' has more than 20 services` };
    }
    const config: Rec = { targets };
    const sticky = field(field(w, 'sticky'), 'cookie');
    if (isRec(sticky) || field(w, 'sticky') !== undefined) {
      const name = field(sticky, 'name');
      config.sticky = { by: 'cookie', ...(typeof name === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) ? { name } : {}) };
      const extras = ['secure', 'httpOnly', 'sameSite', 'maxAge', 'path', 'domain'].filter((f) => field(sticky, f) !== undefined);
      if (extras.length) e.approx(`sticky cookie ${extras.join(', ')}: traffic-split sets its cookie with Path ${'/'} and a 1-day Max-Age`);
    }
    if (field(w, 'healthCheck') !== undefined) e.approx('healthCheck on a weighted service: traffic-split keeps sending to a service whose targets are all down (each service answers 503)');
    if (!e.messages.some((m) => m.startsWith('traffic-split'))) e.note(`traffic-split on each route, over ${targets.map((t) => `${t.service} (${t.weight})`).join(', ')}`);
    return { service: first.service, preserveHost: first.preserveHost, plugins: [{ name: 'traffic-split', config }], entry: e };
  }

  private mirroring(key: string, def: Def, m: Rec): ServiceUse | { error: string } {
    const e = this.serviceEntry(key, def);
    const main = this.child(field(m, 'service'), 'mirroring.service');
    if ('error' in main) {
      if (!e.messages.includes(main.error)) e.fail(main.error);
      return { error: `'${key}': ${main.error}` };
    }
    const mirrors = Array.isArray(field(m, 'mirrors')) ? (field(m, 'mirrors') as unknown[]) : [];
    const plugins: PluginSpec[] = [];
    const done = e.messages.length > 0;
    if (mirrors.length) {
      const c = this.child(field(mirrors[0], 'name'), 'mirroring.mirrors[0]');
      if ('error' in c) {
        if (!done) e.approx(`not mapped: ${c.error}`);
      } else {
        const config: Rec = { service: c.service, percentage: Math.max(0, Math.min(Number(field(mirrors[0], 'percent') ?? 0), 100)) };
        const max = field(m, 'maxBodySize');
        const n = typeof max === 'number' ? max : undefined;
        if (n !== undefined && n >= 0) config.max_body_size = Math.min(n, 16_777_216);
        if (!done && (n === undefined || n < 0 || n > 16_777_216)) e.approx('bodies over 16 MiB (or with unknown length) are not mirrored; Traefik mirrored bodies of any size');
        if (field(m, 'mirrorBody') === false) {
          config.max_body_size = 0;
          if (!done) e.approx('mirrorBody: false → requests with a body are not mirrored at all (Traefik mirrored them without the body)');
        }
        plugins.push({ name: 'mirror', config });
      }
      if (mirrors.length > 1 && !done) e.approx(`not mapped: mirrors after the first (${mirrors.slice(1).map((x) => String(field(x, 'name'))).join(', ')}); one mirror instance per route`);
    } else if (!done) e.approx('no mirrors: the routes use the main service only');
    if (!done) e.note('mirror plugin on each route; the main service serves the responses');
    if (!done && field(m, 'healthCheck') !== undefined) e.note('healthCheck on mirroring: health follows the main service');
    return { service: main.service, preserveHost: main.preserveHost, plugins, entry: e };
  }

  private failover(key: string, def: Def, f: Rec): ServiceUse | { error: string } {
    const e = this.serviceEntry(key, def);
    const main = this.child(field(f, 'service'), 'failover.service');
    if ('error' in main) {
      if (!e.messages.includes(main.error)) e.fail(main.error);
      return { error: `'${key}': ${main.error}` };
    }
    const fb = this.child(field(f, 'fallback'), 'failover.fallback');
    const done = e.messages.length > 0;
    if ('error' in fb) {
      if (!done) e.approx(`not mapped: ${fb.error}; the routes use the main service only`);
      return { service: main.service, preserveHost: main.preserveHost, plugins: [], entry: e };
    }
    if (!done) e.approx("circuit-breaker with strategy fallback: requests go to the fallback while the main service's breaker is open (Traefik switched when its health check marked every server down)");
    return {
      service: main.service,
      preserveHost: main.preserveHost,
      plugins: [{ name: 'circuit-breaker', config: { strategy: 'fallback', fallback_service: fb.service } }],
      entry: e,
    };
  }

  private readonly usedTransports = new Set<string>();

  private loadBalancer(key: string, def: Def): LbBuilt | { error: string } {
    const cached = this.lbBuilt.get(key);
    if (cached) return cached;
    const e = this.serviceEntry(key, def);
    const fail = (msg: string) => {
      e.fail(msg);
      const r = { error: msg };
      this.lbBuilt.set(key, r);
      return r;
    };
    if (def.error) return fail(def.error);
    for (const n of def.notes ?? []) e.approx(n);
    const lb = field(def.spec, 'loadBalancer') as Rec;
    const serversRaw = field(lb, 'servers');
    const servers = Array.isArray(serversRaw) ? serversRaw : [];
    const parsed: { url: URL; weight: number }[] = [];
    for (const [i, s] of servers.entries()) {
      const raw = field(s, 'url');
      if (typeof raw !== 'string') {
        if (field(s, 'address') !== undefined) return fail('servers with `address` are TCP/UDP servers');
        return fail(`servers[${i}] has no url`);
      }
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return fail(`servers[${i}].url '${raw}' is not a URL`);
      }
      if (url.protocol === 'h2c:') {
        e.approx(`servers[${i}]: h2c is sent as HTTP/1.1 (Gatehouse speaks HTTP/1.1 to upstreams)`);
        url = new URL(raw.replace(/^h2c:/, 'http:'));
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`servers[${i}].url: scheme '${url.protocol}' is not supported`);
      const weight = field(s, 'weight');
      parsed.push({ url, weight: typeof weight === 'number' ? Math.max(0, Math.min(Math.round(weight), 65535)) : 1 });
      if (field(s, 'preservePath') !== undefined) e.note(`servers[${i}].preservePath: the URL path is always used as the service path`);
    }
    const name = this.serviceNames.take(key);
    const protocol = parsed[0]?.url.protocol === 'https:' ? 'https' : 'http';
    if (parsed.some((p) => p.url.protocol !== parsed[0]!.url.protocol)) e.approx(`servers mix http and https; all are reached with ${protocol}`);
    const basePath = parsed[0] && parsed[0].url.pathname !== '/' ? parsed[0].url.pathname : undefined;
    if (basePath) e.note(`the servers' URL path ${basePath} is the service path (prepended upstream)`);
    if (parsed.some((p) => p.url.pathname !== parsed[0]!.url.pathname)) e.approx('servers have different URL paths; the first one is used');

    const pass = field(lb, 'passHostHeader');
    const preserveHost = pass === undefined ? true : pass !== false && pass !== 'false';

    const service: ServiceConfig = {
      name,
      connect_timeout: 5_000,
      write_timeout: 60_000,
      read_timeout: 60_000,
      retries: 0,
      retry_on_statuses: [],
      retry_budget: { ratio: 0.2, min_per_second: 10 },
      enabled: true,
      tags: [...TAGS],
    };
    const hc = field(lb, 'healthCheck');
    const sticky = field(lb, 'sticky');
    const passive = field(lb, 'passiveHealthCheck');
    const needsUpstream = parsed.length !== 1 || hc !== undefined || sticky !== undefined || passive !== undefined;
    let upstream: UpstreamConfig | undefined;
    if (!needsUpstream) {
      const u = parsed[0]!.url;
      service.url = `${protocol}://${u.host}${basePath ?? ''}`;
    } else {
      upstream = {
        name: this.upstreamNames.take(`${key}-upstream`, true),
        algorithm: 'weighted-round-robin',
        hash_on: 'none',
        keepalive_connections: 256,
        keepalive_timeout: 60_000,
        targets: [],
        tags: [...TAGS],
      };
      const seen = new Set<string>();
      for (const p of parsed) {
        const port = p.url.port || (p.url.protocol === 'https:' ? '443' : '80');
        const target = `${p.url.hostname}:${port}`;
        if (seen.has(target)) {
          e.approx(`server ${target} listed twice; its weights are added`);
          const t = upstream.targets.find((x) => x.target === target)!;
          t.weight = Math.min(65535, t.weight + p.weight);
          continue;
        }
        seen.add(target);
        upstream.targets.push({ target, weight: p.weight, tags: [] });
      }
      if (parsed.length === 0) e.approx('no servers: the service answers 503 until targets are added to its upstream');
      service.protocol = protocol;
      service.host = upstream.name;
      if (basePath) service.path = basePath;
      const strategy = field(lb, 'strategy');
      if (typeof strategy === 'string' && strategy.toLowerCase() !== 'wrr' && strategy !== 'RoundRobin') {
        if (strategy.toLowerCase() === 'p2c') {
          upstream.algorithm = 'least-connections';
          e.approx('strategy p2c (power of two choices) → least-connections');
        } else e.approx(`strategy '${strategy}' → weighted-round-robin`);
      }
      if (sticky !== undefined) this.sticky(upstream, sticky, e);
      if (hc !== undefined || passive !== undefined) upstream.healthchecks = this.healthcheck(hc, passive, e);
      this.doc.upstreams.push(upstream);
    }
    if (field(lb, 'responseForwarding') !== undefined) e.note('responseForwarding.flushInterval: Gatehouse streams responses as they arrive');
    const st = field(lb, 'serversTransport');
    if (typeof st === 'string') this.serversTransport(st, service, upstream, e);
    this.doc.services.push(service);
    e.targets.push(`services/${name}`);
    if (upstream) e.targets.push(`upstreams/${upstream.name}`);
    if (!preserveHost) e.note('passHostHeader: false → preserve_host false on its routes');
    const r: LbBuilt = { service: name, preserveHost };
    this.lbBuilt.set(key, r);
    return r;
  }

  private sticky(up: UpstreamConfig, sticky: unknown, e: Entry): void {
    const cookie = field(sticky, 'cookie');
    const raw = field(cookie, 'name');
    const name = typeof raw === 'string' && raw ? raw : `_traefik_${up.name}`.replace(/[^A-Za-z0-9_-]/g, '_');
    up.algorithm = 'consistent-hashing';
    up.hash_on = 'cookie';
    up.hash_on_cookie = name;
    e.approx(
      `sticky cookie → consistent hashing on cookie '${name}': Gatehouse does not set the cookie, so stickiness holds only for clients that already send it (set it from the application, or use traffic-split's sticky cookie)`,
    );
  }

  private healthcheck(hc: unknown, passive: unknown, e: Entry): HealthchecksConfig {
    const out: HealthchecksConfig = {
      active: {
        enabled: false,
        type: 'http',
        https_verify_certificate: true,
        http_path: '/',
        interval: 5_000,
        timeout: 1_000,
        healthy: { successes: 1, http_statuses: [...range(200, 400)].filter(isRegistered) },
        unhealthy: { failures: 1, http_statuses: [...range(400, 432), 451, ...range(500, 512)] },
      },
      passive: { enabled: false, unhealthy: { failures: 5, timeouts: 3, http_statuses: [500, 502, 503, 504] }, eject_duration: 30_000 },
    };
    if (isRec(hc)) {
      const a = out.active;
      a.enabled = true;
      const mode = field(hc, 'mode');
      if (mode === 'grpc') {
        a.enabled = false;
        e.approx('not mapped: gRPC health checks (mode: grpc); active checks are off');
      }
      const path = field(hc, 'path');
      if (typeof path === 'string' && path.startsWith('/')) a.http_path = path;
      else if (path !== undefined) e.approx(`healthCheck.path '${String(path)}' does not start with /; '/' is probed`);
      a.interval = clampMs(field(hc, 'interval'), 30_000, 100);
      a.timeout = clampMs(field(hc, 'timeout'), 5_000, 1);
      const scheme = field(hc, 'scheme');
      if (scheme === 'https' || scheme === 'http') a.type = scheme;
      const headers: Record<string, string> = {};
      if (isRec(field(hc, 'headers'))) for (const [k, v] of Object.entries(field(hc, 'headers') as Rec)) headers[k] = String(v);
      const hostname = field(hc, 'hostname');
      if (typeof hostname === 'string' && hostname) headers.Host = hostname;
      if (Object.keys(headers).length) a.headers = headers;
      const status = field(hc, 'status');
      if (typeof status === 'number') {
        a.healthy.http_statuses = [status];
        a.unhealthy.http_statuses = [...range(200, 600)].filter((s) => s !== status && isRegistered(s)).slice(0, 100);
      }
      const port = field(hc, 'port');
      if (port !== undefined) e.approx(`not mapped: healthCheck.port ${String(port)} (probes go to each target's own port)`);
      const method = field(hc, 'method');
      if (typeof method === 'string' && method.toUpperCase() !== 'GET') e.approx(`not mapped: healthCheck.method ${method} (probes use GET)`);
      if (field(hc, 'followRedirects') === false) e.note('followRedirects: false — a 3xx probe counts as healthy, as in Traefik');
      if (field(hc, 'unhealthyInterval') !== undefined) e.approx('not mapped: healthCheck.unhealthyInterval (one interval for all targets)');
      e.note('healthCheck → active checks: one failed probe marks a target down and one success brings it back, as in Traefik');
    }
    if (isRec(passive)) {
      const p = out.passive;
      p.enabled = true;
      const max = Number(field(passive, 'maxFailedAttempts') ?? 1);
      p.unhealthy.failures = Math.max(1, Math.min(Number.isFinite(max) ? max : 1, 255));
      p.eject_duration = clampMs(field(passive, 'failureWindow'), 10_000, 1);
      e.approx('passiveHealthCheck: failures are counted consecutively and the target is ejected for failureWindow (Traefik counted within the window)');
    }
    return out;
  }

  private serversTransport(ref: string, service: ServiceConfig, upstream: UpstreamConfig | undefined, e: Entry): void {
    const r = this.refKey(ref, this.model.serversTransports);
    if ('error' in r) {
      e.approx(`not mapped: serversTransport ${r.error}`);
      return;
    }
    this.usedTransports.add(r.key);
    const st = this.model.serversTransports.get(r.key)!;
    const te = this.entry(st.source);
    te.targets.push(`services/${service.name}`);
    const fwd = field(st.spec, 'forwardingTimeouts');
    const dial = parseDuration(field(fwd, 'dialTimeout'));
    if (dial !== undefined && dial > 0) service.connect_timeout = Math.min(Math.max(Math.round(dial), 1), 3_600_000);
    const rh = parseDuration(field(fwd, 'responseHeaderTimeout'));
    if (rh !== undefined && rh > 0) {
      service.read_timeout = Math.min(Math.max(Math.round(rh), 1), 3_600_000);
      te.approx('responseHeaderTimeout → read_timeout, which also bounds the time between two reads of the body');
    }
    const idle = parseDuration(field(fwd, 'idleConnTimeout'));
    if (idle !== undefined && idle > 0 && upstream) upstream.keepalive_timeout = Math.min(Math.max(Math.round(idle), 1), 3_600_000);
    const maxIdle = field(st.spec, 'maxIdleConnsPerHost');
    if (typeof maxIdle === 'number' && maxIdle > 0 && upstream) upstream.keepalive_connections = Math.min(maxIdle, 10_000);
    const handled = ['forwardingtimeouts', 'maxidleconnsperhost'];
    for (const k of Object.keys(st.spec)) if (!handled.includes(k.toLowerCase())) te.approx(`not mapped: ${k} (upstream TLS and transport settings are not part of the config document)`);
    if (isRec(fwd)) for (const k of Object.keys(fwd)) if (!['dialtimeout', 'responseheadertimeout', 'idleconntimeout'].includes(k.toLowerCase())) te.approx(`not mapped: forwardingTimeouts.${k}`);
  }
}

function mergeSections(into: Rec, from: Rec): void {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (Array.isArray(cur) && Array.isArray(v)) into[k] = [...new Set([...cur, ...v])];
    else if (isRec(cur) && isRec(v)) mergeSections(cur, v);
    else into[k] = structuredClone(v);
  }
}

/** Composes a rewrite applied after `prev`; undefined when the two cannot be one regex rewrite. */
export function composePath(prev: { regex: string; replacement: string } | undefined, op: PathOp): { regex: string; replacement: string } | undefined {
  if (op.kind === 'replace') return { regex: '^.*$', replacement: op.path.replace(/[{}]/g, (c) => encodeURIComponent(c)) };
  if (op.kind === 'prefix') {
    const prefix = op.prefix.replace(/[{}]/g, (c) => encodeURIComponent(c));
    if (!prev) return { regex: '^(.*)$', replacement: `${prefix}{1}` };
    return { regex: prev.regex, replacement: `${prefix}${prev.replacement}` };
  }
  if (!prev) return { regex: op.regex, replacement: op.replacement };
  return undefined;
}

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i < to; i++) yield i;
}

function isRegistered(s: number): boolean {
  return (s >= 200 && s <= 208) || s === 226 || (s >= 300 && s <= 308) || (s >= 400 && s <= 431) || s === 451 || (s >= 500 && s <= 511);
}

function clampMs(v: unknown, def: number, min: number): number {
  const ms = v === undefined ? def : parseDuration(v) ?? def;
  return Math.min(Math.max(Math.round(ms), min), 3_600_000);
}

export const traefikImporter: Importer = {
  name: 'traefik',
  description: 'Traefik dynamic configuration: file provider (YAML or TOML) or Kubernetes IngressRoute / Middleware / TraefikService resources',
  convert(text: string, fileName: string): ImportResult {
    const model = readInput(text, fileName);
    if (model.routers.size === 0 && model.services.size === 0 && model.middlewares.size === 0 && model.report.length === 0) {
      throw new ImportInputError('the file defines no routers, services or middlewares');
    }
    return new Converter(model).run();
  },
};
