/**
 * mirror: copies a share of a route's requests to a shadow service and, optionally, compares the shadow's
 * responses with the primary's (traffic/mirror.ts). The client only ever sees the primary: the copy is
 * sent by the gateway itself after the primary was dispatched, bounded in flight per node, and its
 * latency and failures are counted, never propagated.
 *
 * Upstream phase, last: every access check has passed, and a request proxy-cache answered (which never
 * reaches an upstream) is not copied.
 */
import { definePlugin, type PhaseResult, type PluginDeps, type PluginHandler, type RequestContext } from '../types.js';
import { cookieValue, pointOf, stickyKey, type StickyBy } from '../../traffic/bucket.js';
import { IgnorePaths, parsePointer } from '../../traffic/compare.js';
import { MirrorExchange, type MirrorSettings } from '../../traffic/mirror.js';
import { routeShadow } from '../../traffic/shadow-store.js';
import { MirrorSchema, type MirrorConfig } from './schema.js';

export { clearShadowSamples, shadowSamples, shadowStats, type ShadowRouteStats, type ShadowSample } from '../../traffic/shadow-store.js';

const NAME = 'mirror';

/** In-flight mirrors per scope, kept across snapshots so a reload does not reset the bound. */
const INFLIGHT = new Map<string, { n: number }>();

class Mirror implements PluginHandler {
  /** Percentage as a fraction of [0, 1). */
  private readonly share: number;
  constructor(
    private readonly s: MirrorSettings,
    percentage: number,
    private readonly by: StickyBy,
    /** Lower-case header name or cookie name. */
    private readonly name: string,
    private readonly maxBody: number,
  ) {
    this.share = percentage / 100;
  }

  upstream(ctx: RequestContext): PhaseResult {
    if (this.share === 0 || ctx.req.headers.upgrade !== undefined) return;
    if (this.share < 1 && this.point(ctx) >= this.share) return;
    const stats = routeShadow(ctx.route?.name ?? '', this.s.sampleSize);
    if (this.s.inflight.n >= this.s.queueSize) {
      stats.counters.dropped++;
      return;
    }
    const h = ctx.req.headers;
    const declared = h['content-length'];
    const hasBody = (declared !== undefined && declared !== '0') || h['transfer-encoding'] !== undefined;
    // A body of unknown length cannot be bounded without risking the primary's copy of it.
    if (hasBody && (declared === undefined || Number(declared) > this.maxBody)) {
      stats.counters.skipped_body++;
      return;
    }
    const ex = new MirrorExchange(ctx, this.s, stats, performance.now());
    ctx.locals[NAME] = ex;
    ctx.tapResponse(ex);
    if (!hasBody) return;
    return ctx.readBody(this.maxBody).then((b) => {
      ex.body = b;
    });
  }

  log(ctx: RequestContext): void {
    const ex = ctx.locals[NAME] as MirrorExchange | undefined;
    if (ex !== undefined) ex.finish(ctx);
  }

  private point(ctx: RequestContext): number {
    if (this.by === 'none') return Math.random();
    const key = this.by === 'cookie' ? cookieValue(ctx.req.headers.cookie, this.name) : stickyKey(ctx, this.by, this.name);
    return key === undefined ? Math.random() : pointOf(key);
  }
}

function createMirror(cfg: MirrorConfig, deps: PluginDeps): PluginHandler {
  const services = deps.services;
  if (services === undefined) throw new Error('mirror needs the compiled services of the snapshot');
  const shadow = services.get(cfg.service);
  if (shadow === undefined) throw new Error(`shadow service '${cfg.service}' does not exist or failed to compile`);
  const by = cfg.sticky.by;
  if (by !== 'none' && by !== 'consumer' && cfg.sticky.name === undefined) throw new Error(`sticky by \`${by}\` needs \`sticky.name\``);
  for (const p of cfg.compare.ignore_body_paths) parsePointer(p);
  const scope = `${deps.attachedTo?.route ?? deps.attachedTo?.service ?? '*'}\n${cfg.service}`;
  let inflight = INFLIGHT.get(scope);
  if (inflight === undefined) INFLIGHT.set(scope, (inflight = { n: 0 }));
  const settings: MirrorSettings = {
    shadow,
    services,
    timeout: cfg.timeout,
    compare: cfg.compare.enabled,
    headers: cfg.compare.headers.map((h) => h.toLowerCase()),
    ignore: new IgnorePaths(cfg.compare.ignore_body_paths),
    json: cfg.compare.json,
    maxCompareBody: cfg.compare.max_body_size,
    latencyThreshold: cfg.compare.latency_threshold_ms,
    sampleSize: cfg.compare.sample_size,
    inflight,
    queueSize: cfg.queue_size,
  };
  const name = cfg.sticky.name ?? '';
  return new Mirror(settings, cfg.percentage, by, by === 'header' ? name.toLowerCase() : name, cfg.max_body_size);
}

export default definePlugin({
  name: NAME,
  description: 'Copies a share of requests to a shadow service without affecting the client, and compares the shadow\'s responses with the primary\'s.',
  schema: MirrorSchema,
  scopes: ['route', 'service'],
  create: createMirror,
});
