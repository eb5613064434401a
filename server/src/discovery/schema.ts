/**
 * The `discovery` block of an upstream: where a provider finds the upstream's instances. Lives here (and is
 * imported by config/schema.ts) so each provider's options sit beside the provider; it must not import
 * config/schema.ts, which imports it.
 *
 * Discovered targets are merged with the upstream's configured `targets` (a configured target wins when both
 * name the same `host:port`); they are never written to the store.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConsulDiscoverySchema } from './providers/consul-schema.js';
import { DockerDiscoverySchema } from './providers/docker-schema.js';
import { KubernetesDiscoverySchema } from './providers/kubernetes-schema.js';

export { ConsulDiscoverySchema, type ConsulDiscoveryConfig } from './providers/consul-schema.js';
export { DockerDiscoverySchema, type DockerDiscoveryConfig } from './providers/docker-schema.js';
export { KubernetesDiscoverySchema, type KubernetesDiscoveryConfig } from './providers/kubernetes-schema.js';

const RefreshMillis = (description: string, def: number) =>
  Type.Integer({ minimum: 100, maximum: 86_400_000, default: def, description: `${description} (milliseconds).` });

const Weight = Type.Integer({
  minimum: 0,
  maximum: 65535,
  default: 100,
  description: 'Weight of every discovered target (SRV records and etcd values may carry their own; 0 drains).',
});

export const DnsDiscoverySchema = Type.Object(
  {
    provider: Type.Literal('dns', { description: 'Resolve a DNS name (as Kong does for a target host, or Envoy for a STRICT_DNS cluster).' }),
    name: Type.String({
      pattern: '^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$',
      description: 'The name resolved, e.g. `api.internal` (A/AAAA) or `_http._tcp.api.internal` (SRV).',
    }),
    type: Type.Union([Type.Literal('A'), Type.Literal('AAAA'), Type.Literal('SRV')], {
      default: 'A',
      description:
        'Record type. A/AAAA: every address becomes a target on `port`. SRV: the records of the lowest priority become targets on their own ports with their own weights (a weight of 0 counts as 1), each target name resolved to its A (else AAAA) records.',
    }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 80, description: 'Port of the targets of A/AAAA records (SRV records carry their own).' }),
    weight: Weight,
    servers: Type.Optional(
      Type.Array(Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[0-9A-Fa-f:.]+)(:[0-9]{1,5})?$', description: 'A resolver address: `ip`, `ip:port` or `[ipv6]:port`.' }), {
        minItems: 1,
        maxItems: 8,
        description: 'DNS servers asked, in order. Default: GATEHOUSE_DNS_SERVERS, else the system resolver (/etc/resolv.conf).',
      }),
    ),
    min_refresh: RefreshMillis('Lower bound of the re-resolution interval: a record TTL below it (0 included) is raised to it', 5_000),
    max_refresh: RefreshMillis('Upper bound of the re-resolution interval: a longer TTL is cut to it, so a moved instance is noticed within this time', 300_000),
    timeout: Type.Integer({ minimum: 100, maximum: 60_000, default: 2_000, description: 'Time allowed for one DNS query before it is retried once, then counted as a failure (milliseconds).' }),
  },
  {
    additionalProperties: false,
    $id: 'DnsDiscovery',
    description:
      'Targets from DNS, re-resolved when the answer\'s TTL expires (clamped to min_refresh..max_refresh; node:dns does not expose SRV TTLs, so an SRV answer lives as long as the shortest TTL of its targets\' addresses). A failed or empty answer keeps the last known targets.',
  },
);
export type DnsDiscoveryConfig = Static<typeof DnsDiscoverySchema>;

export const EtcdDiscoverySchema = Type.Object(
  {
    provider: Type.Literal('etcd', { description: 'Watch a key prefix in etcd (v3 API, through its HTTP/JSON gateway).' }),
    prefix: Type.String({
      minLength: 1,
      maxLength: 1024,
      description:
        'Every key under this prefix is one instance, e.g. `/services/api/`. The value is `host:port`, a URL (`http://10.0.0.5:8080`), or JSON `{"address": "host:port", "weight": 50}` (or `{"host", "port"}`); an empty value or JSON without an address takes the address from the last segment of the key (`/services/api/10.0.0.5:8080`, as APISIX\'s consul_kv does). Unreadable entries are skipped and counted.',
    }),
    endpoints: Type.Optional(
      Type.Array(Type.String({ pattern: '^https?://[^/]+/?$', description: 'An etcd client URL, e.g. `http://10.0.0.2:2379`.' }), {
        minItems: 1,
        maxItems: 16,
        description: 'etcd client URLs, tried in turn after a failure. Default: GATEHOUSE_ETCD_ENDPOINTS.',
      }),
    ),
    weight: Weight,
    timeout: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000, description: 'Time allowed for listing the prefix (milliseconds); the watch itself stays open.' }),
  },
  {
    additionalProperties: false,
    $id: 'EtcdDiscovery',
    description:
      'Targets from etcd keys: listed once, then followed with a watch; a broken watch re-lists. An etcd that cannot be reached keeps the last known targets; a prefix that etcd reports empty empties the discovered targets (instances deregistered).',
  },
);
export type EtcdDiscoveryConfig = Static<typeof EtcdDiscoverySchema>;

export const DiscoverySchema = Type.Union([DnsDiscoverySchema, EtcdDiscoverySchema, DockerDiscoverySchema, ConsulDiscoverySchema, KubernetesDiscoverySchema], {
  description: "Where the upstream's targets are discovered, besides its configured `targets`. Each node discovers on its own.",
});
export type DiscoveryConfig = Static<typeof DiscoverySchema>;

export const TARGET_SOURCES = ['config', 'dns', 'etcd', 'docker', 'consul', 'kubernetes'] as const;
export type TargetSource = (typeof TARGET_SOURCES)[number];
