/**
 * The limits view's model: rate-limiting and concurrency-limit plugin instances at every scope in one
 * list, and which of them applies to each route and service. The precedence mirrors the proxy's
 * (server/src/proxy/snapshot.ts chainsFor): per plugin name the most specific enabled instance wins,
 * route over service over global; a winning override still enforces the global rate limit when
 * `inherit_global` is on (server/src/plugins/rate-limiting/plugin.ts).
 */

export const RATE_LIMITING = 'rate-limiting';
export const CONCURRENCY_LIMIT = 'concurrency-limit';
export type LimitPlugin = typeof RATE_LIMITING | typeof CONCURRENCY_LIMIT;

/** A plugin instance as `GET /plugins` lists it. */
export interface PluginInstance {
  id: string;
  name: string;
  service?: string;
  route?: string;
  consumer?: string;
  enabled?: boolean;
  config: Record<string, unknown>;
  tags?: string[];
}

export interface ServiceRef {
  name: string;
}

export interface RouteRef {
  name: string;
  service?: string;
}

export type ScopeKind = 'global' | 'service' | 'route' | 'consumer';

export interface Scope {
  kind: ScopeKind;
  /** Name of the service, route or consumer; empty for global. */
  name: string;
  /** A consumer instance may also be narrowed to a service or route. */
  detail?: string;
}

export const WINDOWS = [
  ['second', 's'],
  ['minute', 'min'],
  ['hour', 'h'],
  ['day', 'day'],
] as const;

/** Defaults of the plugin schemas, for instances stored without them. */
const DEFAULTS: Record<string, unknown> = {
  limit_by: ['consumer'],
  algorithm: 'gcra',
  policy: 'local',
  fault_policy: 'fail-open',
  inherit_global: true,
};

export function setting<T>(p: PluginInstance, field: string): T {
  return (p.config[field] ?? DEFAULTS[field]) as T;
}

export function isEnabled(p: PluginInstance): boolean {
  return p.enabled !== false;
}

export function scopeOf(p: PluginInstance): Scope {
  if (p.consumer !== undefined) {
    const narrowed = p.route !== undefined ? `route ${p.route}` : p.service !== undefined ? `service ${p.service}` : undefined;
    return { kind: 'consumer', name: p.consumer, ...(narrowed ? { detail: narrowed } : {}) };
  }
  if (p.route !== undefined) return { kind: 'route', name: p.route };
  if (p.service !== undefined) return { kind: 'service', name: p.service };
  return { kind: 'global', name: '' };
}

export function scopeLabel(s: Scope): string {
  if (s.kind === 'global') return 'Global';
  return `${s.kind[0]!.toUpperCase()}${s.kind.slice(1)} ${s.name}${s.detail ? ` (${s.detail})` : ''}`;
}

const SCOPE_ORDER: Record<ScopeKind, number> = { global: 0, service: 1, route: 2, consumer: 3 };

/** Global first, then services, routes, consumers, each by name; rate limits before concurrency limits. */
export function sortInstances(list: readonly PluginInstance[]): PluginInstance[] {
  return [...list].sort((a, b) => {
    const sa = scopeOf(a);
    const sb = scopeOf(b);
    return SCOPE_ORDER[sa.kind] - SCOPE_ORDER[sb.kind] || sa.name.localeCompare(sb.name) || a.name.localeCompare(b.name);
  });
}

/** "3/min · 100/h", the windows of a rate-limiting instance; "max 10 in flight" for concurrency. */
export function describeLimit(p: PluginInstance): string {
  if (p.name === CONCURRENCY_LIMIT) return `max ${String(p.config.max ?? 10)} in flight`;
  const parts = WINDOWS.filter(([w]) => typeof p.config[w] === 'number').map(([w, unit]) => `${String(p.config[w])}/${unit}`);
  return parts.length ? parts.join(' · ') : 'no window';
}

/** "1000/day (UTC) · 20000/month", or '' without quotas. */
export function describeQuota(p: PluginInstance): string {
  const parts: string[] = [];
  if (typeof p.config.quota_day === 'number') parts.push(`${p.config.quota_day}/day (UTC)`);
  if (typeof p.config.quota_month === 'number') parts.push(`${p.config.quota_month}/month`);
  return parts.join(' · ');
}

