/**
 * The declarative configuration document: one schema for YAML/JSON files, the admin API's request
 * bodies, the store's export, and the snapshot builder's input. Every field carries a description
 * because the dashboard renders its forms from these schemas and the OpenAPI document reuses them.
 *
 * Field names are snake_case, as in Kong's decK format, so that files read the same across gateways.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DiscoverySchema } from '../discovery/schema.js';

export const FORMAT_VERSION = '1';

const Name = (description: string) =>
  Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$', description });
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  default: [],
  maxItems: 32,
  description: 'Free-form labels used for filtering in the admin API and the dashboard.',
});
const Millis = (description: string, def: number) =>
  Type.Integer({ minimum: 1, maximum: 3_600_000, default: def, description: `${description} (milliseconds).` });

export const HttpMethod = Type.Union(
  ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'].map((m) => Type.Literal(m)),
  { description: 'An HTTP method, upper case.' },
);

export const ServiceSchema = Type.Object(
  {
    name: Name('Unique name of the service.'),
    url: Type.Optional(
      Type.String({
        format: 'uri',
        description:
          'Shorthand for protocol, host, port and path, e.g. `http://orders.internal:8080/v1`. ' +
          'The host may name an upstream, which then balances the requests.',
      }),
    ),
    protocol: Type.Optional(
      Type.Union([Type.Literal('http'), Type.Literal('https'), Type.Literal('grpc'), Type.Literal('grpcs')], {
        description: 'Protocol used to reach the upstream: `grpc` is HTTP/2 without TLS (prior knowledge, h2c), `grpcs` HTTP/2 over TLS; both pass gRPC calls through with their trailers.',
      }),
    ),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Upstream host name or address, or the name of an upstream entity.' })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'Upstream port.' })),
    path: Type.Optional(Type.String({ pattern: '^/', description: 'Path prefix prepended to every request sent upstream.' })),
    connect_timeout: Millis('Time allowed to open a connection to a target before answering 504', 5_000),
    write_timeout: Millis('Time allowed between two writes of the request to the target before answering 504', 60_000),
    read_timeout: Millis('Time allowed between two reads of the response from the target before answering 504', 60_000),
    retries: Type.Integer({
      minimum: 0,
      maximum: 10,
      default: 0,
      description:
        'Retries, to another target when the upstream has one: on connection failures (any method, the request never reached the target), on resets and on `retry_on_statuses` (idempotent methods without a streamed body only).',
    }),
    retry_on_statuses: Type.Array(Type.Integer({ minimum: 500, maximum: 599 }), {
      default: [],
      maxItems: 20,
      description: 'Upstream statuses that are retried like a failed connection, e.g. `[502, 503, 504]`. Empty: statuses are never retried.',
    }),
    retry_budget: Type.Object(
      {
        ratio: Type.Number({ minimum: 0, maximum: 1, default: 0.2, description: 'Retries allowed as a share of the requests of the last 10 seconds.' }),
        min_per_second: Type.Integer({ minimum: 0, maximum: 100_000, default: 10, description: 'Retries always allowed per second, so a quiet service can still retry.' }),
      },
      {
        additionalProperties: false,
        default: {},
        description: "Caps this node's retries so they cannot multiply the load during an outage (Linkerd's retry budget); a retry over the budget answers the failure at once.",
      },
    ),
    enabled: Type.Boolean({ default: true, description: 'A disabled service answers 503 on all its routes.' }),
    tls_verify: Type.Optional(
      Type.Boolean({
        default: true,
        description: "Verify the upstream's certificate (https, grpcs): chain to `ca_certificates` (else the system's CAs) and host name. A failed check answers 502 `GW_ERR_UPSTREAM_TLS`.",
      }),
    ),
    ca_certificates: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 65_536, pattern: '-----BEGIN CERTIFICATE-----', description: 'A PEM bundle of one or more CA certificates.' }), {
        maxItems: 32,
        description: "CAs that upstream certificates must chain to, instead of the system's (not secrets; exported as they are).",
      }),
    ),
    tls_server_name: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*$',
        maxLength: 253,
        description: "Server name sent in the TLS handshake (SNI) and checked against the upstream's certificate. Default: the Host sent upstream (the target's host, or the client's with preserve_host).",
      }),
    ),
    client_certificate: Type.Optional(
      Name("Name of a `certificates` entity presented to the upstream as the gateway's client certificate (mutual TLS); its private key stays encrypted at rest and is never exported."),
    ),
    openapi: Type.Optional(
      Type.Object(
        {
          url: Type.Optional(
            Type.String({
              format: 'uri',
              pattern: '^https?://',
              maxLength: 2048,
              description: 'Where the admin plane fetches the OpenAPI document (JSON, at most 1 MiB, 5 s timeout, cached 5 minutes). Ignored when `document` is given.',
            }),
          ),
          document: Type.Optional(
            Type.Record(Type.String(), Type.Unknown(), { description: 'The OpenAPI 3.x (or Swagger 2.0) document inline, as a JSON object.' }),
          ),
        },
        {
          additionalProperties: false,
          description: "The service's API description, shown to developers in the portal (GET /me/apis) when their applications may call the service. Give `url` or `document`.",
        },
      ),
    ),
    tags: Tags,
  },
  { additionalProperties: false, $id: 'Service', description: 'A backend the gateway proxies to.' },
);
export type ServiceConfig = Static<typeof ServiceSchema>;

export const HeaderMatchSchema = Type.Record(
  Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' }),
  Type.Array(Type.String({ maxLength: 1024 }), { minItems: 1, maxItems: 32 }),
  {
    // Without it TypeBox checks only the keys matching the name pattern: `{"": {}}` passed unchecked (found by check.fuzz.spec.ts).
    additionalProperties: false,
    description:
      'Header name → accepted values. A value starting with `~*` is a case-insensitive regex, `~` a regex; otherwise an exact, case-insensitive match. All named headers must match.',
  },
);

export const RouteSchema = Type.Object(
  {
    name: Name('Unique name of the route.'),
    service: Type.Optional(Name('Name of the service this route sends traffic to. Required unless a plugin answers every request (e.g. request-termination).')),
    hosts: Type.Array(Type.String({ pattern: '^(\\*\\.)?[A-Za-z0-9.-]+(:[0-9]+)?$|^[A-Za-z0-9.-]+\\.\\*$', maxLength: 253 }), {
      default: [],
      maxItems: 64,
      description: 'Host names matched against the Host header: exact (`api.example.com`), leading wildcard (`*.example.com`) or trailing wildcard (`api.*`). Empty: any host.',
    }),
    paths: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), {
      default: [],
      maxItems: 64,
      description:
        'Path matchers: `/orders` is a prefix match on segment boundaries, `=/orders` an exact match, and `~/orders/(?<id>\\d+)$` a regex anchored at the start with named captures available to rewrites. Empty: any path.',
    }),
    methods: Type.Array(HttpMethod, { default: [], description: 'Methods accepted. Empty: any method.' }),
    headers: Type.Optional(HeaderMatchSchema),
    query: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Array(Type.String(), { minItems: 1 }), {
        description: 'Query parameter → accepted values (exact). An empty string value means "present with any value".',
      }),
    ),
    priority: Type.Integer({ default: 0, minimum: -1000, maximum: 1000, description: 'Explicit priority; higher wins before specificity is compared.' }),
    strip_path: Type.Boolean({ default: true, description: 'Remove the matched path prefix before sending the request upstream.' }),
    preserve_host: Type.Boolean({ default: false, description: "Send the client's Host header upstream instead of the target's host." }),
    rewrite: Type.Optional(
      Type.String({
        maxLength: 2048,
        pattern: '^/',
        description: 'Replace the upstream path with this template; `{name}` is a named capture of a regex path, `{path}` the remainder after the matched prefix.',
      }),
    ),
    protocols: Type.Array(Type.Union([Type.Literal('http'), Type.Literal('https')]), { default: ['http', 'https'], description: 'Listener protocols this route accepts.' }),
    enabled: Type.Boolean({ default: true, description: 'A disabled route does not match.' }),
    tags: Tags,
  },
  { additionalProperties: false, $id: 'Route', description: 'Rules that select requests and send them to a service.' },
);
export type RouteConfig = Static<typeof RouteSchema>;

export const TargetSchema = Type.Object(
  {
    target: Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$', description: '`host:port` of one instance.' }),
    weight: Type.Integer({ minimum: 0, maximum: 65535, default: 100, description: 'Relative share of traffic; 0 drains the target.' }),
    tags: Tags,
  },
  { additionalProperties: false, $id: 'Target' },
);
export type TargetConfig = Static<typeof TargetSchema>;

export const LB_ALGORITHMS = ['round-robin', 'weighted-round-robin', 'least-connections', 'consistent-hashing'] as const;
export const HASH_ON = ['none', 'header', 'cookie', 'ip', 'consumer'] as const;

const HttpStatuses = (description: string, def: number[]) =>
  Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { default: def, maxItems: 100, description });

/** Kong's upstream `healthchecks`, reduced to what the balancer acts on. */
export const HealthchecksSchema = Type.Object(
  {
    active: Type.Object(
      {
        enabled: Type.Boolean({ default: false, description: 'Probe every target periodically with an HTTP request.' }),
        type: Type.Union([Type.Literal('http'), Type.Literal('https')], { default: 'http', description: 'Protocol of the probes.' }),
        https_verify_certificate: Type.Boolean({ default: true, description: "Verify the target's TLS certificate on https probes." }),
        http_path: Type.String({ pattern: '^/', maxLength: 2048, default: '/', description: 'Path (and query) requested by a probe.' }),
        headers: Type.Optional(
          Type.Record(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }), Type.String({ maxLength: 1024 }), {
            additionalProperties: false,
            description: 'Extra request headers sent with every probe, e.g. a Host header.',
          }),
        ),
        interval: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 5_000, description: 'Time between the starts of two probes of a target (milliseconds); a probe never overlaps the previous one.' }),
        timeout: Millis('A probe without a complete response within this time fails', 1_000),
        healthy: Type.Object(
          {
            successes: Type.Integer({ minimum: 1, maximum: 255, default: 2, description: 'Consecutive successful probes that bring an unhealthy target back.' }),
            http_statuses: HttpStatuses('Probe statuses counted as successes.', [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308]),
          },
          { additionalProperties: false, default: {}, description: 'When a target is marked healthy.' },
        ),
        unhealthy: Type.Object(
          {
            failures: Type.Integer({ minimum: 1, maximum: 255, default: 3, description: 'Consecutive failed probes (connection error, timeout, or one of http_statuses) that mark a target unhealthy.' }),
            http_statuses: HttpStatuses('Probe statuses counted as failures; a status in neither list counts for nothing.', [429, 500, 503]),
          },
          { additionalProperties: false, default: {}, description: 'When a target is marked unhealthy.' },
        ),
      },
      { additionalProperties: false, default: {}, description: 'Active checks: probes sent by the gateway, which also bring targets back.' },
    ),
    passive: Type.Object(
      {
        enabled: Type.Boolean({ default: false, description: 'Watch proxied traffic and eject targets that keep failing.' }),
        unhealthy: Type.Object(
          {
            failures: Type.Integer({ minimum: 1, maximum: 255, default: 5, description: 'Consecutive failures (connection refused or reset, or one of http_statuses) that eject a target.' }),
            timeouts: Type.Integer({ minimum: 1, maximum: 255, default: 3, description: 'Consecutive timeouts that eject a target, counted apart from failures.' }),
            http_statuses: HttpStatuses('Response statuses counted as failures; any other status is a success and resets both counts.', [500, 502, 503, 504]),
          },
          { additionalProperties: false, default: {}, description: 'When a target is ejected.' },
        ),
        eject_duration: Millis('An ejected target gets traffic again after this; with active checks on, the probes decide instead', 30_000),
      },
      { additionalProperties: false, default: {}, description: 'Passive checks (circuit breaking per target) based on proxied responses.' },
    ),
  },
  { additionalProperties: false, $id: 'Healthchecks', description: 'Health checks of the targets; the balancer skips unhealthy ones, and answers 503 when none is left.' },
);
export type HealthchecksConfig = Static<typeof HealthchecksSchema>;

