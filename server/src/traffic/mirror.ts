/**
 * One mirrored request: copies the primary's upstream request to a shadow service, reads the shadow's
 * answer and, when comparison is on, compares it with the primary's as observed by a response tap.
 *
 * The copy is sent once the primary's response head arrived (the tap's onHead): the primary has then been
 * dispatched with its final path and headers, which the copy reuses. A primary that never got a head (the
 * gateway answered: upstream failure, open breaker) is copied from the log phase instead and compared by
 * status only. Nothing here can delay or fail the client's response: the copy runs on its own promise,
 * every failure is caught and counted, and the comparison runs in a later turn of the event loop.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { RequestContext, ResponseTap } from '../plugins/types.js';
import type { Target } from '../proxy/balancer.js';
import type { CompiledService } from '../proxy/snapshot.js';
import { classifyUpstreamError } from '../proxy/upstream-pool.js';
import { bodyExcerpt, diffBodies, diffHeaders, redact, selectHeaders, type Difference, type IgnorePaths, type ResponseSide } from './compare.js';
import type { RouteShadow } from './shadow-store.js';

export const MIRROR_HEADER = 'x-gatehouse-mirror';

/** Per plugin instance, compiled once per snapshot. */
export interface MirrorSettings {
  readonly shadow: CompiledService;
  readonly services: ReadonlyMap<string, CompiledService>;
  readonly timeout: number;
  readonly compare: boolean;
  /** Lower-case names. */
  readonly headers: readonly string[];
  readonly ignore: IgnorePaths;
  readonly json: boolean;
  readonly maxCompareBody: number;
  readonly latencyThreshold: number | undefined;
  readonly sampleSize: number;
  /** Mirrors in flight for this instance's scope; shared across snapshots. */
  readonly inflight: { n: number };
  readonly queueSize: number;
}

// Primary states
const WAITING = 0;
const COLLECTING = 1;
const DONE = 2;
/** The primary's body could not be compared (cut short, or over the cap). */
const UNCOMPARABLE = 3;
/** The gateway answered instead of the upstream: status only. */
const NO_UPSTREAM = 4;

/** Headers the copy never carries: set per hop, or recomputed for the shadow's body and host. */
const NOT_COPIED: ReadonlySet<string> = new Set(['content-length', 'expect', MIRROR_HEADER]);

/** The proxy's view of the request as sent upstream (ProxyRequest exposes it for the WebSocket tunnel). */
interface UpstreamView {
  readonly upstreamRequestPath?: string;
  /** Undefined while the primary has not been dispatched (the gateway answered first). */
  readonly upstreamRequestHeaders?: string[];
  /** The headers the primary would have been sent: the same filter (hop-by-hop, underscore names, the
   * plugins' removals) and the same X-Forwarded-* / X-Request-Id / X-Real-IP. */
  buildUpstreamHeaders(preserveHost: boolean): string[];
}

export class MirrorExchange implements ResponseTap {
  private primary = WAITING;
  private primaryStatus = 0;
  private primaryHeaders: Record<string, string> | undefined = undefined;
  private primaryLatency = 0;
  private chunks: Buffer[] | undefined = undefined;
  private size = 0;
  private fired = false;
  private shadowDone = false;
  private shadowStatus = 0;
  private shadowHeaders: Record<string, string> | undefined = undefined;
  private shadowBody: Buffer | undefined = undefined;
  private shadowOversize = false;
  private shadowError: string | undefined = undefined;
  private shadowLatency = 0;
  private path = '';
  /** The buffered request body, when the request has one. */
  body: Buffer | null = null;

  constructor(
    private readonly ctx: RequestContext,
    private readonly s: MirrorSettings,
    private readonly stats: RouteShadow,
    /** ≈ when the primary was dispatched (the upstream phase). */
    private readonly t0: number,
  ) {}

  // ---- the primary, through the tap --------------------------------------------------------

  onHead(status: number, headers: Readonly<OutgoingHttpHeaders>): void {
    this.primaryStatus = status;
    if (this.s.compare) {
      this.primaryHeaders = selectHeaders(headers, this.s.headers);
      this.primary = COLLECTING;
      this.chunks = [];
    }
    this.fire();
  }

