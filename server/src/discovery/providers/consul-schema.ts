/**
 * The `discovery: {provider: consul}` block (a branch of DiscoverySchema in ../schema.ts). Kept beside the
 * provider; it must not import config/schema.ts, which imports the discovery schema.
 */
import { Type, type Static } from '@sinclair/typebox';

export const ConsulDiscoverySchema = Type.Object(
  {
    provider: Type.Literal('consul', { description: 'Follow the health-passing instances of a service in the Consul catalog (blocking queries).' }),
    service: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$', description: 'The Consul service name, e.g. `billing`.' }),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Only instances carrying this tag.' })),
    dc: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Datacenter asked. Default: the datacenter of the agent.' })),
    address: Type.Optional(
      Type.String({
        pattern: '^https?://[^/\\s]+/?$',
        description: 'Consul HTTP API address, e.g. `http://127.0.0.1:8500`. Default: GATEHOUSE_CONSUL_ADDR, else `http://127.0.0.1:8500`. The ACL token comes from GATEHOUSE_CONSUL_TOKEN only.',
      }),
    ),
    weight: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 100,
      description: 'Weight of instances registered without weights. Consul gives every instance `Weights.Passing` (1 unless registered otherwise), and that weight is used.',
    }),
    wait: Type.Integer({
      minimum: 1_000,
      maximum: 600_000,
      default: 60_000,
      description: 'How long Consul may hold a blocking query open when nothing changes (milliseconds; Consul caps it at 10 minutes).',
    }),
    timeout: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000, description: 'Time allowed for Consul to answer, beyond `wait` for a blocking query (milliseconds).' }),
  },
  {
    additionalProperties: false,
    $id: 'ConsulDiscovery',
    description:
      'Targets from the Consul catalog: the instances of `service` whose checks all pass (`/v1/health/service/<service>?passing`), followed with blocking queries. `Service.Address` is the target host, else the node\'s address. A Consul that cannot be reached keeps the last known targets; an answer without passing instances empties the discovered targets.',
  },
);
export type ConsulDiscoveryConfig = Static<typeof ConsulDiscoverySchema>;