export const UpstreamSchema = Type.Object(
  {
    name: Name('Unique name; a service whose host equals this name balances over its targets.'),
    algorithm: Type.Union(LB_ALGORITHMS.map((a) => Type.Literal(a)), {
      default: 'round-robin',
      description: 'How a target is chosen: round-robin (ignores weights), weighted-round-robin (smooth, by weight), least-connections (fewest in flight, weighted), consistent-hashing (see hash_on).',
    }),
    hash_on: Type.Union(HASH_ON.map((h) => Type.Literal(h)), { default: 'none', description: 'Input of consistent hashing.' }),
    hash_on_header: Type.Optional(Type.String({ minLength: 1, description: 'Header hashed when hash_on is `header`.' })),
    hash_on_cookie: Type.Optional(Type.String({ minLength: 1, description: 'Cookie hashed when hash_on is `cookie`.' })),
    keepalive_connections: Type.Integer({ minimum: 1, maximum: 10_000, default: 256, description: 'Maximum pooled connections per target.' }),
    keepalive_timeout: Millis('Idle keep-alive connections are closed after this', 60_000),
    targets: Type.Array(TargetSchema, { default: [], maxItems: 1000, description: 'Instances of this upstream.' }),
    healthchecks: Type.Optional(HealthchecksSchema),
    discovery: Type.Optional(DiscoverySchema),
    tags: Tags,
  },
  { additionalProperties: false, $id: 'Upstream', description: 'A load-balanced group of targets.' },
);
export type UpstreamConfig = Static<typeof UpstreamSchema>;

