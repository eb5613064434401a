/**
 * The CLI's only contact with a running gateway: the admin API's `/config` endpoints over HTTP, with
 * RFC 9457 problem answers turned into AdminApiError and network failures into AdminUnreachableError.
 */
import type { ConfigDocument } from '../config/schema.js';
import type { ConfigDiff } from '../config/diff.js';

export interface AdminClientOptions {
  /** e.g. `http://127.0.0.1:8001`; a path prefix (behind a reverse proxy) is kept. */
  baseUrl: string;
  token?: string;
  timeoutMs?: number;
}

export interface ProblemBody {
  type?: string;
  title?: string;
  status?: number;
  code?: string;
  detail?: string;
  errors?: { path: string; message: string }[];
}

/** The admin API answered with an error status. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemBody | undefined,
    readonly bodyText: string,
  ) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.name = 'AdminApiError';
  }
}

/** No HTTP answer at all: refused, DNS, TLS or timeout. */
export class AdminUnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach the admin API at ${url}: ${reason}`);
    this.name = 'AdminUnreachableError';
  }
}

export interface ApplyResult {
  /** Absent on a dry run. */
  version?: number;
  changed?: boolean;
  diff?: ConfigDiff;
}

export interface AdminClient {
  /** The running configuration, as the server serialises it (export writes these bytes unchanged). */
  exportConfig(format: 'yaml' | 'json'): Promise<string>;
  currentDocument(): Promise<ConfigDocument>;
  applyConfig(document: unknown, options: { dryRun?: boolean; message?: string }): Promise<ApplyResult>;
  /** `GET /versions`, newest first. */
  versions(page: { offset?: number; limit?: number }): Promise<{ data: VersionEntry[]; total: number }>;
  /** `GET /versions/:n` with its whole document. */
  version(n: number): Promise<VersionEntry & { document: ConfigDocument }>;
  /** `POST /versions/:n/rollback`: the version's document becomes current as a new version. */
  rollback(n: number, message?: string): Promise<{ version: number; changed: boolean }>;
}

export interface VersionEntry {
  version: number;
  created_at: string;
  author: string;
  message: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function createAdminClient(options: AdminClientOptions): AdminClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function request(method: 'GET' | 'PUT' | 'POST', path: string, query: Record<string, string | undefined>, body?: unknown): Promise<Response> {
    const url = new URL(`${base}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json, application/yaml;q=0.9' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (e) {
      throw new AdminUnreachableError(url.origin + url.pathname, networkReason(e, timeoutMs));
    }
    if (!res.ok) {
      const text = await res.text();
      throw new AdminApiError(res.status, parseProblem(text), text);
    }
    return res;
  }

  async function json<T>(res: Response): Promise<T> {
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new AdminApiError(res.status, { title: 'the admin API answered with something other than JSON' }, text);
    }
  }

  return {
    async exportConfig(format) {
      const res = await request('GET', '/config', { format });
      return res.text();
    },
    async currentDocument() {
      const body = await json<unknown>(await request('GET', '/config', { format: 'json' }));
      return unwrapDocument(body);
    },
    async applyConfig(document, { dryRun, message }) {
      const res = await request('PUT', '/config', { dry_run: dryRun ? 'true' : undefined, message }, document);
      return json<ApplyResult>(res);
    },
    async versions({ offset, limit }) {
      const q = { offset: offset === undefined ? undefined : String(offset), limit: limit === undefined ? undefined : String(limit) };
      return json<{ data: VersionEntry[]; total: number }>(await request('GET', '/versions', q));
    },
    async version(n) {
      return json<VersionEntry & { document: ConfigDocument }>(await request('GET', `/versions/${n}`, {}));
    },
    async rollback(n, message) {
      return json<{ version: number; changed: boolean }>(await request('POST', `/versions/${n}/rollback`, { message }));
    },
  };
}

/** `GET /config` returns the document itself; tolerate an envelope `{ version, document }` too. */
function unwrapDocument(body: unknown): ConfigDocument {
  if (body && typeof body === 'object' && !('_format_version' in body) && 'document' in body) {
    return (body as { document: ConfigDocument }).document;
  }
  return body as ConfigDocument;
}

function parseProblem(text: string): ProblemBody | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && ('title' in v || 'code' in v || 'detail' in v)) return v as ProblemBody;
  } catch {
    // Not JSON (a proxy's HTML error page, say): the caller shows the raw text.
  }
  return undefined;
}

function networkReason(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  return err.cause?.code ?? err.cause?.message ?? err.message;
}