/** "ip", "consumer + route", "header x-api-key". */
export function describeKey(p: PluginInstance): string {
  const by = setting<string[]>(p, 'limit_by');
  return by
    .map((k) => (k === 'header' && typeof p.config.header_name === 'string' ? `header ${p.config.header_name}` : k === 'jwt_claim' && typeof p.config.jwt_claim === 'string' ? `claim ${p.config.jwt_claim}` : k))
    .join(' + ');
}

export type Source = 'route' | 'service' | 'global';

export interface Applied {
  instance: PluginInstance;
  source: Source;
}

export interface Effective {
  /** The rate-limiting instance that runs for this route or service, if any. */
  rate: Applied | undefined;
  /** The global rate limit, also enforced because the winning override inherits it. */
  alsoGlobal: PluginInstance | undefined;
  concurrency: Applied | undefined;
  /** Consumer-specific instances that replace the above for those consumers. */
  consumerOverrides: PluginInstance[];
}

function sourceOf(p: PluginInstance): Source {
  return p.route !== undefined ? 'route' : p.service !== undefined ? 'service' : 'global';
}

const RANK: Record<Source, number> = { global: 0, service: 1, route: 2 };

/**
 * What applies to a route (route given) or to a service's routes without their own override (route
 * omitted). Disabled instances never run, so they are skipped here as in the proxy.
 */
export function effectiveFor(instances: readonly PluginInstance[], target: { service?: string; route?: string }): Effective {
  function applies(p: PluginInstance): boolean {
    if (!isEnabled(p)) return false;
    if (p.route !== undefined && p.route !== target.route) return false;
    if (p.service !== undefined && p.service !== target.service) return false;
    return true;
  }
  function winner(name: LimitPlugin): Applied | undefined {
    let best: PluginInstance | undefined;
    for (const p of instances) {
      if (p.name !== name || p.consumer !== undefined || !applies(p)) continue;
      if (!best || RANK[sourceOf(p)] > RANK[sourceOf(best)]) best = p;
    }
    return best ? { instance: best, source: sourceOf(best) } : undefined;
  }
  const rate = winner(RATE_LIMITING);
  let alsoGlobal: PluginInstance | undefined;
  if (rate && rate.source !== 'global' && setting<boolean>(rate.instance, 'inherit_global') !== false) {
    alsoGlobal = instances.find((p) => p.name === RATE_LIMITING && isEnabled(p) && sourceOf(p) === 'global' && p.consumer === undefined);
  }
  return {
    rate,
    alsoGlobal,
    concurrency: winner(CONCURRENCY_LIMIT),
    consumerOverrides: instances.filter((p) => p.consumer !== undefined && applies(p)),
  };
}

/** One sentence on why this limit applies, for the effective-limits table. */
export function explain(e: Effective): string {
  if (!e.rate) return 'No rate limit applies.';
  if (e.rate.source === 'global') return 'The global limit applies (no override).';
  const over = e.rate.source === 'route' ? 'The route override' : 'The service override';
  if (e.alsoGlobal) return `${over} replaces the global limit here; the global limit (${describeLimit(e.alsoGlobal)}) is still enforced across all services.`;
  return `${over} replaces the global limit here${setting<boolean>(e.rate.instance, 'inherit_global') === false ? ' (inherit_global is off)' : ''}.`;
}

/** The plugin-instance body sent to POST/PUT /plugins for a scope and config. */
export function instanceBody(name: LimitPlugin, scope: Scope, enabled: boolean, config: Record<string, unknown>, keep?: PluginInstance): Record<string, unknown> {
  const body: Record<string, unknown> = { name, enabled, config };
  if (keep?.tags?.length) body.tags = keep.tags;
  if (scope.kind === 'service') body.service = scope.name;
  if (scope.kind === 'route') body.route = scope.name;
  if (scope.kind === 'consumer') {
    body.consumer = scope.name;
    // Editing a consumer instance keeps its service/route narrowing, which the form does not offer.
    if (keep?.service !== undefined) body.service = keep.service;
    if (keep?.route !== undefined) body.route = keep.route;
  }
  return body;
}