export const ConsumerSchema = Type.Object(
  {
    username: Name('Unique user name of the consumer.'),
    custom_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Identifier from your own user store, passed upstream.' })),
    groups: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [], maxItems: 64, description: 'Groups used by authorization plugins.' }),
    tags: Tags,
  },
  { additionalProperties: false, $id: 'Consumer', description: 'A client of the APIs: an application, a partner or a user.' },
);
export type ConsumerConfig = Static<typeof ConsumerSchema>;

/** Credential kinds; `jwt` rows are per-consumer verification keys used by the jwt plugin. */
export const CREDENTIAL_KINDS = ['key-auth', 'basic-auth', 'hmac-auth', 'jwt'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/**
 * A consumer's credential as stored and exported. It never holds a clear secret: API keys are kept as a
 * keyed hash (HMAC-SHA256 with the cluster's pepper), passwords as scrypt hashes, and secrets that must be
 * usable for verification (hmac-auth, jwt HS*) encrypted with AES-256-GCM. See server/src/auth/.
 */
// RFC 3339 instant; a pattern because only the `uri`/`uuid` formats are registered with the validator.
const Instant = (description: string) =>
  Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$', description });

export const CredentialSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'Assigned by the store.' }),
    consumer: Name('Username of the consumer this credential belongs to.'),
    kind: Type.Union(CREDENTIAL_KINDS.map((k) => Type.Literal(k)), { description: 'Which plugin accepts this credential.' }),
    key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'Public identifier: the user name (basic-auth, hmac-auth) or the `iss`/`kid` value (jwt). Absent for key-auth.',
      }),
    ),
    key_hash: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'key-auth: base64url HMAC-SHA256 of the API key under the cluster pepper.' })),
    secret_hash: Type.Optional(Type.String({ pattern: '^scrypt\\$', maxLength: 512, description: 'basic-auth: scrypt hash of the password (`scrypt$N$r$p$salt$hash`).' })),
    secret_encrypted: Type.Optional(
      Type.String({ pattern: '^v1\\.', maxLength: 8192, description: 'hmac-auth, jwt HS*: the secret encrypted with AES-256-GCM (`v1.iv.tag.ciphertext`, base64url).' }),
    ),
    algorithm: Type.Optional(Type.String({ minLength: 2, maxLength: 16, description: 'jwt: the one algorithm this key verifies (e.g. `HS256`, `RS256`, `ES256`, `EdDSA`).' })),
    rsa_public_key: Type.Optional(Type.String({ maxLength: 16384, description: 'jwt: PEM public key for asymmetric algorithms (not a secret).' })),
    expires_at: Type.Optional(Instant('The credential is refused from this instant on (rotation overlap, short-lived keys).')),
    revoked_at: Type.Optional(Instant('Set when revoked; a revoked credential is refused.')),
    created_at: Type.Optional(Instant('When the credential was created.')),
    tags: Tags,
  },
  { additionalProperties: false, $id: 'Credential', description: "A consumer's API key, password, HMAC secret or JWT key (hashed or encrypted, never in clear)." },
);
export type CredentialConfig = Static<typeof CredentialSchema>;

