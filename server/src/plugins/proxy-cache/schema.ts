/**
 * Config of proxy-cache: which responses the gateway stores and replays, how the cache key is made, and
 * where entries live (the worker's memory, or Redis shared by every node).
 */
import { Type, type Static } from '@sinclair/typebox';

const HeaderName = Type.String({ minLength: 1, maxLength: 256, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: 'A request header name.' });

export const ProxyCacheSchema = Type.Object(
  {
    strategy: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      default: 'memory',
      description:
        '`memory`: an LRU per worker (bounded by memory_max_entries / memory_max_bytes; entries survive config changes). `redis`: shared by every node through REDIS_URL; a Redis failure is a cache miss, never a failed request.',
    }),
    methods: Type.Array(Type.Union([Type.Literal('GET'), Type.Literal('HEAD')]), {
      minItems: 1,
      maxItems: 2,
      uniqueItems: true,
      default: ['GET', 'HEAD'],
      description:
        'Request methods answered from the cache. Only GET responses are stored; HEAD is answered from the GET entry. Other methods are not offered: their request body is not part of the key.',
    }),
    response_codes: Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
      minItems: 1,
      maxItems: 50,
      uniqueItems: true,
      default: [200, 301, 404],
      description: 'Response statuses that may be stored.',
    }),
    content_types: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
        minItems: 1,
        maxItems: 50,
        default: undefined,
        description: 'Media types that may be stored (compared without parameters, e.g. `application/json` matches `application/json; charset=utf-8`). Unset: any.',
      }),
    ),
    ttl: Type.Integer({
      minimum: 1,
      maximum: 31_536_000,
      default: 300,
      description: 'Seconds an entry stays fresh when the response states no freshness (max-age, s-maxage, Expires), or always when cache_control is off.',
    }),
    cache_control: Type.Boolean({
      default: true,
      description:
        'Honour Cache-Control as a shared cache (RFC 9111): responses with no-store, private or no-cache are not stored, s-maxage / max-age / Expires set the freshness; a request with no-store bypasses the cache, one with no-cache (or Pragma: no-cache) refreshes it, max-age / min-fresh / only-if-cached are honoured.',
    }),
    cache_set_cookie: Type.Boolean({ default: false, description: 'Store responses that carry Set-Cookie (and replay the cookie to every client). Off: such responses are never stored.' }),
    cache_authorized: Type.Boolean({
      default: false,
      description:
        'Use the cache for requests with an Authorization header. Off: they bypass it (RFC 9111 §3.5). Turn on only when the answer does not depend on who asks, or together with key_by_consumer.',
    }),
    vary_headers: Type.Array(HeaderName, {
      maxItems: 20,
      uniqueItems: true,
      default: [],
      description: 'Request headers whose values are part of the key (in addition to the names the response lists in Vary, which are always honoured).',
    }),
    vary_query_params: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
        maxItems: 50,
        uniqueItems: true,
        default: undefined,
        description: 'Query parameters that are part of the key (sorted by name, so their order does not matter). Unset: the whole query string as sent; empty list: the query is ignored.',
      }),
    ),
    key_by_consumer: Type.Boolean({ default: false, description: 'Make the authenticated consumer part of the key: each consumer gets its own entries.' }),
    max_body_size: Type.Integer({
      minimum: 0,
      maximum: 67_108_864,
      default: 1_048_576,
      description: 'Largest body (bytes) stored. A bigger response is streamed to the client as usual and not stored.',
    }),
    memory_max_entries: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      default: 10_000,
      description: 'With `memory`: most entries this instance keeps per worker; the least recently used go first. A resource with Vary uses one extra entry for its variant index.',
    }),
    memory_max_bytes: Type.Integer({
      minimum: 1_024,
      maximum: 17_179_869_184,
      default: 67_108_864,
      description: 'With `memory`: most bytes (bodies plus headers) this instance keeps per worker; the least recently used entries go first.',
    }),
    redis_timeout_ms: Type.Integer({ minimum: 1, maximum: 10_000, default: 100, description: 'With `redis`: longest wait for a lookup; past it the request is a miss.' }),
    expose_key: Type.Boolean({ default: false, description: 'Send the entry key in `X-Cache-Key` (the key the admin API purges by).' }),
  },
  { additionalProperties: false, description: 'Caches upstream responses at the gateway, following HTTP caching rules.' },
);
export type ProxyCacheConfig = Static<typeof ProxyCacheSchema>;
