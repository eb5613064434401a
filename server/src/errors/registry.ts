/**
 * Every error the gateway itself answers with, in one registry: a stable code clients can match on,
 * the HTTP status, and a human title. Bodies are RFC 9457 `application/problem+json`.
 */
export const ERRORS = {
  GW_ERR_ROUTE_NOT_FOUND: { status: 404, title: 'No route matches the request' },
  GW_ERR_BAD_REQUEST: { status: 400, title: 'Malformed request' },
  GW_ERR_AMBIGUOUS_HOST: { status: 400, title: 'Ambiguous Host: several Host headers, or an absolute-form target that disagrees with Host' },
  GW_ERR_BAD_PATH: { status: 400, title: 'The request path cannot be normalised' },
  GW_ERR_UPSTREAM_UNAVAILABLE: { status: 502, title: 'The upstream refused or dropped the connection' },
  GW_ERR_UPSTREAM_BAD_RESPONSE: { status: 502, title: 'The upstream sent an invalid response' },
  GW_ERR_UPSTREAM_TIMEOUT: { status: 504, title: 'The upstream did not answer in time' },
  GW_ERR_UPSTREAM_TLS: { status: 502, title: "The upstream's TLS handshake failed (certificate not trusted, wrong name, or client certificate refused)" },
  GW_ERR_NO_HEALTHY_TARGET: { status: 503, title: 'The upstream has no target to send the request to' },
  GW_ERR_SERVICE_DISABLED: { status: 503, title: 'The service is disabled' },
  GW_ERR_NO_SERVICE: { status: 503, title: 'The route has no service' },
  GW_ERR_PLUGIN_FAILED: { status: 500, title: 'A plugin failed while handling the request' },
  GW_ERR_PLUGIN_MISCONFIGURED: { status: 500, title: 'A plugin of this route has a configuration it cannot run; the route refuses requests until it is fixed' },
  GW_ERR_REQUEST_TERMINATED: { status: 503, title: 'The request was terminated by configuration' },
  GW_ERR_INTERNAL: { status: 500, title: 'Internal gateway error' },
  GW_ERR_RATE_LIMITED: { status: 429, title: 'Rate limit or quota exceeded; retry later' },
  GW_ERR_RATE_LIMIT_UNAVAILABLE: { status: 503, title: 'The rate limit could not be checked (its store is unavailable)' },
  GW_ERR_BODY_TOO_LARGE: { status: 413, title: 'The request body is larger than a plugin of this route accepts' },
  GW_ERR_CONCURRENCY_LIMITED: { status: 429, title: 'Too many requests in flight for this key; retry later' },
  // Resilience (issue 5)
  GW_ERR_CIRCUIT_OPEN: { status: 503, title: 'The circuit breaker of the upstream is open; retry later' },
  GW_ERR_NOT_CACHED: { status: 504, title: 'The request accepts only a cached response (Cache-Control: only-if-cached) and none is stored' },
  // Load shedding and size limits (issue 5).
  GW_ERR_OVERLOADED: { status: 503, title: 'The gateway is overloaded and sheds requests; retry later' },
  GW_ERR_LENGTH_REQUIRED: { status: 411, title: 'A Content-Length header is required for a request body on this route' },
  GW_ERR_URI_TOO_LONG: { status: 414, title: 'The request target is longer than the gateway accepts' },
  GW_ERR_HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are larger than the gateway accepts' },
  GW_ERR_REQUEST_TIMEOUT: { status: 408, title: 'The client did not send the complete request in time' },
  // Request validation (issue 6): `errors` lists { in, pointer, message } per failing field.
  GW_ERR_REQUEST_INVALID: { status: 400, title: 'The request does not match the schema of this route' },
  GW_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body has a content type this route does not accept' },
  GW_ERR_OPERATION_NOT_FOUND: { status: 404, title: 'The API description of this service has no operation for the request method and path' },
  // Traffic policy (issue 6).
  GW_ERR_INVALID_JSON_BODY: { status: 400, title: 'The request body is not valid JSON, so the route cannot transform it' },
  // Admin API
  GW_ERR_ADMIN_VALIDATION: { status: 400, title: 'The request body is invalid' },
  GW_ERR_ADMIN_NOT_FOUND: { status: 404, title: 'No such entity' },
  GW_ERR_ADMIN_CONFLICT: { status: 409, title: 'The entity conflicts with an existing one' },
  GW_ERR_ADMIN_REFERENCE: { status: 409, title: 'The entity references a missing entity, or is still referenced' },
  GW_ERR_ADMIN_UNAUTHORIZED: { status: 401, title: 'Authentication required' },
  GW_ERR_ADMIN_FORBIDDEN: { status: 403, title: 'Not allowed for this role' },
  GW_ERR_ADMIN_READ_ONLY: { status: 405, title: 'The gateway runs from a declarative file (DB-less mode); the admin API is read-only' },
  GW_ERR_ADMIN_PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  GW_ERR_ADMIN_RATE_LIMITED: { status: 429, title: 'Too many requests; retry later' },
  GW_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body has an unsupported content type' },
  GW_ERR_ADMIN_NOT_READY: { status: 503, title: 'The gateway is not ready to serve traffic' },
  // Developer portal (issue 3, admin/developers/).
  GW_ERR_DEVELOPER_PENDING: { status: 403, title: 'The developer account awaits approval by an administrator' },
  GW_ERR_DEVELOPER_INVITE_INVALID: { status: 400, title: 'The invitation token is invalid, expired or already used' },
  GW_ERR_DEVELOPER_LIMIT: { status: 409, title: 'The developer has reached the number of applications or keys allowed' },
  GW_ERR_CONFIG_INVALID: { status: 400, title: 'The configuration is invalid' },
  // Importers (POST /config/import/:format): the file is not a configuration of the named format.
  GW_ERR_IMPORT_INVALID: { status: 422, title: 'The file cannot be imported: it is not a configuration of this format' },
  GW_ERR_STORE_UNAVAILABLE: { status: 503, title: 'The config store is unavailable' },
  // Authentication and authorization (issue 3): 401 = who are you?, 403 = known but not allowed.
  GW_ERR_AUTH_MISSING: { status: 401, title: 'Credentials are required' },
  GW_ERR_AUTH_INVALID: { status: 401, title: 'The credentials are invalid' },
  GW_ERR_AUTH_EXPIRED: { status: 401, title: 'The credentials have expired' },
  GW_ERR_AUTH_SIGNATURE: { status: 401, title: 'The request signature is invalid' },
  GW_ERR_AUTH_CLOCK_SKEW: { status: 401, title: 'The request date is outside the allowed clock skew' },
  GW_ERR_AUTH_DIGEST: { status: 401, title: 'The request body does not match its digest' },
  GW_ERR_AUTH_CONSUMER_MISMATCH: { status: 401, title: 'The credentials identify different consumers' },
  GW_ERR_AUTH_BODY_TOO_LARGE: { status: 413, title: 'The request body is too large to be verified' },
  GW_ERR_AUTH_FORBIDDEN: { status: 403, title: 'The consumer is not allowed to use this route' },
  GW_ERR_AUTH_SCOPE: { status: 403, title: 'The token lacks a required scope' },
  // Client certificates (mtls-auth)
  GW_ERR_MTLS_NOT_TLS: { status: 401, title: 'This route requires a client certificate, which needs HTTPS; the request came over plain HTTP' },
  GW_ERR_MTLS_CERT_MISSING: { status: 401, title: 'This route requires a client certificate and none was presented' },
  GW_ERR_MTLS_CERT_UNTRUSTED: { status: 401, title: 'The client certificate is not issued by a CA this route trusts' },
  GW_ERR_MTLS_CERT_EXPIRED: { status: 401, title: 'The client certificate has expired or is not yet valid' },
  GW_ERR_MTLS_CERT_REVOKED: { status: 401, title: 'The client certificate has been revoked' },
  GW_ERR_MTLS_NO_CONSUMER: { status: 401, title: 'The client certificate identifies no consumer' },
  // Bearer tokens (jwt, oauth2-introspection): one code per reason a token is refused
  GW_ERR_AUTH_TOKEN_TOO_LARGE: { status: 401, title: 'The token is larger than allowed' },
  GW_ERR_AUTH_TOKEN_MALFORMED: { status: 401, title: 'The token is not a well-formed JWS compact serialization' },
  GW_ERR_AUTH_ALG_NONE: { status: 401, title: 'Unsigned tokens (alg none) are refused' },
  GW_ERR_AUTH_ALG_NOT_ALLOWED: { status: 401, title: 'The token algorithm is not allowed for this key' },
  GW_ERR_AUTH_TOKEN_HEADER_FORBIDDEN: { status: 401, title: 'The token header carries a key reference (jwk, jku, x5u, x5c) that is never trusted' },
  GW_ERR_AUTH_CRIT_UNSUPPORTED: { status: 401, title: 'The token header marks an extension critical that is not understood' },
  GW_ERR_AUTH_KID_INVALID: { status: 401, title: 'The token key id is not a short printable string' },
  GW_ERR_AUTH_KID_UNKNOWN: { status: 401, title: 'No key matches the token key id' },
  GW_ERR_AUTH_ISSUER_UNKNOWN: { status: 401, title: 'The token issuer is not trusted' },
  GW_ERR_AUTH_TOKEN_SIGNATURE: { status: 401, title: 'The token signature is invalid' },
  GW_ERR_AUTH_CLAIM_INVALID: { status: 401, title: 'A token claim has the wrong type' },
  GW_ERR_AUTH_CLAIM_MISSING: { status: 401, title: 'A required token claim is missing' },
  GW_ERR_AUTH_TOKEN_NOT_YET_VALID: { status: 401, title: 'The token is not valid yet (nbf, iat)' },
  GW_ERR_AUTH_TOKEN_TOO_OLD: { status: 401, title: 'The token was issued too long ago' },
  GW_ERR_AUTH_AUDIENCE: { status: 401, title: 'The token is not meant for this audience' },
  GW_ERR_AUTH_TOKEN_INACTIVE: { status: 401, title: 'The token is not active' },
  GW_ERR_AUTH_CONSUMER_UNKNOWN: { status: 401, title: 'The token names no known consumer' },
  GW_ERR_AUTH_KEYS_UNAVAILABLE: { status: 503, title: 'The keys to verify the token cannot be fetched' },
  GW_ERR_AUTH_INTROSPECTION_UNAVAILABLE: { status: 503, title: 'The token introspection endpoint did not answer' },
  // Traffic policy (issue 6).
  GW_ERR_IP_FORBIDDEN: { status: 403, title: 'The client address is not allowed to use this route' },
  GW_ERR_BOT_FORBIDDEN: { status: 403, title: 'The client (User-Agent) is not allowed to use this route' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance?: string;
  request_id?: string;
  errors?: { path: string; message: string }[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problem(code: ErrorCode, extra: Partial<Omit<Problem, 'code' | 'status' | 'title' | 'type'>> = {}): Problem {
  const e = ERRORS[code];
  return { type: `https://gatehouse.dev/errors/${code}`, title: e.title, status: e.status, code, ...extra };
}

/** An error carrying a registry code, thrown by plugins and services and rendered as problem+json. */
export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly errors?: { path: string; message: string }[],
  ) {
    super(detail ?? ERRORS[code].title);
    this.name = 'GatewayError';
    this.status = ERRORS[code].status;
  }
  toProblem(extra: Partial<Problem> = {}): Problem {
    return problem(this.code, { ...(this.detail ? { detail: this.detail } : {}), ...(this.errors ? { errors: this.errors } : {}), ...extra });
  }
}
