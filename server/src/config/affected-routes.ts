/**
 * Which existing routes behave differently after a config change, for `gatehouse diff` and
 * `apply --dry-run`: the entity diff says what was edited, this says where traffic feels it.
 *
 * A route is affected when its own fields change, when its service or the upstream its service balances
 * over changes, or when the plugin instance that wins for it changes, per plugin name and per consumer.
 * The winning instance is chosen as the snapshot builder does (proxy/snapshot.ts chainsFor): only enabled
 * instances, scoped to the route, its service or globally, the most specific one per plugin name. So a
 * change to a global plugin that every route overrides with its own instance affects no route.
 *
 * Created and deleted routes are left to the entity diff: they appear there already.
 */
import { deepEqual } from './diff.js';
import type { ConfigDocument, PluginInstanceConfig, RouteConfig, ServiceConfig } from './schema.js';

export interface AffectedRoute {
  route: string;
  reasons: string[];
}

/** Both documents should have their defaults filled (checkDocument), so an omitted default is no change. */
export function affectedRoutes(before: ConfigDocument, after: ConfigDocument): AffectedRoute[] {
  const out: AffectedRoute[] = [];
  const oldRoutes = new Map(before.routes.map((r) => [r.name, r]));
  const consumers = new Set<string>();
  for (const p of [...before.plugins, ...after.plugins]) if (p.consumer !== undefined) consumers.add(p.consumer);

  for (const r of after.routes) {
    const old = oldRoutes.get(r.name);
    if (!old) continue;
    const reasons: string[] = [];
    const fields = changedFields(old as unknown as Record<string, unknown>, r as unknown as Record<string, unknown>);
    if (fields.length) reasons.push(`route fields ${fields.join(', ')}`);

    if (old.service !== undefined && old.service === r.service) {
      const sb = before.services.find((s) => s.name === r.service);
      const sa = after.services.find((s) => s.name === r.service);
      const sf = sb && sa ? changedFields(sb as unknown as Record<string, unknown>, sa as unknown as Record<string, unknown>) : [];
      if (sf.length) reasons.push(`service '${r.service}' (${sf.join(', ')})`);
    }
    const ub = upstreamOf(before, old.service);
    const ua = upstreamOf(after, r.service);
    if (ub?.name !== ua?.name) {
      if (ua && !ub) reasons.push(`now balanced by upstream '${ua.name}'`);
      else if (ub && !ua) reasons.push(`no longer balanced by upstream '${ub.name}'`);
      else reasons.push(`upstream '${ub!.name}' → '${ua!.name}'`);
    } else if (ub && ua) {
      const uf = changedFields(ub as unknown as Record<string, unknown>, ua as unknown as Record<string, unknown>);
      if (uf.length) reasons.push(`upstream '${ua.name}' (${uf.join(', ')})`);
    }

    for (const consumer of [undefined, ...consumers]) {
      const eb = effectivePlugins(before.plugins, old, consumer);
      const ea = effectivePlugins(after.plugins, r, consumer);
      for (const name of new Set([...eb.keys(), ...ea.keys()])) {
        const pb = eb.get(name);
        const pa = ea.get(name);
        if (pb && pa && deepEqual(strip(pb), strip(pa))) continue;
        // A consumer's chain repeats every change of the shared chain; report those once, without the consumer.
        if (consumer !== undefined && pb?.consumer === undefined && pa?.consumer === undefined) continue;
        const who = consumer !== undefined ? ` for consumer '${consumer}'` : '';
        if (!pb) reasons.push(`plugin ${label(pa!)} now applies${who}`);
        else if (!pa) reasons.push(`plugin ${label(pb)} no longer applies${who}`);
        else if (scopeOf(pb) !== scopeOf(pa)) reasons.push(`plugin ${name}${who}: ${label(pb)} replaced by ${label(pa)}`);
        else reasons.push(`plugin ${label(pa)} changed${who}`);
      }
    }
    if (reasons.length) out.push({ route: r.name, reasons });
  }
  return out;
}

/** Appended to the entity diff by the CLI; empty when no existing route changes. */
export function formatAffectedRoutes(affected: readonly AffectedRoute[]): string {
  if (affected.length === 0) return '';
  const lines = [`Routes whose behaviour changes (${affected.length}):`];
  for (const a of affected) lines.push(`  route ${a.route}: ${a.reasons.join('; ')}`);
  return lines.join('\n') + '\n';
}

/** Tags label entities for people and filters; they change nothing a request meets. */
function changedFields(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete('tags');
  return [...keys].filter((k) => !deepEqual(a[k], b[k])).map((k) => `/${k}`);
}

/** A service whose host (or url host) names an upstream balances over it (as proxy/snapshot.ts compileService). */
function upstreamOf(doc: ConfigDocument, serviceName: string | undefined) {
  if (serviceName === undefined) return undefined;
  const s: ServiceConfig | undefined = doc.services.find((x) => x.name === serviceName);
  if (!s) return undefined;
  let host = s.host ?? '';
  if (s.url) {
    try {
      host = new URL(s.url).hostname;
    } catch {
      return undefined;
    }
  }
  return doc.upstreams.find((u) => u.name === host);
}

function scopeOf(p: PluginInstanceConfig): string {
  return p.consumer !== undefined ? 'consumer' : p.route !== undefined ? 'route' : p.service !== undefined ? 'service' : 'global';
}

function specificity(p: PluginInstanceConfig): number {
  return (p.consumer !== undefined ? 4 : 0) + (p.route !== undefined ? 2 : p.service !== undefined ? 1 : 0);
}

/** The instance that runs for this route (and consumer), per plugin name. */
function effectivePlugins(plugins: readonly PluginInstanceConfig[], r: RouteConfig, consumer: string | undefined): Map<string, PluginInstanceConfig> {
  const best = new Map<string, PluginInstanceConfig>();
  for (const p of plugins) {
    if (p.enabled === false) continue;
    if (p.consumer !== undefined && p.consumer !== consumer) continue;
    if (p.route !== undefined && p.route !== r.name) continue;
    if (p.service !== undefined && p.service !== r.service) continue;
    const cur = best.get(p.name);
    if (!cur || specificity(p) > specificity(cur)) best.set(p.name, p);
  }
  return best;
}

/** Store ids are identity and tags labels, not behaviour. */
function strip(p: PluginInstanceConfig): Omit<PluginInstanceConfig, 'id' | 'tags'> {
  const { id: _id, tags: _tags, ...rest } = p;
  return rest;
}

function label(p: PluginInstanceConfig): string {
  const scope = (['service', 'route', 'consumer'] as const).filter((s) => p[s] !== undefined).map((s) => `${s} ${p[s]!}`);
  return `${p.name} (${scope.length ? scope.join(', ') : 'global'})`;
}
