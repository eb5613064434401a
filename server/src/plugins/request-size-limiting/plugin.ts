/**
 * request-size-limiting: refuses request bodies over a size. A declared Content-Length is compared in
 * the access phase, before the upstream is contacted (Node's parser already guarantees the body is exactly
 * that long). A chunked body has no declared size, so its bytes are counted as they stream.
 *
 * Counting must not change how the body flows: a 'data' listener added in the access phase would start
 * the stream before the proxy (or readBody) reads it, and those chunks would never reach the upstream.
 * So the counter is attached by a 'newListener' hook, just before the first real consumer attaches, and
 * sees every chunk that consumer sees. Only chunked requests on routes with this plugin pay for it.
 */
import type { IncomingMessage } from 'node:http';
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { problem, PROBLEM_CONTENT_TYPE, type ErrorCode } from '../../errors/registry.js';
import { RequestSizeLimitingSchema, type RequestSizeLimitingConfig } from './schema.js';

/**
 * What the proxy must offer to stop a request whose body is refused mid-stream: abort the upstream
 * exchange, answer `code` as problem+json when no response head was sent yet, otherwise cut the
 * connection. Until ProxyRequest has it, the plugin destroys the request stream instead, which aborts the
 * upstream request and closes the client connection without an answer.
 */
export interface UpstreamAborter {
  abortUpstream(code: ErrorCode, detail?: string): void;
}

const kCount = Symbol('gatehouse.request-size-limiting');

interface BodyCount {
  readonly ctx: RequestContext;
  readonly limit: number;
  seen: number;
}

type Counted = IncomingMessage & { [kCount]?: BodyCount };

/** Requests refused so far by this thread: declared too large, counted too large, missing a length. */
export const requestSizeStats = { declared: 0, streamed: 0, length_required: 0 };

function onNewListener(this: Counted, event: string | symbol): void {
  if (event !== 'data') return;
  this.off('newListener', onNewListener);
  this.on('data', onChunk);
}

function onChunk(this: Counted, chunk: Buffer): void {
  const c = this[kCount]!;
  c.seen += chunk.length;
  if (c.seen <= c.limit) return;
  this.off('data', onChunk);
  requestSizeStats.streamed++;
  const ctx = c.ctx as RequestContext & Partial<UpstreamAborter>;
  if (typeof ctx.abortUpstream === 'function') ctx.abortUpstream('GW_ERR_BODY_TOO_LARGE', `the request body exceeds ${c.limit} bytes`);
  // Without an error argument: a stream with no 'error' listener left must not throw.
  else this.destroy();
}

class RequestSizeLimiting implements PluginHandler {
  private readonly detail: string;
  constructor(
    private readonly limit: number,
    private readonly requireLength: boolean,
  ) {
    this.detail = `the request body exceeds ${limit} bytes`;
  }

  access(ctx: RequestContext): void {
    const req = ctx.req as Counted;
    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      if (Number(declared) > this.limit) {
        requestSizeStats.declared++;
        // The unread body is discarded by Node after the answer, keeping the connection usable.
        this.refuse(ctx, 'GW_ERR_BODY_TOO_LARGE', 413, this.detail);
      }
      return;
    }
    if (req.headers['transfer-encoding'] === undefined) return; // no body
    if (this.requireLength) {
      requestSizeStats.length_required++;
      return this.refuse(ctx, 'GW_ERR_LENGTH_REQUIRED', 411, undefined);
    }
    req[kCount] = { ctx, limit: this.limit, seen: 0 };
    if (req.listenerCount('data') > 0) req.on('data', onChunk);
    else req.on('newListener', onNewListener);
  }

  private refuse(ctx: RequestContext, code: ErrorCode, status: number, detail: string | undefined): void {
    const p = problem(code, { request_id: ctx.requestId, ...(detail ? { detail } : {}) });
    ctx.respond(status, JSON.stringify(p), { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' });
  }
}

export default definePlugin({
  name: 'request-size-limiting',
  description: 'Refuses request bodies larger than a configured size with 413.',
  schema: RequestSizeLimitingSchema,
  // Not per consumer: it runs before authentication, when the consumer is not known yet.
  scopes: ['global', 'service', 'route'],
  create: function createRequestSizeLimiting(config: RequestSizeLimitingConfig): PluginHandler {
    return new RequestSizeLimiting(config.allowed_payload_size, config.require_content_length);
  },
});