  onData(chunk: Buffer): void {
    if (this.primary !== COLLECTING) return;
    this.size += chunk.length;
    if (this.size > this.s.maxCompareBody) {
      this.primary = UNCOMPARABLE;
      this.chunks = undefined;
      return;
    }
    this.chunks!.push(chunk);
  }

  onEnd(): void {
    this.primaryLatency = performance.now() - this.t0;
    if (this.primary === COLLECTING) this.primary = DONE;
    this.maybeCompare();
  }

  onAbort(): void {
    this.primaryLatency = performance.now() - this.t0;
    if (this.primary !== WAITING) this.primary = UNCOMPARABLE;
    this.chunks = undefined;
    this.maybeCompare();
  }

  /** Log phase: a request whose primary never produced a head is copied now (compared by status only). */
  finish(ctx: RequestContext): void {
    if (this.fired) return;
    // The client went away before any answer: there is nothing to compare and the request may be half-read.
    if (ctx.status === 0) return;
    this.primary = NO_UPSTREAM;
    this.primaryStatus = ctx.status;
    this.primaryLatency = performance.now() - this.t0;
    this.fire();
  }

  // ---- the shadow --------------------------------------------------------------------------

  private fire(): void {
    if (this.fired) return;
    this.fired = true;
    const s = this.s;
    const shadow = s.shadow;
    // Checked again here: other mirrors may have started since the upstream phase admitted this one.
    if (s.inflight.n >= s.queueSize) {
      this.stats.counters.dropped++;
      this.primary = UNCOMPARABLE;
      this.chunks = undefined;
      return;
    }
    this.stats.shadowService = shadow.name;
    const view = this.ctx as unknown as UpstreamView;
    this.path = this.shadowPath(view.upstreamRequestPath);
    if (!shadow.enabled) return this.shadowFailed('the shadow service is disabled', 0);
    const t = shadow.balancer.pick(this.ctx.clientIp, undefined);
    if (t === undefined) return this.shadowFailed('no healthy target in the shadow service', 0);
    const pool = shadow.pools.get(t)!;
    // A primary the gateway answered before dispatching (service disabled, none) built no headers: build
    // them the same way, so the shadow never sees what the primary would not have.
    const headers = this.copyHeaders(view.upstreamRequestHeaders ?? view.buildUpstreamHeaders(false), shadow.hostHeaders.get(t)!);
    s.inflight.n++;
    this.stats.counters.mirrored++;
    t.active++;
    const started = performance.now();
    const call = new ShadowCall(s.compare, s.maxCompareBody, s.timeout, (err) => this.shadowSettled(call, err, t, started));
    pool.dispatch({ path: this.path, method: this.ctx.method as Dispatcher.HttpMethod, headers, body: this.body, headersTimeout: s.timeout, bodyTimeout: s.timeout }, call);
  }

  /** The shadow's answer was read (or failed): record it, then compare when the primary is done too. */
  private shadowSettled(call: ShadowCall, err: Error | undefined, t: Target, started: number): void {
    const s = this.s;
    if (call.status !== 0) {
      t.health.reportStatus(call.status);
      this.shadowStatus = call.status;
      if (s.compare) this.shadowHeaders = selectHeaders(call.headers as OutgoingHttpHeaders, s.headers);
    }
    this.shadowOversize = call.oversize;
    if (err === undefined) {
      if (call.chunks !== undefined) this.shadowBody = Buffer.concat(call.chunks, call.size);
    } else {
      if (call.status === 0) t.health.reportFailure(classifyFailure(err));
      this.shadowError = call.timedOut ? `timed out after ${s.timeout} ms` : (err.message ?? String(err));
    }
    this.shadowLatency = performance.now() - started;
    t.active--;
    s.inflight.n--;
    if (this.shadowError !== undefined) this.stats.counters.shadow_errors++;
    this.shadowDone = true;
    try {
      this.maybeCompare();
    } catch {
      // maybeCompare schedules its work and cannot throw; nothing is left to report.
    }
  }

