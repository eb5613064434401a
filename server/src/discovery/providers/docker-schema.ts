/**
 * The `discovery: {provider: docker}` block (a branch of DiscoverySchema in ../schema.ts). Kept beside the
 * provider; it must not import config/schema.ts, which imports the discovery schema.
 */
import { Type, type Static } from '@sinclair/typebox';

export const DockerDiscoverySchema = Type.Object(
  {
    provider: Type.Literal('docker', { description: 'Follow the containers of a Docker Engine, chosen by their labels (as Traefik does).' }),
    service: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$',
        description: 'Containers labelled `gatehouse.upstream=<service>` are the instances. Default: the name of the upstream.',
      }),
    ),
    labels: Type.Optional(
      Type.Array(Type.String({ pattern: '^[^=\\s]+(=[^\\s]*)?$', description: 'A label the container must carry: `key` or `key=value` (Docker\'s `label` filter).' }), {
        maxItems: 16,
        description: 'Further labels every instance must carry, e.g. `com.docker.compose.project=shop`.',
      }),
    ),
    network: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description:
          'The Docker network whose container IP becomes the target address. A container\'s label `gatehouse.network` wins over it; without either, a container attached to exactly one network uses that one (several networks: the container is skipped and counted).',
      }),
    ),
    port: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description: 'Port of the targets. A container\'s label `gatehouse.port` wins over it; without either, the container\'s single exposed TCP port is used (none or several: skipped and counted).',
      }),
    ),
    weight: Type.Integer({ minimum: 0, maximum: 65535, default: 100, description: 'Weight of every discovered target; a container\'s label `gatehouse.weight` wins over it (0 drains).' }),
    host: Type.Optional(
      Type.String({
        pattern: '^(unix:///[^\\s]+|tcp://[^/\\s]+:[0-9]{1,5}/?)$',
        description: 'Docker Engine API endpoint: `unix:///var/run/docker.sock` or `tcp://host:2375` (no TLS). Default: GATEHOUSE_DOCKER_HOST, else `unix:///var/run/docker.sock`.',
      }),
    ),
    resync: Type.Integer({
      minimum: 1_000,
      maximum: 86_400_000,
      default: 30_000,
      description: 'Containers are listed again at this interval (milliseconds) besides following the event stream, in case an event was lost.',
    }),
    timeout: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000, description: 'Time allowed for one listing of the containers (milliseconds); the event stream itself stays open.' }),
  },
  {
    additionalProperties: false,
    $id: 'DockerDiscovery',
    description:
      'Targets from running Docker containers labelled for the upstream: listed, then followed through the Engine event stream (start, die, stop, health_status) with a periodic re-list. A container with a healthcheck counts only while `healthy`. An Engine that cannot be reached keeps the last known targets; a listing without matching containers empties the discovered targets.',
  },
);
export type DockerDiscoveryConfig = Static<typeof DockerDiscoverySchema>;
