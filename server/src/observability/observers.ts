/**
 * The proxy's request observers (access log, metrics, tracing, error tracking, live aggregates) behind
 * the one RequestObserver the ProxyServer calls. An observer that throws is logged and skipped; it never
 * fails the request or the other observers.
 */
import type { ProxyRequest, RequestObserver } from '../proxy/proxy-request.js';
import type { PluginLogger } from '../plugins/types.js';

class Composite implements RequestObserver {
  constructor(
    private readonly list: readonly RequestObserver[],
    private readonly logger: PluginLogger,
  ) {}
  begin(req: ProxyRequest): void {
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!.begin(req);
      } catch (err) {
        this.logger.error({ err, request_id: req.requestId }, 'request observer failed');
      }
    }
  }
  end(req: ProxyRequest): void {
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!.end(req);
      } catch (err) {
        this.logger.error({ err, request_id: req.requestId }, 'request observer failed');
      }
    }
  }
}

/** One observer for the list: undefined when empty (the proxy then skips the calls), the observer itself when alone. */
export function composeObservers(list: readonly RequestObserver[], logger: PluginLogger): RequestObserver | undefined {
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0];
  return new Composite(list, logger);
}