  private shadowFailed(message: string, latency: number): void {
    this.stats.counters.shadow_errors++;
    this.shadowError = message;
    this.shadowLatency = latency;
    this.shadowDone = true;
    this.maybeCompare();
  }

  /** The primary's upstream path moved from the primary service's base path to the shadow's. */
  private shadowPath(upstream: string | undefined): string {
    if (upstream === undefined || upstream === '') return this.ctx.query === '' ? this.ctx.path : `${this.ctx.path}?${this.ctx.query}`;
    const primary = this.s.services.get(this.ctx.serviceName ?? '');
    return rebase(upstream, primary?.basePath ?? '', this.s.shadow.basePath);
  }

  /** The primary's upstream headers, for the shadow's host. */
  private copyHeaders(upstream: readonly string[], shadowHost: string): string[] {
    const out: string[] = [];
    const clientHost = this.ctx.req.headers.host;
    for (let i = 0; i < upstream.length; i += 2) {
      const lc = upstream[i]!.toLowerCase();
      if (NOT_COPIED.has(lc)) continue;
      // Host first in the list: kept when the route preserves the client's Host, else the shadow's own.
      if (lc === 'host') out.push('host', clientHost !== undefined && upstream[i + 1] === clientHost ? clientHost : shadowHost);
      else out.push(upstream[i]!, upstream[i + 1]!);
    }
    out.push(MIRROR_HEADER, '1');
    return out;
  }

  // ---- comparison --------------------------------------------------------------------------

  private maybeCompare(): void {
    if (!this.shadowDone || this.primary === WAITING || this.primary === COLLECTING) return;
    if (!this.s.compare && this.shadowError === undefined) return;
    // The client's response is complete; the comparison waits for the next turn so it never runs inside it.
    setImmediate(compareLater, this);
  }

  /** Compares and records; called once both sides are complete. */
  compare(): void {
    const c = this.stats.counters;
    if (this.shadowError !== undefined) {
      if (this.s.sampleSize > 0) this.record([{ kind: 'error', shadow: this.shadowError }], undefined);
      return;
    }
    const s = this.s;
    const diffs: Difference[] = [];
    if (this.primaryStatus !== this.shadowStatus) diffs.push({ kind: 'status', primary: this.primaryStatus, shadow: this.shadowStatus });
    let primaryBody: Buffer | undefined;
    if (this.primary !== NO_UPSTREAM) {
      if (s.headers.length > 0) for (const d of diffHeaders(this.primaryHeaders, this.shadowHeaders, s.headers)) diffs.push(d);
      if (this.primary === DONE && !this.shadowOversize) {
        primaryBody = Buffer.concat(this.chunks!, this.size);
        for (const d of diffBodies(primaryBody, this.shadowBody!, s.json, s.ignore)) diffs.push(d);
      } else c.uncomparable++;
    }
    this.chunks = undefined;
    if (s.latencyThreshold !== undefined && this.shadowLatency - this.primaryLatency > s.latencyThreshold) {
      diffs.push({ kind: 'latency', primary: Math.round(this.primaryLatency), shadow: Math.round(this.shadowLatency) });
    }
    c.compared++;
    c.primary_latency_ms_sum += this.primaryLatency;
    c.shadow_latency_ms_sum += this.shadowLatency;
    if (diffs.length === 0) {
      c.matched++;
      return;
    }
    c.mismatched++;
    let status = false;
    let headers = false;
    let body = false;
    let latency = false;
    for (const d of diffs) {
      if (d.kind === 'status') status = true;
      else if (d.kind === 'header') headers = true;
      else if (d.kind === 'body') body = true;
      else if (d.kind === 'latency') latency = true;
    }
    if (status) c.mismatch_status++;
    if (headers) c.mismatch_headers++;
    if (body) c.mismatch_body++;
    if (latency) c.mismatch_latency++;
    if (s.sampleSize > 0) this.record(diffs, primaryBody);
  }

