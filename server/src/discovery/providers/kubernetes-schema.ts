/**
 * The `kubernetes` branch of DiscoverySchema (re-exported by ../schema.ts). Kept beside the provider and free
 * of imports from the config schema, which imports ../schema.ts.
 */
import { Type, type Static } from '@sinclair/typebox';

/** A DNS-1123 label, as Kubernetes requires of namespace and Service names. */
const Label = (description: string) => Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description });

export const KubernetesDiscoverySchema = Type.Object(
  {
    provider: Type.Literal('kubernetes', { description: 'Follow the EndpointSlices of a Kubernetes Service (discovery.k8s.io/v1) with the watch API.' }),
    namespace: Label('Namespace of the Service.'),
    service: Label('Name of the Service; its EndpointSlices are those labelled `kubernetes.io/service-name=<service>`.'),
    port: Type.Optional(
      Type.Union(
        [
          Type.Integer({ minimum: 1, maximum: 65535, description: 'A Service port number (`spec.ports[].port`), translated through the Service to its endpoint port, as an Ingress backend does.' }),
          Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$', description: 'A Service port name, matched against the EndpointSlices\' port names.' }),
        ],
        { description: 'Which port of the Service: by name or by Service port number. Omitted: the only port of each EndpointSlice (a slice with several is skipped and counted).' },
      ),
    ),
    weight: Type.Integer({ minimum: 0, maximum: 65535, default: 100, description: 'Weight of every discovered endpoint (0 drains).' }),
    kubeconfig: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description:
          'Path of a kubeconfig file (its current context is used). Default: GATEHOUSE_KUBECONFIG, else GATEHOUSE_KUBERNETES_API_SERVER (+ GATEHOUSE_KUBERNETES_TOKEN_FILE, GATEHOUSE_KUBERNETES_CA_FILE), else the in-cluster service account.',
      }),
    ),
    timeout: Type.Integer({ minimum: 100, maximum: 60_000, default: 10_000, description: 'Time allowed for listing the EndpointSlices (milliseconds); the watch itself stays open.' }),
  },
  {
    additionalProperties: false,
    $id: 'KubernetesDiscovery',
    description:
      'Targets from the ready endpoints (`conditions.ready` not false; the first address of each) of every EndpointSlice of a Service, listed then watched from their resourceVersion; an expired watch (410 Gone) lists again. An API server that cannot be reached keeps the last known targets; a Service whose slices hold no ready endpoint has no targets.',
  },
);
export type KubernetesDiscoveryConfig = Static<typeof KubernetesDiscoverySchema>;
