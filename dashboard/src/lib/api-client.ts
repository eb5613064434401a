/**
 * The dashboard's one way to call the admin API: JSON in and out, the session's bearer token attached,
 * and every failure (problem+json answer, other HTTP error, network) turned into a typed ApiError.
 */

/** One entry of a problem's `errors[]`: a JSON Pointer into the request body and what is wrong there. */
export interface FieldError {
  path: string;
  message: string;
}

/** `status` 0 means no HTTP answer (network down, CORS, aborted). */
export class ApiError extends Error {
  readonly status: number;
  /** Stable registry code such as `GW_ERR_ADMIN_UNAUTHORIZED`; `NETWORK` or `HTTP_<status>` when the server sent none. */
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[];

  constructor(init: { status: number; code: string; title: string; detail?: string; errors?: FieldError[] }) {
    super(init.detail ? `${init.title}: ${init.detail}` : init.title);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.title = init.title;
    this.detail = init.detail;
    this.errors = init.errors ?? [];
  }
}

/**
 * Anything a call threw, as an ApiError. The client itself throws only ApiErrors; this covers a bug in
 * the code between the call and the catch, so every error state can still be rendered the same way.
 */
export function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError({ status: 0, code: 'CLIENT', title: 'Unexpected error', detail: String(e) });
}

export interface ApiClientOptions {
  /** Origin (and optional prefix) of the admin API; empty for the page's own origin. */
  baseUrl?: string;
  getToken?: () => string | undefined;
  /** Called on any 401, so an expired session signs the user out wherever it is noticed. */
  onUnauthorized?: (error: ApiError) => void;
}

export interface RequestOptions {
  /** Sent as JSON, unless `contentType` says the body is already text (e.g. YAML config). */
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Don't send the token (sign-in) and don't treat a 401 as an expired session. */
  anonymous?: boolean;
}

export interface ApiClient {
  get<T>(path: string, options?: RequestOptions): Promise<T>;
  post<T>(path: string, options?: RequestOptions): Promise<T>;
  put<T>(path: string, options?: RequestOptions): Promise<T>;
  patch<T>(path: string, options?: RequestOptions): Promise<T>;
  delete<T>(path: string, options?: RequestOptions): Promise<T>;
}

/** A page of entities as the admin API lists them. */
export interface Page<T> {
  data: T[];
  total: number;
  offset: number;
  limit: number;
}

export function createApiClient(options: ApiClientOptions = {}): ApiClient {
  const base = (options.baseUrl ?? '').replace(/\/+$/, '');

  async function request<T>(method: string, path: string, { body, contentType, signal, anonymous }: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    const token = anonymous ? undefined : options.getToken?.();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : contentType ? String(body) : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new ApiError({ status: 0, code: 'NETWORK', title: 'The gateway cannot be reached', detail: (e as Error).message });
    }
    const text = await res.text();
    if (!res.ok) {
      const error = toApiError(res.status, text);
      if (res.status === 401 && !anonymous) options.onUnauthorized?.(error);
      throw error;
    }
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError({ status: res.status, code: 'BAD_RESPONSE', title: 'The gateway sent a response that is not JSON' });
    }
  }

  return {
    get: (path, o) => request('GET', path, o),
    post: (path, o) => request('POST', path, o),
    put: (path, o) => request('PUT', path, o),
    patch: (path, o) => request('PATCH', path, o),
    delete: (path, o) => request('DELETE', path, o),
  };
}

function toApiError(status: number, text: string): ApiError {
  let body: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // An HTML error page from a proxy: fall back to the status line.
  }
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const errors = Array.isArray(body?.errors)
    ? (body.errors as unknown[]).filter(
        (e): e is FieldError => typeof e === 'object' && e !== null && typeof (e as FieldError).path === 'string' && typeof (e as FieldError).message === 'string',
      )
    : [];
  return new ApiError({
    status,
    code: str(body?.code) ?? `HTTP_${status}`,
    title: str(body?.title) ?? `Request failed with status ${status}`,
    ...(str(body?.detail) ? { detail: str(body?.detail) } : {}),
    errors,
  });
}