/**
 * A TLS certificate of the proxy's HTTPS listener (issue 9), chosen per handshake by SNI. The private key
 * is never held in clear: `key_encrypted` is AES-256-GCM under the credential encryption key
 * (auth/secrets.ts), and the admin API and export never return it. See tls/.
 */
export const CertificateSchema = Type.Object(
  {
    name: Name('Unique name of the certificate (an ACME manager upserts by this name).'),
    cert: Type.String({ minLength: 1, maxLength: 65_536, pattern: '-----BEGIN CERTIFICATE-----', description: 'PEM chain: the leaf first, then intermediates.' }),
    key_encrypted: Type.Optional(
      Type.String({
        pattern: '^v1\\.',
        maxLength: 65_536,
        description: 'The PEM private key encrypted with AES-256-GCM (`v1.iv.tag.ciphertext`). Omitted in exports; a document applied without it keeps the stored key of the same name.',
      }),
    ),
    snis: Type.Array(Type.String({ pattern: '^(\\*\\.)?[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*$', maxLength: 253 }), {
      default: [],
      maxItems: 100,
      description: 'Server names this certificate answers: exact (`api.example.com`) or one-label wildcard (`*.example.com`). Exact names win over wildcards.',
    }),
    default: Type.Boolean({ default: false, description: 'Served when the client sends no SNI or one no certificate lists. At most one certificate may be the default; without one such handshakes fail.' }),
    tags: Tags,
  },
  { additionalProperties: false, $id: 'Certificate', description: 'A certificate and (encrypted) private key for the HTTPS listener.' },
);
export type CertificateConfig = Static<typeof CertificateSchema>;

