/**
 * Fetches the OpenAPI documents services point at (`service.openapi.url`) for the developer portal.
 * The URL is set by an operator, but any developer's page view triggers the fetch, so every fetch is
 * bounded: a timeout, a size cap read as the body streams (a lying or absent content-length cannot get
 * past it), a cache per URL (failures cached briefly too, so a dead host is not hammered by page
 * views), one fetch in flight per URL, and a bounded number of cached URLs.
 */
import { parse as parseYaml } from 'yaml';

export const OPENAPI_MAX_BYTES = 1024 * 1024;
export const OPENAPI_TIMEOUT_MS = 5_000;
export const OPENAPI_TTL_MS = 5 * 60_000;
export const OPENAPI_ERROR_TTL_MS = 30_000;
const MAX_CACHED = 256;

export type FetchedDocument = { document: Record<string, unknown> } | { error: string };

interface Entry {
  at: number;
  result: FetchedDocument;
}

export interface OpenApiDocumentsOptions {
  timeoutMs?: number;
  maxBytes?: number;
  ttlMs?: number;
  errorTtlMs?: number;
  now?: () => number;
}

/** True for an OpenAPI 3.x or Swagger 2.0 document. */
export function isOpenApiDocument(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return (typeof o.openapi === 'string' && o.openapi.startsWith('3.')) || o.swagger === '2.0';
}

export class OpenApiDocuments {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<FetchedDocument>>();
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly errorTtlMs: number;
  private readonly now: () => number;

  constructor(opts: OpenApiDocumentsOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? OPENAPI_TIMEOUT_MS;
    this.maxBytes = opts.maxBytes ?? OPENAPI_MAX_BYTES;
    this.ttlMs = opts.ttlMs ?? OPENAPI_TTL_MS;
    this.errorTtlMs = opts.errorTtlMs ?? OPENAPI_ERROR_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Fetches made so far (tests check the cache with it). */
  fetches = 0;

  get(url: string): Promise<FetchedDocument> {
    const hit = this.cache.get(url);
    if (hit && this.now() - hit.at < ('error' in hit.result ? this.errorTtlMs : this.ttlMs)) return Promise.resolve(hit.result);
    let p = this.inflight.get(url);
    if (p === undefined) {
      p = this.fetchOne(url).then((result) => {
        this.inflight.delete(url);
        this.cache.delete(url);
        if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(url, { at: this.now(), result });
        return result;
      });
      this.inflight.set(url, p);
    }
    return p;
  }

  private async fetchOne(url: string): Promise<FetchedDocument> {
    this.fetches++;
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const res = await fetch(url, { signal, headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.1' } });
      if (!res.ok) {
        await res.body?.cancel();
        return { error: `the document URL answered ${res.status}` };
      }
      const declared = Number(res.headers.get('content-length'));
      if (Number.isFinite(declared) && declared > this.maxBytes) {
        await res.body?.cancel();
        return { error: `the document is larger than ${this.maxBytes} bytes` };
      }
      const text = await this.readCapped(res);
      if (text === undefined) return { error: `the document is larger than ${this.maxBytes} bytes` };
      let parsed: unknown;
      try {
        parsed = /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
      } catch {
        return { error: 'the document is neither JSON nor YAML' };
      }
      if (!isOpenApiDocument(parsed)) return { error: 'the document is not an OpenAPI 3.x or Swagger 2.0 document' };
      return { document: parsed };
    } catch (err) {
      if (signal.aborted) return { error: `the document URL did not answer within ${this.timeoutMs} ms` };
      return { error: `the document could not be fetched: ${(err as Error).message}` };
    }
  }

  private async readCapped(res: Response): Promise<string | undefined> {
    if (!res.body) return '';
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > this.maxBytes) {
        await reader.cancel();
        return undefined;
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