  private record(differences: Difference[], primaryBody: Buffer | undefined): void {
    const primary: ResponseSide = { status: this.primaryStatus, latency_ms: round(this.primaryLatency) };
    const ph = redact(this.primaryHeaders);
    if (ph !== undefined) primary.headers = ph;
    if (primaryBody !== undefined) {
      primary.body_bytes = primaryBody.length;
      primary.body_excerpt = bodyExcerpt(primaryBody);
    } else if (this.primary === NO_UPSTREAM) primary.error = 'the gateway answered (no upstream response)';
    else if (this.primary === UNCOMPARABLE) primary.error = 'body not compared (cut short or over compare.max_body_size)';
    const shadow: ResponseSide = { status: this.shadowStatus, latency_ms: round(this.shadowLatency) };
    const sh = redact(this.shadowHeaders);
    if (sh !== undefined) shadow.headers = sh;
    if (this.shadowBody !== undefined) {
      shadow.body_bytes = this.shadowBody.length;
      shadow.body_excerpt = bodyExcerpt(this.shadowBody);
    }
    if (this.shadowError !== undefined) shadow.error = this.shadowError;
    else if (this.shadowOversize) shadow.error = 'body over compare.max_body_size';
    this.stats.samples.push({
      at: new Date().toISOString(),
      route: this.stats.route,
      shadow_service: this.s.shadow.name,
      request_id: this.ctx.requestId,
      method: this.ctx.method,
      path: this.path,
      primary,
      shadow,
      differences,
    });
  }
}

function compareLater(x: MirrorExchange): void {
  try {
    x.compare();
  } catch {
    // A comparison that fails (e.g. a pathological body) loses its record, never the proxy thread.
  }
}

/** Ends a shadow answer past the comparison cap; recorded as oversize, not as a failure. */
const OVERSIZE = new Error('shadow body over compare.max_body_size');

/**
 * The shadow request's handler, through the same dispatch contract the proxy uses (the gateway's HTTP/1.1
 * client or an undici Pool): keeps the body only for a comparison and only up to the cap, and gives up after
 * the mirror's timeout as a whole.
 */
class ShadowCall implements Dispatcher.DispatchHandler {
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  chunks: Buffer[] | undefined = undefined;
  size = 0;
  oversize = false;
  timedOut = false;
  private controller: Dispatcher.DispatchController | undefined = undefined;
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly keep: boolean,
    private readonly max: number,
    timeout: number,
    private readonly done: (err: Error | undefined) => void,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller?.abort(new Error(`timed out after ${timeout} ms`));
    }, timeout);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (status < 200) return;
    this.status = status;
    this.headers = headers;
    if (this.keep) this.chunks = [];
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    if (this.chunks === undefined) return;
    if (this.size > this.max) {
      this.oversize = true;
      this.chunks = undefined;
      c.abort(OVERSIZE);
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.settle(undefined);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.settle(err === OVERSIZE ? undefined : err);
  }

  private settle(err: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.done(err);
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function classifyFailure(err: unknown): 'connect' | 'timeout' | 'reset' {
  const k = classifyUpstreamError(err).kind;
  return k === 'connect' || k === 'timeout' ? k : 'reset';
}

/**
 * Moves an upstream path (with its query) from one service base path to another, joining like
 * CompiledRoute.upstreamPath does.
 */
export function rebase(upstream: string, from: string, to: string): string {
  const q = upstream.indexOf('?');
  const path = q === -1 ? upstream : upstream.slice(0, q);
  const query = q === -1 ? '' : upstream.slice(q);
  let rest = path;
  if (from !== '' && path.startsWith(from)) {
    rest = path.slice(from.length);
    if (rest !== '' && rest.charCodeAt(0) !== 47) rest = '/' + rest;
  }
  let out: string;
  if (to === '') out = rest === '' ? '/' : rest;
  else if (rest === '' || rest === '/') out = rest === '/' && !to.endsWith('/') ? to + '/' : to;
  else out = to.endsWith('/') ? to + rest.slice(1) : to + rest;
  return out + query;
}
