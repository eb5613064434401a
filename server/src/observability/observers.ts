/**
 * The proxy's request observers (access log, metrics, tracing, error tracking, live aggregates) behind
 * the one RequestObserver the ProxyServer calls. An observer that throws is logged and skipped; it never
 * fails the request or the other observers.
 *
 * `begin` runs in line (the tracer sets the upstream's `traceparent` there). `end` is deferred: the requests
 * that end during one turn of the event loop are handed to each observer in turn, in a batch, once the
 * turn's I/O is done (setImmediate). Called in line, each request ran every observer's code and tables
 * cold: between two requests the proxy's own work evicts them from the CPU caches, and the access log
 * line, the histograms and the span encoder then cost several times what they cost in a loop. Batched,
 * each observer's code stays warm across the batch: with the access log to a file, metrics and tracing at
 * 10%, −4.0% CPU per request (scripts/bench/ab-together.sh; docs/performance-log.md, "Paired measurements
 * with both gateways loaded at once"). A request's `end` therefore comes up to one loop turn after its
 * response finished; its timings were taken before.
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
  /** Requests ended in this turn of the loop; `spare` is the other array, swapped in while a batch runs. */
  private pending: ProxyRequest[] = [];
  private spare: ProxyRequest[] = [];

  end(req: ProxyRequest): void {
    if (this.pending.push(req) === 1) setImmediate(flushBatch, this);
  }

  endHeld(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    // An observer's `end` that ends another request (none does today) queues it for the next batch.
    this.pending = this.spare;
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      const o = list[i]!;
      for (let j = 0; j < batch.length; j++) {
        try {
          o.end(batch[j]!);
        } catch (err) {
          this.logger.error({ err, request_id: batch[j]!.requestId }, 'request observer failed');
        }
      }
    }
    batch.length = 0;
    this.spare = batch;
  }
}

function flushBatch(c: Composite): void {
  c.endHeld();
}

/** One observer for the list: undefined when empty (the proxy then skips the calls), the observer itself when alone. */
export function composeObservers(list: readonly RequestObserver[], logger: PluginLogger): RequestObserver | undefined {
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0];
  return new Composite(list, logger);
}