export const PluginInstanceSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ format: 'uuid', description: 'Assigned by the store; files may omit it (an instance is identified by plugin name and scope).' })),
    name: Type.String({ minLength: 1, maxLength: 64, description: 'Plugin name, e.g. `response-headers`.' }),
    service: Type.Optional(Name('Apply only to routes of this service.')),
    route: Type.Optional(Name('Apply only to this route.')),
    consumer: Type.Optional(Name('Apply only to requests authenticated as this consumer.')),
    enabled: Type.Boolean({ default: true, description: 'A disabled instance is kept but does not run.' }),
    config: Type.Record(Type.String(), Type.Unknown(), { default: {}, description: "The plugin's own configuration; see its schema." }),
    tags: Tags,
  },
  {
    additionalProperties: false,
    $id: 'PluginInstance',
    description: 'A plugin applied globally, or to a service, route or consumer. At most one instance per plugin and scope.',
  },
);
export type PluginInstanceConfig = Static<typeof PluginInstanceSchema>;

export const ConfigDocumentSchema = Type.Object(
  {
    _format_version: Type.Literal(FORMAT_VERSION, { description: 'Version of this file format.' }),
    services: Type.Array(ServiceSchema, { default: [] }),
    routes: Type.Array(RouteSchema, { default: [] }),
    upstreams: Type.Array(UpstreamSchema, { default: [] }),
    consumers: Type.Array(ConsumerSchema, { default: [] }),
    plugins: Type.Array(PluginInstanceSchema, { default: [] }),
    // Optional so documents written before credentials existed stay valid; a declarative apply that omits
    // the key keeps the stored credentials (see store/prisma-config-store.ts `replace`).
    credentials: Type.Optional(Type.Array(CredentialSchema, { description: "Consumers' credentials (hashed or encrypted; never clear secrets)." })),
    // Optional for the same reason as credentials: a document without the key keeps the stored certificates.
    certificates: Type.Optional(Type.Array(CertificateSchema, { description: 'TLS certificates of the HTTPS listener (private keys encrypted).' })),
  },
  { additionalProperties: false, $id: 'ConfigDocument', description: 'The whole gateway configuration.' },
);
export type ConfigDocument = Static<typeof ConfigDocumentSchema>;

/** Entity kinds as they appear in the document, the admin API's paths and the store. */
export const ENTITY_KINDS = {
  services: { schema: ServiceSchema, key: 'name' },
  routes: { schema: RouteSchema, key: 'name' },
  upstreams: { schema: UpstreamSchema, key: 'name' },
  consumers: { schema: ConsumerSchema, key: 'username' },
  plugins: { schema: PluginInstanceSchema, key: 'id' },
} as const satisfies Record<string, { schema: TSchema; key: string }>;
export type EntityKind = keyof typeof ENTITY_KINDS;

export function emptyDocument(): ConfigDocument {
  return { _format_version: FORMAT_VERSION, services: [], routes: [], upstreams: [], consumers: [], plugins: [] };
}

/** Identity of a plugin instance in a document: at most one instance per plugin and scope. */
export function pluginInstanceKey(p: Pick<PluginInstanceConfig, 'name' | 'service' | 'route' | 'consumer'>): string {
  return `${p.name}|${p.service ?? ''}|${p.route ?? ''}|${p.consumer ?? ''}`;
}
