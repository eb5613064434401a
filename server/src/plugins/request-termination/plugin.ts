/**
 * request-termination: answers in the access phase with a configured status and body (maintenance
 * windows, retired endpoints, blocking a consumer), never reaching the upstream.
 */
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { problem, PROBLEM_CONTENT_TYPE } from '../../errors/registry.js';
import { RequestTerminationSchema, type RequestTerminationConfig } from './schema.js';

const JSON_TYPE = 'application/json; charset=utf-8';

class RequestTermination implements PluginHandler {
  constructor(
    private readonly status: number,
    /** Precomputed body; undefined means a problem+json body carrying the request id. */
    private readonly body: Buffer | undefined,
    private readonly contentType: string,
  ) {}

  access(ctx: RequestContext): void {
    if (this.body !== undefined) {
      ctx.respond(this.status, this.body, { 'content-type': this.contentType });
      return;
    }
    const p = problem('GW_ERR_REQUEST_TERMINATED', { request_id: ctx.requestId });
    p.status = this.status;
    ctx.respond(this.status, JSON.stringify(p), { 'content-type': PROBLEM_CONTENT_TYPE });
  }
}

export default definePlugin({
  name: 'request-termination',
  description: 'Answers requests with a fixed status and body instead of proxying them.',
  schema: RequestTerminationSchema,
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createRequestTermination(config: RequestTerminationConfig): PluginHandler {
    if (config.body !== undefined) {
      return new RequestTermination(config.status_code, Buffer.from(config.body), config.content_type ?? JSON_TYPE);
    }
    if (config.message !== undefined) {
      return new RequestTermination(config.status_code, Buffer.from(JSON.stringify({ message: config.message })), JSON_TYPE);
    }
    if (config.content_type !== undefined) throw new Error('`content_type` needs `body`');
    return new RequestTermination(config.status_code, undefined, PROBLEM_CONTENT_TYPE);
  },
});
