/**
 * traffic-split: shares a route's traffic between services by weight (canary 5 % → 10 % → … → 100 %),
 * optionally sticky by cookie, header or consumer.
 *
 * Every request is placed at a point in [0, 1) (traffic/bucket.ts) and each service owns a range of it, in
 * the configured order. A sticky request's point never changes, so a weight change only moves range
 * boundaries: with the canary listed first (or last), raising its weight keeps every client it already had.
 * The weights are read from the config snapshot, so a weight change is a config change like any other and
 * applies to the next request; the plugin keeps no state besides counters.
 *
 * Runs in the access phase, after authentication (consumer stickiness needs the consumer) and before the
 * upstream phase, so proxy-cache and circuit-breaker act on the chosen service.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { definePlugin, type PluginDeps, type PluginHandler, type RequestContext } from '../types.js';
import { cookieValue, COOKIE_BUCKETS, parseCookieBucket, pointOf, stickyKey, WeightTable, type StickyBy } from '../../traffic/bucket.js';
import { splitCounter, type SplitCounter } from '../../traffic/split-stats.js';
import { TrafficSplitSchema, type TrafficSplitConfig } from './schema.js';

export { trafficSplitStats } from '../../traffic/split-stats.js';

const NAME = 'traffic-split';
export const UPSTREAM_SERVICE_HEADER = 'x-gatehouse-upstream-service';
export const DEFAULT_SPLIT_COOKIE = 'gatehouse_split';

interface Choice {
  readonly service: string;
  readonly counter: SplitCounter;
}

class TrafficSplit implements PluginHandler {
  constructor(
    protected readonly table: WeightTable<Choice>,
    protected readonly by: StickyBy,
    /** Lower-case header name, or the cookie name. */
    protected readonly name: string,
    private readonly expose: boolean,
  ) {}

  access(ctx: RequestContext): void {
    this.route(ctx, this.point(ctx));
  }

  protected point(ctx: RequestContext): number {
    if (this.by === 'none') return Math.random();
    const key = stickyKey(ctx, this.by, this.name);
    return key === undefined ? Math.random() : pointOf(key);
  }

  protected route(ctx: RequestContext, point: number): void {
    const choice = this.table.pick(point);
    // The route's own service needs no override; a disabled service leaves the request on the route's.
    if (choice.service !== ctx.serviceName && !ctx.useService(choice.service)) {
      choice.counter.unavailable++;
      return;
    }
    choice.counter.requests++;
    if (this.expose) ctx.setResponseHeader(UPSTREAM_SERVICE_HEADER, choice.service);
  }
}

/** Cookie stickiness: the client's point is the cookie's value; a client without one gets it set. */
class CookieTrafficSplit extends TrafficSplit {
  constructor(
    table: WeightTable<Choice>,
    cookie: string,
    expose: boolean,
    /** Everything after the value, computed once. */
    private readonly attributes: string,
  ) {
    super(table, 'cookie', cookie, expose);
  }

  override access(ctx: RequestContext): void {
    const known = parseCookieBucket(cookieValue(ctx.req.headers.cookie, this.name));
    if (known !== undefined) return this.route(ctx, known / COOKIE_BUCKETS);
    const bucket = Math.floor(Math.random() * COOKIE_BUCKETS);
    ctx.locals[NAME] = bucket;
    this.route(ctx, bucket / COOKIE_BUCKETS);
  }

  /** Adds the cookie next to the upstream's own Set-Cookie headers (setResponseHeader would replace them). */
  response(ctx: RequestContext): void {
    const bucket = ctx.locals[NAME];
    if (bucket === undefined) return;
    const cookie = `${this.name}=${bucket as number}${this.attributes}`;
    const prev = (ctx.responseHeaders as OutgoingHttpHeaders | undefined)?.['set-cookie'];
    if (prev === undefined) ctx.setResponseHeader('set-cookie', cookie);
    else ctx.setResponseHeader('set-cookie', Array.isArray(prev) ? [...prev, cookie] : [String(prev), cookie]);
  }
}

function createTrafficSplit(cfg: TrafficSplitConfig, deps: PluginDeps): PluginHandler {
  const services = deps.services;
  for (const t of cfg.targets) {
    if (services !== undefined && !services.has(t.service)) throw new Error(`service '${t.service}' does not exist or failed to compile`);
  }
  const scopeKey = deps.attachedTo?.route ?? deps.attachedTo?.service ?? deps.route?.name ?? '*';
  const choices: Choice[] = cfg.targets.map((t) => ({ service: t.service, counter: splitCounter(scopeKey, t.service) }));
  const table = new WeightTable(
    choices,
    cfg.targets.map((t) => t.weight),
  );
  if (table.total === 0) throw new Error('every weight is 0: at least one target needs a positive weight');
  const by = cfg.sticky.by;
  if (by === 'cookie') {
    const name = cfg.sticky.name ?? DEFAULT_SPLIT_COOKIE;
    const ttl = cfg.sticky.cookie_ttl;
    const attributes = `; Path=${cfg.sticky.cookie_path}${ttl > 0 ? `; Max-Age=${ttl}` : ''}; HttpOnly; SameSite=Lax`;
    return new CookieTrafficSplit(table, name, cfg.expose_header, attributes);
  }
  if (by === 'header' && cfg.sticky.name === undefined) throw new Error('sticky by `header` needs `sticky.name`');
  return new TrafficSplit(table, by, (cfg.sticky.name ?? '').toLowerCase(), cfg.expose_header);
}

export default definePlugin({
  name: NAME,
  description: 'Shares a route\'s traffic between services by weight (canary releases), optionally sticky by cookie, header or consumer.',
  schema: TrafficSplitSchema,
  scopes: ['route', 'service'],
  create: createTrafficSplit,
});
