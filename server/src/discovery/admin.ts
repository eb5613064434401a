/**
 * Service discovery in the admin API: `GET /discovery` (every upstream's provider state, discovered targets
 * and last error, and the state of the routes taken from Kubernetes) and the `source` of each target in `GET /upstreams/:name/targets`. The registry is handed
 * to the admin module as ADMIN_DISCOVERY (null when the node runs without discovery, e.g. in tests).
 */
import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { Type, type Static } from '@sinclair/typebox';
import type { TargetConfig } from '../config/schema.js';
import { TARGET_SOURCES, type TargetSource } from './schema.js';
import type { KubernetesRoutesStatus } from './kubernetes-routes.js';
import type { DiscoveryStatus, DiscoveryView } from './types.js';

export const ADMIN_DISCOVERY = Symbol('ADMIN_DISCOVERY');

const Iso = (description: string) => Type.Union([Type.String({ description }), Type.Null()]);

export const DiscoveryStatusSchema = Type.Object(
  {
    upstream: Type.String({ description: 'The upstream whose `discovery` block this is.' }),
    provider: Type.Union(TARGET_SOURCES.filter((s) => s !== 'config').map((s) => Type.Literal(s)), { description: 'The provider named in the block.' }),
    state: Type.Union([Type.Literal('starting'), Type.Literal('ok'), Type.Literal('error')], {
      description: '`starting`: no answer yet; `ok`: the last refresh succeeded; `error`: it failed and the last known targets stay in use.',
    }),
    targets: Type.Array(Type.Object({ target: Type.String(), weight: Type.Integer() }), { description: 'The discovered targets in use (the last known ones while in error).' }),
    error: Type.Union([Type.String(), Type.Null()], { description: 'The last error, cleared by the next success.' }),
    error_at: Iso('When the last error happened.'),
    consecutive_failures: Type.Integer({ description: 'Failed refreshes in a row.' }),
    last_success_at: Iso('When the provider last answered.'),
    last_change_at: Iso('When the discovered targets last changed.'),
    changes: Type.Integer({ description: 'Changes of the discovered target set since the watch started (the first answer included).' }),
    next_refresh_at: Iso('When a polling provider (DNS) asks again; null for watching providers (etcd) while their watch runs.'),
    skipped: Type.Integer({ description: 'Entries that could not become a target (unreadable etcd values, SRV names without addresses).' }),
    note: Type.Union([Type.String(), Type.Null()], { description: 'Details about skipped entries.' }),
  },
  { $id: 'DiscoveryStatus', description: "One upstream's service discovery on the node that answers (each node discovers on its own)." },
);

export const ListedTargetSchema = Type.Object(
  {
    target: Type.String({ description: '`host:port` of one instance.' }),
    weight: Type.Integer({ description: 'Relative share of traffic; 0 drains the target.' }),
    tags: Type.Array(Type.String(), { description: 'Tags of a configured target; empty for discovered ones.' }),
    source: Type.Union(TARGET_SOURCES.map((s) => Type.Literal(s)), {
      description: '`config`: from the upstream\'s `targets` (editable here); otherwise the discovery provider that found it (read-only, not stored).',
    }),
  },
  { $id: 'ListedTarget' },
);
export type ListedTarget = Static<typeof ListedTargetSchema>;

export const UpstreamTargetsSchema = Type.Object({
  data: Type.Array(ListedTargetSchema),
  discovery: Type.Optional(DiscoveryStatusSchema),
});

export const KubernetesRoutesStatusSchema = Type.Object(
  {
    state: Type.Union([Type.Literal('starting'), Type.Literal('ok'), Type.Literal('error')], {
      description: '`starting`: the first lists have not answered; `ok`: every watch runs; `error`: a list or watch failed and the last known routes stay in use.',
    }),
    error: Type.Union([Type.String(), Type.Null()], { description: 'What failed, per kind (`Ingress: …; HTTPRoute: …`), cleared once it recovers.' }),
    ingresses: Type.Integer({ description: 'Ingresses of the class seen (in the namespace, when one is set).' }),
    http_routes: Type.Integer({ description: 'HTTPRoutes attached to the Gateway seen.' }),
    routes: Type.Array(Type.String(), { description: 'Names of the routes generated from them and served (`k8s.ing.…`, `k8s.http.…`).' }),
    skipped: Type.Array(Type.String(), { description: 'Rules that could not become a route, each with the reason (another namespace, an unsupported backend…).' }),
  },
  { $id: 'KubernetesRoutesStatus', description: "Routes from Ingresses and HTTPRoutes on the node that answers (each node watches on its own); never stored." },
);

export const DISCOVERY_SCHEMAS = [DiscoveryStatusSchema, ListedTargetSchema, KubernetesRoutesStatusSchema];

export const DISCOVERY_OPERATIONS = [
  {
    method: 'get', path: '/discovery', summary: "Service discovery on this node: each upstream's provider, state, discovered targets and last error", tag: 'upstreams', access: 'viewer', status: 200,
    response: Type.Object({
      data: Type.Array(DiscoveryStatusSchema),
      applies: Type.Integer({ description: 'Snapshots applied because discovered targets changed (no config version written).' }),
      kubernetes_routes: Type.Union([KubernetesRoutesStatusSchema, Type.Null()], { description: 'Routes from Kubernetes (GATEHOUSE_KUBERNETES_INGRESS_CLASS / _GATEWAY); null when the node watches none.' }),
    }),
  },
] as const;

/** Configured targets first, then the discovered ones not already configured, each with its source. */
export function listTargets(configured: readonly TargetConfig[], status: DiscoveryStatus | undefined): { data: ListedTarget[]; discovery?: DiscoveryStatus } {
  const data: ListedTarget[] = configured.map((t) => ({ target: t.target, weight: t.weight, tags: t.tags ?? [], source: 'config' }));
  if (!status) return { data };
  const seen = new Set(data.map((t) => t.target));
  const source: TargetSource = status.provider;
  for (const t of status.targets) if (!seen.has(t.target)) data.push({ target: t.target, weight: t.weight, tags: [], source });
  return { data, discovery: status };
}

@Controller()
export class DiscoveryController {
  constructor(@Optional() @Inject(ADMIN_DISCOVERY) private readonly discovery: DiscoveryView | null) {}

  @Get('discovery')
  list(): { data: DiscoveryStatus[]; applies: number; kubernetes_routes: KubernetesRoutesStatus | null } {
    return { data: this.discovery?.list() ?? [], applies: this.discovery?.applies() ?? 0, kubernetes_routes: this.discovery?.kubernetesRoutes?.() ?? null };
  }
}

/** The registry as the admin API reads it, with the Kubernetes routes source's state when the node has one. */
export function discoveryView(registry: DiscoveryView, routes: { status(): KubernetesRoutesStatus } | undefined): DiscoveryView {
  if (routes === undefined) return registry;
  return {
    list: () => registry.list(),
    get: (upstream) => registry.get(upstream),
    applies: () => registry.applies(),
    kubernetesRoutes: () => routes.status(),
  };
}
