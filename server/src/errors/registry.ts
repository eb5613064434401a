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
  GW_ERR_NO_HEALTHY_TARGET: { status: 503, title: 'The upstream has no target to send the request to' },
  GW_ERR_SERVICE_DISABLED: { status: 503, title: 'The service is disabled' },
  GW_ERR_NO_SERVICE: { status: 503, title: 'The route has no service' },
  GW_ERR_PLUGIN_FAILED: { status: 500, title: 'A plugin failed while handling the request' },
  GW_ERR_REQUEST_TERMINATED: { status: 503, title: 'The request was terminated by configuration' },
  GW_ERR_INTERNAL: { status: 500, title: 'Internal gateway error' },
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
  GW_ERR_CONFIG_INVALID: { status: 400, title: 'The configuration is invalid' },
  GW_ERR_STORE_UNAVAILABLE: { status: 503, title: 'The config store is unavailable' },
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
