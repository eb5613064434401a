/**
 * One proxied request: the RequestContext plugins see, and the undici dispatch handler that streams the
 * upstream response back. One instance per request with every method on the prototype, so the hot path
 * allocates no closures; asynchronous plugin phases are the only place that allocates continuations.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ConsumerConfig } from '../config/schema.js';
import { GatewayError, problem, PROBLEM_CONTENT_TYPE, type ErrorCode } from '../errors/registry.js';
import type { BodySink, GuardedExchange, PhaseResult, PluginLogger, ResponseBodyFilter, ResponseTap, RouteInfo, UpstreamFailureKind, UpstreamGuard } from '../plugins/types.js';
import type { Target } from './balancer.js';
import {
  clientFromForwardedFor,
  connectionTokens,
  cookieValue,
  forwardedNode,
  forwardedValue,
  GATEWAY_REQUEST_HEADERS,
  HOP_BY_HOP,
  isWellFormedRequestId,
  stripResponseHopByHop,
  VIA_VALUE,
} from './headers.js';
import { parseRequestTarget } from './normalize-path.js';
import type { CompiledRoute, CompiledService, PhaseChains, ChainEntry, Snapshot } from './snapshot.js';
import { classifyUpstreamError, IDEMPOTENT_METHODS, underlyingTlsError, UpstreamWriteTimeoutError } from './upstream-pool.js';
import { grpcMessageOf, grpcStatusOf, isGrpcContentType, takeGrpcStatus } from './grpc.js';
import { unmapIPv4, type TrustedProxies } from './trusted-proxies.js';
import type { TunnelHandler } from './websocket.js';
import type { UnderscoreHeaders } from './client-limits.js';

/** What a request needs from the server that owns it. */
export interface ProxyHost {
  readonly trusted: TrustedProxies;
  readonly logger: PluginLogger;
  readonly tunnel: TunnelHandler;
  /** Refuse paths upstreams read differently (`;`, `\`, `%2F`, `%5C`); see client-limits.ts. */
  readonly strictPaths: boolean;
  /** What to do with client header fields whose name has an `_` (client-limits.ts). */
  readonly underscoreHeaders: UnderscoreHeaders;
  /** Access log, metrics, tracing, error tracking: told when each request begins and ends. */
  readonly observer: RequestObserver | undefined;
}

/**
 * Watches every request (observability/). `begin` runs once the request id and client address are known,
 * before any phase (a tracer decides sampling and sets `traceparent` upstream there); `end` runs once the
 * exchange is over, after the log plugins, with the timings below filled in. Neither may throw or block.
 * An observer may hold `end` calls back (observers.ts batches them per loop turn); `endHeld` then makes
 * them now, and the ProxyServer calls it once it has closed.
 */
export interface RequestObserver {
  begin(req: ProxyRequest): void;
  end(req: ProxyRequest): void;
  endHeld?(): void;
}

const kCtx = Symbol('gatehouse.ctx');
type WithCtx = { [kCtx]?: ProxyRequest };

type AccessLikePhase = 'access' | 'upstream';

function onResDrain(this: ServerResponse & WithCtx): void {
  this[kCtx]?.controller?.resume();
}
function onResClose(this: ServerResponse & WithCtx): void {
  this[kCtx]?.onClientClose();
}
function onWriteTimeout(ctx: ProxyRequest): void {
  ctx.controller?.abort(new UpstreamWriteTimeoutError());
}

/** Bits of ProxyRequest.pluginPhases. */
export const PHASE_REWRITE = 1;
export const PHASE_ACCESS = 2;
export const PHASE_UPSTREAM = 4;

/** Reason given to undici when a response is dropped to retry its status elsewhere; never reaches a client. */
const STATUS_RETRY = new Error('retrying the upstream status on another target');

export class ProxyRequest implements GuardedExchange, Dispatcher.DispatchHandler {
  requestId = '';
  readonly startedAt: number;
  clientIp = '';
  readonly method: string;
  host = '';
  port = '';
  path = '';
  query = '';
  route: RouteInfo | undefined = undefined;
  params: Readonly<Record<string, string>> | undefined = undefined;
  consumer: ConsumerConfig | undefined = undefined;
  status = 0;
  responseHeaders: OutgoingHttpHeaders | undefined = undefined;
  answered = false;

  controller: Dispatcher.DispatchController | undefined = undefined;
  private _locals: Record<string, unknown> | undefined = undefined;
  private peer = '';
  private trustedPeer = false;
  private hostHeader = '';
  private compiled: CompiledRoute | undefined = undefined;
  private chains: PhaseChains;
  private prefixLength = 0;
  private consumerResolved = false;
  private upSet: string[] | undefined = undefined;
  private upRemove: Set<string> | undefined = undefined;
  /** Response header edits made before the head exists: name, value (undefined: remove), … flat, no array per edit. */
  private pendingResp: (string | string[] | undefined)[] | undefined = undefined;
  private earlyBody: string | Buffer | undefined = undefined;
  private hasBody = false;
  /** Set once a plugin called readBody: the body is then sent upstream from this buffer, not streamed. */
  private bodyRead: Promise<Buffer> | undefined = undefined;
  private bodyBuffer: Buffer | undefined = undefined;
  /** Set by setUpstreamMethod / setUpstreamPath (request-transformer); undefined on most requests. */
  private upMethod: string | undefined = undefined;
  private upPath: string | undefined = undefined;
  private upstreamHeaders: string[] | undefined = undefined;
  private upstreamPath = '';
  private target: Target | undefined = undefined;
  private tried: Target[] | undefined = undefined;
  private attempts = 0;
  private bodyStarted = false;
  private headSent = false;
  /** True once the client went away or the response is complete. */
  finished = false;
  /** The service of the current attempt: the route's, or a fallback's. */
  private service: CompiledService | undefined = undefined;
  private guard: UpstreamGuard | undefined = undefined;
  private guardEntered = false;
  /** An exchange started by the guard's `proceed()` awaits its `settle`. */
  private guardActive = false;
  guardState: unknown = undefined;
  // Timings (performance.now(), 0 when the step did not happen) and outcome, for the observers.
  routedAt = 0;
  accessDoneAt = 0;
  upstreamPhaseDoneAt = 0;
  upstreamStartAt = 0;
  upstreamHeadAt = 0;
  upstreamEndAt = 0;
  endedAt = 0;
  /** The request phases whose chain had plugins to run (PHASE_REWRITE | PHASE_ACCESS | PHASE_UPSTREAM):
   * tracing records a span for those phases only. */
  pluginPhases = 0;
  /** Body bytes sent to the client. */
  bytesOut = 0;
  /** The gateway's own error code when it answered with a problem. */
  errorCode: ErrorCode | undefined = undefined;
  /** How the last upstream attempt failed, when it did. */
  upstreamFailure: UpstreamFailureKind | undefined = undefined;
  /** `host:port` of the last target tried. */
  targetAddress: string | undefined = undefined;
  /** Per-request state of the observers (a trace span, …). */
  traceId: string | undefined = undefined;
  spanId: string | undefined = undefined;
  observed: unknown = undefined;
  /** Set by abortUpstream: the answer that replaces whatever the aborted exchange ends with. */
  private abortCode: ErrorCode | undefined = undefined;
  private abortDetail: string | undefined = undefined;
  private writeTimer: NodeJS.Timeout | undefined = undefined;
  /** Observers of the upstream response (proxy-cache, serve-last-good); undefined on most routes. */
  private taps: ResponseTap[] | undefined = undefined;
  /** Rewriters of the upstream body, and the chain built from them once the head arrives. */
  private filters: ResponseBodyFilter[] | undefined = undefined;
  private chain: FilterChain | undefined = undefined;
  /** Set by useService: the service chosen instead of the route's. */
  private serviceOverride: CompiledService | undefined = undefined;
  // Facts collected in the single pass over rawHeaders.
  private hXff: string | undefined = undefined;
  private hXfProto: string | undefined = undefined;
  private hXfHost: string | undefined = undefined;
  private hXfPort: string | undefined = undefined;
  private hForwarded: string | undefined = undefined;
  private hVia: string | undefined = undefined;
  private hRequestId: string | undefined = undefined;
  private hConnection: string | undefined = undefined;
  private hUpgrade: string | undefined = undefined;
  private hContentLength: string | undefined = undefined;
  private hChunked = false;
  /** The client's User-Agent (first one), for the observers; undefined when it sent none. */
  userAgent: string | undefined = undefined;
  /** The client speaks gRPC (Content-Type application/grpc…): errors are answered gRPC-shaped, trailers kept. */
  grpcCall = false;
  /** gRPC status fields an upstream put in its head (a trailers-only answer), re-sent as trailers. */
  private grpcHeadStatus: OutgoingHttpHeaders | undefined = undefined;

  constructor(
    private readonly server: ProxyHost,
    readonly snapshot: Snapshot,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    /** Set for WebSocket/upgrade requests: the client socket and the bytes read past the head. */
    private readonly upgrade: { socket: Duplex; head: Buffer } | undefined,
  ) {
    this.startedAt = performance.now();
    this.method = req.method ?? 'GET';
    this.chains = snapshot.globalChains;
  }

  /**
   * `https` when the client reached this gateway over TLS, or a trusted proxy in front says so
   * (X-Forwarded-Proto); else `http`. Computed on demand: only https-redirect asks.
   */
  get scheme(): 'http' | 'https' {
    if ((this.req.socket as { encrypted?: boolean }).encrypted) return 'https';
    return this.trustedPeer && this.hXfProto !== undefined && this.hXfProto.trim().toLowerCase() === 'https' ? 'https' : 'http';
  }

  get locals(): Record<string, unknown> {
    return (this._locals ??= {});
  }

  /** Entry point; everything after runs from here or from undici's callbacks. */
  start(): void {
    const res = this.res as ServerResponse & WithCtx;
    res[kCtx] = this;
    if (this.upgrade === undefined) {
      res.on('close', onResClose);
      res.on('drain', onResDrain);
    }
    const raw = this.req.rawHeaders;
    let hostCount = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      // Most names are not special; checking the length first avoids lower-casing them.
      const len = name.length;
      if (len !== 4 && len !== 3 && len !== 7 && len !== 9 && len !== 10 && len !== 12 && len !== 14 && len !== 15 && len !== 16 && len !== 17) continue;
      const lc = name.toLowerCase();
      const v = raw[i + 1]!;
      switch (lc) {
        case 'host':
          hostCount++;
          this.hostHeader = v;
          break;
        case ':authority':
          // HTTP/2 (compatibility API): the authority stands for Host unless the client also sent one.
          if (hostCount === 0) this.hostHeader = v;
          break;
        case 'via':
          this.hVia = this.hVia === undefined ? v : `${this.hVia}, ${v}`;
          break;
        case 'forwarded':
          this.hForwarded = this.hForwarded === undefined ? v : `${this.hForwarded}, ${v}`;
          break;
        case 'x-forwarded-for':
          this.hXff = this.hXff === undefined ? v : `${this.hXff}, ${v}`;
          break;
        case 'x-forwarded-proto':
          this.hXfProto ??= v;
          break;
        case 'x-forwarded-host':
          this.hXfHost ??= v;
          break;
        case 'x-forwarded-port':
          this.hXfPort ??= v;
          break;
        case 'x-request-id':
          this.hRequestId ??= v;
          break;
        case 'connection':
          this.hConnection = this.hConnection === undefined ? v : `${this.hConnection}, ${v}`;
          break;
        case 'upgrade':
          this.hUpgrade = v;
          break;
        case 'content-type':
          if (isGrpcContentType(v)) this.grpcCall = true;
          break;
        case 'content-length':
          if (v !== '0') this.hasBody = true;
          this.hContentLength ??= v;
          break;
        case 'transfer-encoding':
          this.hasBody = true;
          this.hChunked = true;
          break;
        case 'user-agent':
          this.userAgent ??= v;
          break;
      }
    }
    // HTTP/2 announces a body by not ending the stream with the headers; there may be no content-length.
    if (this.req.httpVersionMajor === 2) this.hasBody = !(this.req as unknown as { stream: { endAfterHeaders: boolean } }).stream.endAfterHeaders;
    const sock = this.req.socket;
    this.peer = unmapIPv4(sock.remoteAddress ?? '');
    this.trustedPeer = this.server.trusted.has(this.peer);
    this.clientIp = this.trustedPeer && this.hXff !== undefined ? (clientFromForwardedFor(this.hXff, this.server.trusted) ?? this.peer) : this.peer;
    const rid = this.hRequestId;
    this.requestId = this.trustedPeer && rid !== undefined && isWellFormedRequestId(rid) ? rid : randomUUID();
    this.server.observer?.begin(this);

    if (hostCount > 1) return this.sendProblem('GW_ERR_AMBIGUOUS_HOST', 'several Host headers');
    if (this.server.underscoreHeaders === 'reject') {
      const bad = underscoreName(raw);
      if (bad !== undefined) return this.sendProblem('GW_ERR_BAD_REQUEST', `header field name with an underscore: '${bad}'`);
    }
    const target = parseRequestTarget(this.method, this.req.url ?? '', this.server.strictPaths);
    if (target === null) return this.sendProblem('GW_ERR_BAD_PATH');
    if (target.authority !== undefined) {
      if (hostCount === 0) this.hostHeader = target.authority;
      else if (target.authority.toLowerCase() !== this.hostHeader.toLowerCase()) {
        return this.sendProblem('GW_ERR_AMBIGUOUS_HOST', 'the absolute-form target and Host disagree');
      }
    }
    this.path = target.path;
    this.query = target.query;
    this.splitHost(this.hostHeader);
    this.runPhase('rewrite', 0);
  }

  private splitHost(h: string): void {
    let host = h;
    let port = '';
    if (h.charCodeAt(0) === 91) {
      const end = h.indexOf(']');
      host = h.slice(0, end + 1);
      if (h.charCodeAt(end + 1) === 58) port = h.slice(end + 2);
    } else {
      const c = h.lastIndexOf(':');
      if (c !== -1) {
        host = h.slice(0, c);
        port = h.slice(c + 1);
      }
    }
    this.host = host.toLowerCase();
    this.port = port;
  }

  // ---- phases -------------------------------------------------------------------------------

  /** Runs the chain of `phase` from index `i`; continues with the next step when done. */
  private runPhase(phase: 'rewrite' | AccessLikePhase, i: number): void {
    let list: ChainEntry[] = this.chains[phase];
    if (i === 0 && list.length > 0) this.pluginPhases |= phase === 'rewrite' ? PHASE_REWRITE : phase === 'access' ? PHASE_ACCESS : PHASE_UPSTREAM;
    for (; i < list.length; i++) {
      const entry = list[i]!;
      let r: PhaseResult;
      try {
        r = entry.handler[phase]!(this);
      } catch (err) {
        return this.pluginFailed(entry.name, err);
      }
      if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
        const next = i + 1;
        (r as Promise<void>).then(
          () => {
            if (this.finished) return;
            if (phase === 'access') this.maybeSwitchConsumer(entry.rank);
            this.resumePhase(phase, next, entry.rank);
          },
          (err: unknown) => this.pluginFailed(entry.name, err),
        );
        return;
      }
      if (this.answered) return this.finishAnswered();
      if (phase === 'access' && this.maybeSwitchConsumer(entry.rank)) {
        list = this.chains.access;
        i = firstAfter(list, entry.rank) - 1;
      }
    }
    this.afterPhase(phase);
  }

  private resumePhase(phase: 'rewrite' | AccessLikePhase, next: number, rank: number): void {
    if (this.answered) return this.finishAnswered();
    // The chain may have been swapped for a consumer's; continue after the plugin that just ran.
    const idx = phase === 'access' ? firstAfter(this.chains.access, rank) : next;
    this.runPhase(phase, idx);
  }

  /** After authentication set a consumer, later plugins come from that consumer's chain when it has one. */
  private maybeSwitchConsumer(_rank: number): boolean {
    if (this.consumerResolved || this.consumer === undefined) return false;
    this.consumerResolved = true;
    const alt = this.compiled?.consumerChains?.get(this.consumer.username);
    if (!alt) return false;
    this.chains = alt;
    return true;
  }

  private afterPhase(phase: 'rewrite' | AccessLikePhase): void {
    if (phase === 'rewrite') return this.routeRequest();
    if (phase === 'access') {
      this.accessDoneAt = performance.now();
      return this.runPhase('upstream', 0);
    }
    this.upstreamPhaseDoneAt = performance.now();
    return this.proxy();
  }

  private routeRequest(): void {
    const m = this.snapshot.router.lookup(this);
    if (m === undefined) return this.sendProblem('GW_ERR_ROUTE_NOT_FOUND', `no route for ${this.method} ${this.host}${this.path}`);
    const route = m.data;
    this.routedAt = performance.now();
    this.compiled = route;
    this.route = route.info;
    this.params = m.params;
    this.prefixLength = m.prefixLength;
    this.chains = route.chains;
    this.runPhase('access', 0);
  }

  /**
   * Request body bytes as declared: Content-Length, 0 without a body, -1 when unknown (chunked, or a
   * malformed length). Read from the one scan of the raw headers, so the observers never make Node build
   * `req.headers` for a request nothing else needed it for.
   */
  get declaredBodyLength(): number {
    const cl = this.hContentLength;
    if (cl !== undefined) {
      const n = Number(cl);
      return Number.isSafeInteger(n) && n >= 0 ? n : -1;
    }
    return this.hChunked ? -1 : 0;
  }

  /** The router reads request headers through this getter (lower-case names, Node's parsed view). */
  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }

  private pluginFailed(name: string, err: unknown): void {
    if (this.finished) return;
    if (err instanceof GatewayError) return this.sendProblem(err.code, err.detail, err.status);
    this.server.logger.error({ err, plugin: name, request_id: this.requestId }, 'plugin failed');
    this.sendProblem('GW_ERR_PLUGIN_FAILED', `plugin '${name}' failed`);
  }

  // ---- upstream -----------------------------------------------------------------------------

  private proxy(): void {
    const route = this.compiled!;
    const service = this.serviceOverride ?? route.service;
    if (service === undefined) return this.sendProblem('GW_ERR_NO_SERVICE');
    if (!service.enabled) return this.sendProblem('GW_ERR_SERVICE_DISABLED');
    const p = this.upPath === undefined ? route.upstreamPath(this.path, this.prefixLength, this.params, service) : route.withBasePath(this.upPath, service);
    this.upstreamPath = this.query === '' ? p : `${p}?${this.query}`;
    this.upstreamHeaders = this.buildUpstreamHeaders(route.preserveHost);
    if (this.upgrade !== undefined) return this.server.tunnel(this, service, this.upgrade.socket, this.upgrade.head);
    this.dispatch(service);
  }

  /** Picks a target for an attempt (hash input per the upstream's hash_on). */
  pickTarget(service: CompiledService): Target | undefined {
    let key = '';
    switch (service.hashOn) {
      case 'ip':
        key = this.clientIp;
        break;
      case 'consumer':
        key = this.consumer?.username ?? this.clientIp;
        break;
      case 'header': {
        const v = this.req.headers[service.hashHeader!];
        key = (Array.isArray(v) ? v.join(',') : v) ?? this.clientIp;
        break;
      }
      case 'cookie':
        key = cookieValue(this.req.headers.cookie, service.hashCookie!) ?? this.clientIp;
        break;
    }
    const t = service.balancer.pick(key, this.tried);
    if (t !== undefined && this.upstreamHeaders !== undefined && !this.compiled!.preserveHost) {
      this.upstreamHeaders[1] = service.hostHeaders.get(t)!;
    }
    return t;
  }

  private dispatch(service: CompiledService): void {
    if (this.guard !== undefined && !this.guardEntered) {
      this.guardEntered = true;
      return this.guard.enter(this);
    }
    if (this.attempts === 0) service.retryBudget?.recordRequest();
    this.service = service;
    const t = this.pickTarget(service);
    if (t === undefined) {
      // Every target is down: for the breaker that is the upstream failing.
      if (this.guardActive) this.settleGuard(0, 'connect');
      return this.sendProblem('GW_ERR_NO_HEALTHY_TARGET');
    }
    this.target = t;
    this.targetAddress = t.address;
    t.active++;
    if (this.attempts++ === 0) this.upstreamStartAt = performance.now();
    if (this.hasBody) this.writeTimer = setTimeout(onWriteTimeout, service.writeTimeout, this);
    const opts: Dispatcher.DispatchOptions & { servername?: string | undefined } = {
      path: this.upstreamPath,
      method: this.upMethod ?? this.method,
      headers: this.upstreamHeaders,
      body: this.hasBody ? (this.bodyBuffer ?? this.req) : null,
      headersTimeout: service.readTimeout,
      bodyTimeout: service.readTimeout,
      // undici takes the TLS server name per request (its types omit it); undefined: from the Host header.
      servername: service.tlsServerName,
    };
    service.pools.get(t)!.dispatch(opts, this);
  }

  /**
   * Request headers for the target, as a flat [name, value, …] list. Host goes first so retries can
   * replace it in place; the client's hop-by-hop headers, the ones its Connection header names, and the
   * ones the gateway composes itself are dropped before ours are added.
   */
  buildUpstreamHeaders(preserveHost: boolean): string[] {
    const out: string[] = ['host', preserveHost ? this.hostHeader : ''];
    const raw = this.req.rawHeaders;
    const connTokens = connectionTokens(this.hConnection);
    const remove = this.upRemove;
    const set = this.upSet;
    const h2 = this.req.httpVersionMajor === 2;
    const dropUnderscore = this.server.underscoreHeaders === 'drop';
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      // HTTP/2 pseudo-headers (`:method`, `:authority`, …) never go to an HTTP/1.1 upstream.
      if (name.charCodeAt(0) === 58) continue;
      const lc = name.toLowerCase();
      if (HOP_BY_HOP.has(lc) || GATEWAY_REQUEST_HEADERS.has(lc)) continue;
      if (dropUnderscore && lc.includes('_')) continue;
      // HTTP/2 may split Cookie into several fields; HTTP/1.1 wants one (RFC 9113 §8.2.3), added below.
      if (h2 && lc === 'cookie') continue;
      if (connTokens !== undefined && connTokens.includes(lc)) continue;
      if (remove !== undefined && remove.has(lc)) continue;
      if (set !== undefined && indexOfName(set, lc) !== -1) continue;
      out.push(name, raw[i + 1]!);
    }
    if (h2 && this.req.headers.cookie !== undefined && (remove === undefined || !remove.has('cookie')) && (set === undefined || indexOfName(set, 'cookie') === -1)) {
      out.push('cookie', this.req.headers.cookie);
    }
    const proto = (this.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    const trusted = this.trustedPeer;
    const peer = this.peer;
    out.push('x-forwarded-for', trusted && this.hXff !== undefined ? `${this.hXff}, ${peer}` : peer);
    const fProto = trusted && this.hXfProto !== undefined ? this.hXfProto : proto;
    out.push('x-forwarded-proto', fProto);
    const fHost = trusted && this.hXfHost !== undefined ? this.hXfHost : this.hostHeader;
    if (fHost !== '') out.push('x-forwarded-host', fHost);
    out.push('x-forwarded-port', trusted && this.hXfPort !== undefined ? this.hXfPort : String(this.req.socket.localPort ?? ''));
    let fwd = `for=${forwardedNode(peer)};proto=${proto}`;
    if (this.hostHeader !== '') fwd += `;host=${forwardedValue(this.hostHeader)}`;
    out.push('forwarded', trusted && this.hForwarded !== undefined ? `${this.hForwarded}, ${fwd}` : fwd);
    out.push('via', this.hVia !== undefined ? `${this.hVia}, ${VIA_VALUE}` : VIA_VALUE);
    out.push('x-request-id', this.requestId);
    // The resolved client address (through trusted proxies only), replacing whatever the client sent.
    out.push('x-real-ip', this.clientIp);
    if (this.upgrade !== undefined && this.hUpgrade !== undefined) out.push('connection', 'upgrade', 'upgrade', this.hUpgrade);
    // The one TE value HTTP/2 allows; gRPC servers refuse calls without it (it is dropped above as hop-by-hop).
    if (this.grpcCall) out.push('te', 'trailers');
    if (set !== undefined) for (let i = 0; i < set.length; i += 2) out.push(set[i]!, set[i + 1]!);
    return out;
  }

  // undici handler ----------------------------------------------------------------------------

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.finished) controller.abort(new Error('client went away'));
    else if (this.abortCode !== undefined) controller.abort(new Error(this.abortDetail ?? this.abortCode));
  }

  onBodySent(): void {
    this.bodyStarted = true;
    this.writeTimer?.refresh();
  }

  onRequestSent(): void {
    this.clearWriteTimer();
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // undici reports interim answers (103 Early Hints…) here too; only the final one is the response.
    if (statusCode < 200) return;
    this.upstreamHeadAt = performance.now();
    this.upstreamFailure = undefined;
    const service = this.service!;
    this.target?.health.reportStatus(statusCode);
    if (service.retryOn !== undefined && service.retryOn.has(statusCode) && this.mayRetry(service, true)) {
      // Drop this answer (and its connection) and try another target; undici's error callback for the
      // dropped attempt is recognised by its reason and ignored.
      const failed = this.target!;
      this.releaseTarget();
      (this.tried ??= []).push(failed);
      controller.abort(STATUS_RETRY);
      this.controller = undefined;
      return this.dispatch(service);
    }
    if (this.guardActive) this.settleGuard(statusCode, undefined);
    stripResponseHopByHop(headers);
    // A trailers-only gRPC answer carries its status in the head; sent as trailers after a head without it,
    // since a head written before the body cannot end the HTTP/2 stream by itself.
    if (this.grpcCall && headers['grpc-status'] !== undefined) this.grpcHeadStatus = takeGrpcStatus(headers);
    this.status = statusCode;
    this.responseHeaders = headers as OutgoingHttpHeaders;
    if (this.pendingResp !== undefined) this.applyPendingResponseHeaders();
    if (this.chains.response.length === 0) return this.writeUpstreamHead();
    const r = this.runResponsePhase(0);
    if (r === undefined) this.writeUpstreamHead();
    else {
      controller.pause();
      r.then(
        () => {
          this.writeUpstreamHead();
          controller.resume();
        },
        (err: unknown) => {
          controller.abort(err as Error);
        },
      );
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const taps = this.taps;
    if (taps !== undefined) for (let i = 0; i < taps.length; i++) taps[i]!.onData(chunk);
    if (this.chain !== undefined) this.chain.write(0, chunk);
    else {
      this.bytesOut += chunk.length;
      if (!this.res.write(chunk)) controller.pause();
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers?: IncomingHttpHeaders): void {
    this.upstreamEndAt = performance.now();
    this.releaseTarget();
    if (this.chain !== undefined) this.chain.end(0, undefined);
    else {
      // Trailers (gRPC's status above all) pass through; HTTP/1.1 clients get them only on chunked responses.
      if (this.grpcHeadStatus !== undefined) this.res.addTrailers(this.grpcHeadStatus);
      if (trailers !== undefined && !this.finished) {
        for (const _ in trailers) {
          this.res.addTrailers(trailers as OutgoingHttpHeaders);
          break;
        }
      }
      this.res.end();
    }
    const taps = this.taps;
    if (taps !== undefined) {
      this.taps = undefined;
      for (let i = 0; i < taps.length; i++) taps[i]!.onEnd();
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (err === STATUS_RETRY) return;
    const failed = this.target;
    this.releaseTarget();
    this.clearWriteTimer();
    if (this.finished || this.headSent) {
      this.abortTaps();
      if (this.finished) return;
      // A gRPC client reads a status from trailers even mid-stream; a reset would only say "internal error".
      if (this.grpcCall && this.chain === undefined) {
        const failure = classifyUpstreamError(err);
        this.errorCode = failure.code;
        this.upstreamFailure = failure.kind;
        this.res.addTrailers({ 'grpc-status': String(grpcStatusOf(502)), 'grpc-message': grpcMessageOf(failure.code, err.message) });
        this.res.end();
        return;
      }
      // The status line is gone: the only honest signal left is a truncated response.
      this.res.destroy(err);
      return;
    }
    if (this.abortCode !== undefined) {
      this.abortTaps();
      // The gateway refused the request; the upstream did nothing wrong.
      if (this.guardActive) this.settleGuard(0, 'client-abort');
      return this.sendProblem(this.abortCode, this.abortDetail);
    }
    const failure = classifyUpstreamError(err);
    this.upstreamEndAt = performance.now();
    this.upstreamFailure = failure.kind;
    // A slow client (write timeout) says nothing about the target.
    if (failure.kind !== 'timeout' || (err as { code?: string }).code !== 'GW_WRITE_TIMEOUT') {
      failed?.health.reportFailure(failure.kind === 'connect' || failure.kind === 'timeout' ? failure.kind : 'reset');
    }
    const service = this.service!;
    // Taps stay for a retry: nothing reached them before the head, and the retried response is theirs.
    if (failure.retry !== 'no' && !this.bodyStarted && this.mayRetry(service, failure.retry === 'reset')) {
      if (failed !== undefined) (this.tried ??= []).push(failed);
      this.controller = undefined;
      return this.dispatch(service);
    }
    this.abortTaps();
    if (this.guardActive) this.settleGuard(0, failure.kind);
    if (failure.code === 'GW_ERR_UPSTREAM_TLS') {
      // A configuration fault the operator must see with OpenSSL's reason.
      const tlsErr = underlyingTlsError(err) ?? err;
      this.server.logger.warn(
        { request_id: this.requestId, service: service.name, target: this.targetAddress, tls_error: (tlsErr as { code?: string }).code, reason: tlsErr.message },
        'upstream TLS handshake failed',
      );
      return this.sendProblem(failure.code, tlsErr.message);
    }
    this.sendProblem(failure.code, err.message);
  }

  /**
   * Whether another attempt is allowed: within the service's retries and retry budget, with a body that can
   * be sent again, and for an idempotent method when the failed attempt may have reached the target.
   */
  private mayRetry(service: CompiledService, reachedTarget: boolean): boolean {
    if (this.attempts > service.retries) return false;
    if (this.hasBody && this.bodyBuffer === undefined) return false;
    if (reachedTarget && !IDEMPOTENT_METHODS.has(this.upMethod ?? this.method)) return false;
    return service.retryBudget === undefined || service.retryBudget.tryRetry();
  }

  private releaseTarget(): void {
    if (this.target !== undefined) {
      this.target.active--;
      this.target = undefined;
    }
  }

  private clearWriteTimer(): void {
    if (this.writeTimer !== undefined) {
      clearTimeout(this.writeTimer);
      this.writeTimer = undefined;
    }
  }

  // ---- response -----------------------------------------------------------------------------

  private runResponsePhase(i: number): Promise<void> | undefined {
    const list = this.chains.response;
    for (; i < list.length; i++) {
      const entry = list[i]!;
      let r: PhaseResult;
      try {
        r = entry.handler.response!(this);
      } catch (err) {
        this.server.logger.error({ err, plugin: entry.name, request_id: this.requestId }, 'response plugin failed');
        continue;
      }
      if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
        const next = i + 1;
        return (r as Promise<void>).then(
          () => this.runResponsePhase(next),
          (err: unknown) => {
            this.server.logger.error({ err, plugin: entry.name, request_id: this.requestId }, 'response plugin failed');
            return this.runResponsePhase(next);
          },
        );
      }
    }
    return undefined;
  }

  /** Sends the upstream's head; taps see it before body filters change it (they see the upstream's body). */
  private writeUpstreamHead(): void {
    if (this.finished || this.headSent) return;
    const taps = this.taps;
    if (taps !== undefined) for (let i = 0; i < taps.length; i++) taps[i]!.onHead(this.status, this.responseHeaders!);
    const filters = this.filters;
    if (filters !== undefined) this.chain = FilterChain.start(this, filters, this.status, this.responseHeaders!);
    this.writeHead();
  }

  private abortTaps(): void {
    const chain = this.chain;
    if (chain !== undefined) {
      this.chain = undefined;
      chain.abort();
    }
    const taps = this.taps;
    if (taps === undefined) return;
    this.taps = undefined;
    for (let i = 0; i < taps.length; i++) taps[i]!.onAbort();
  }

  /** Output of the last body filter (FilterChain). */
  clientWrite(chunk: Buffer): void {
    if (this.finished) return;
    this.bytesOut += chunk.length;
    if (!this.res.write(chunk)) this.controller?.pause();
  }
  clientEnd(chunk: Buffer | undefined): void {
    this.chain = undefined;
    if (this.finished) return;
    if (chunk !== undefined) this.bytesOut += chunk.length;
    this.res.end(chunk);
  }
  clientDestroy(err: Error): void {
    this.server.logger.error({ err, request_id: this.requestId }, 'response body filter failed');
    this.abortTaps();
    this.res.destroy(err);
  }

  private writeHead(): void {
    if (this.finished || this.headSent) return;
    const h = this.responseHeaders!;
    h['x-request-id'] = this.requestId;
    const via = h.via;
    h.via = via === undefined ? VIA_VALUE : `${Array.isArray(via) ? via.join(', ') : String(via)}, ${VIA_VALUE}`;
    this.headSent = true;
    this.res.writeHead(this.status, h);
  }

  /** An access/upstream plugin answered: run the response phase on that answer, then send it. */
  private finishAnswered(): void {
    if (this.finished || this.headSent) return;
    this.responseHeaders ??= {};
    if (this.pendingResp !== undefined) this.applyPendingResponseHeaders();
    const r = this.runResponsePhase(0);
    if (r !== undefined) r.then(() => this.endAnswered(), () => this.endAnswered());
    else this.endAnswered();
  }

  private endAnswered(): void {
    if (this.finished || this.headSent) return;
    const body = this.earlyBody;
    if (this.grpcCall && (this.status < 200 || this.status > 299)) {
      // A plugin's refusal (401, 429, …) as the gRPC status a client library can read.
      return this.sendGrpcError(this.status, undefined, answerMessage(body));
    }
    if (body !== undefined) {
      const n = Buffer.byteLength(body);
      this.responseHeaders!['content-length'] = n;
      if (this.method !== 'HEAD') this.bytesOut += n;
    }
    this.writeHead();
    this.res.end(body);
  }

  /** Answers with the gateway's own problem+json error. */
  sendProblem(code: ErrorCode, detail?: string, status?: number): void {
    if (this.finished || this.headSent) return;
    const p = problem(code, { request_id: this.requestId, instance: this.path || undefined, ...(detail ? { detail } : {}) });
    if (status !== undefined) p.status = status;
    if (this.grpcCall) {
      this.errorCode = code;
      this.responseHeaders = {};
      if (this.pendingResp !== undefined) this.applyPendingResponseHeaders();
      return this.sendGrpcError(p.status, code, detail ?? p.title);
    }
    const body = JSON.stringify(p);
    this.errorCode = code;
    const h: OutgoingHttpHeaders = {};
    this.responseHeaders = h;
    if (this.pendingResp !== undefined) this.applyPendingResponseHeaders();
    h['content-type'] = PROBLEM_CONTENT_TYPE;
    h['content-length'] = Buffer.byteLength(body);
    h['cache-control'] = 'no-store';
    this.status = p.status;
    this.bytesOut += Buffer.byteLength(body);
    this.writeHead();
    this.res.end(body);
  }

  /**
   * A gateway error on a gRPC call: HTTP 200 with the status in a trailers-only answer (one HEADERS frame that
   * ends the stream), which every gRPC client reads. `status` stays the HTTP equivalent for logs and metrics.
   */
  private sendGrpcError(httpStatus: number, code: ErrorCode | undefined, message: string): void {
    const h = this.responseHeaders ?? {};
    delete h['content-length'];
    h['content-type'] = 'application/grpc';
    h['grpc-status'] = String(grpcStatusOf(httpStatus));
    h['grpc-message'] = grpcMessageOf(code, message);
    h['x-request-id'] = this.requestId;
    h.via = VIA_VALUE;
    this.status = httpStatus;
    this.headSent = true;
    const res = this.res;
    res.statusCode = 200;
    for (const k in h) {
      const v = h[k];
      if (v !== undefined) res.setHeader(k, v);
    }
    // No writeHead: ending with the head unsent lets HTTP/2 send it with END_STREAM (trailers-only).
    res.end();
  }

  private applyPendingResponseHeaders(): void {
    const h = this.responseHeaders!;
    const p = this.pendingResp!;
    for (let i = 0; i < p.length; i += 2) {
      const name = p[i] as string;
      const value = p[i + 1];
      if (value === undefined) delete h[name];
      else h[name] = value;
    }
    this.pendingResp = undefined;
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** The client connection closed: after a complete response, or early (abort the upstream then). */
  onClientClose(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearWriteTimer();
    const c = this.controller;
    if (c !== undefined && !c.aborted && !this.res.writableFinished) c.abort(new Error('client closed the connection'));
    this.abortTaps();
    if (this.guardActive) this.settleGuard(0, 'client-abort');
    this.runLog();
    this.endedAt = performance.now();
    const observer = this.server.observer;
    if (observer !== undefined) {
      try {
        observer.end(this);
      } catch (err) {
        this.server.logger.error({ err, request_id: this.requestId }, 'request observer failed');
      }
    }
    this.snapshot.release();
  }

  private runLog(): void {
    const list = this.chains.log;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!.handler.log!(this);
      } catch (err) {
        this.server.logger.error({ err, plugin: list[i]!.name, request_id: this.requestId }, 'log plugin failed');
      }
    }
  }

  // ---- RequestContext API for plugins -------------------------------------------------------

  setUpstreamHeader(name: string, value: string): void {
    const lc = name.toLowerCase();
    const set = (this.upSet ??= []);
    const i = indexOfName(set, lc);
    if (i === -1) set.push(lc, value);
    else set[i + 1] = value;
    this.upRemove?.delete(lc);
  }

  removeUpstreamHeader(name: string): void {
    const lc = name.toLowerCase();
    (this.upRemove ??= new Set()).add(lc);
    const set = this.upSet;
    if (set !== undefined) {
      const i = indexOfName(set, lc);
      if (i !== -1) set.splice(i, 2);
    }
  }

  setResponseHeader(name: string, value: string | string[]): void {
    const lc = name.toLowerCase();
    if (this.responseHeaders !== undefined && !this.headSent) this.responseHeaders[lc] = value;
    else (this.pendingResp ??= []).push(lc, value);
  }

  removeResponseHeader(name: string): void {
    const lc = name.toLowerCase();
    if (this.responseHeaders !== undefined && !this.headSent) delete this.responseHeaders[lc];
    else (this.pendingResp ??= []).push(lc, undefined);
  }

  respond(status: number, body?: string | Buffer, headers?: OutgoingHttpHeaders): void {
    if (this.answered || this.headSent) return;
    this.answered = true;
    this.status = status;
    this.earlyBody = body;
    const h: OutgoingHttpHeaders = (this.responseHeaders = {});
    if (headers) for (const k in headers) h[k.toLowerCase()] = headers[k];
  }

  tapResponse(tap: ResponseTap): void {
    (this.taps ??= []).push(tap);
  }

  filterResponseBody(filter: ResponseBodyFilter): void {
    (this.filters ??= []).push(filter);
  }

  useService(name: string): boolean {
    const svc = this.snapshot.services.get(name);
    if (svc === undefined || !svc.enabled) return false;
    this.serviceOverride = svc;
    return true;
  }

  get serviceName(): string | undefined {
    return (this.serviceOverride ?? this.compiled?.service)?.name;
  }

  guardUpstream(guard: UpstreamGuard): void {
    this.guard = guard;
  }

  private settleGuard(status: number, failure: UpstreamFailureKind | undefined): void {
    this.guardActive = false;
    this.guard!.settle(this, status, failure);
  }

  abortUpstream(code: ErrorCode, detail?: string): void {
    if (this.abortCode !== undefined || this.finished) return;
    this.abortCode = code;
    this.abortDetail = detail;
    const c = this.controller;
    if (c !== undefined && !c.aborted) c.abort(new Error(detail ?? code));
  }

  // ---- GuardedExchange: how a guard (the circuit breaker) drives the upstream exchange -------

  get serviceGroup(): string {
    return (this.serviceOverride ?? this.compiled!.service!).group;
  }

  proceed(): void {
    if (this.finished) return;
    this.guardActive = true;
    this.dispatch(this.serviceOverride ?? this.compiled!.service!);
  }

  proceedTo(name: string): boolean {
    const svc = this.snapshot.services.get(name);
    if (svc === undefined || !svc.enabled) return false;
    if (this.finished) return true;
    const p = this.upPath === undefined ? this.compiled!.upstreamPath(this.path, this.prefixLength, this.params, svc) : this.compiled!.withBasePath(this.upPath, svc);
    this.upstreamPath = this.query === '' ? p : `${p}?${this.query}`;
    this.dispatch(svc);
    return true;
  }

  answer(status: number, body: string | Buffer | undefined, headers: OutgoingHttpHeaders): void {
    this.respond(status, body, headers);
    this.finishAnswered();
  }

  fail(code: ErrorCode, detail: string, headers?: OutgoingHttpHeaders): void {
    if (headers) for (const k in headers) (this.pendingResp ??= []).push(k.toLowerCase(), headers[k] as string | string[]);
    this.sendProblem(code, detail);
  }

  readBody(limit: number): Promise<Buffer> {
    if (this.bodyRead === undefined) {
      if (!this.hasBody) this.bodyRead = Promise.resolve(Buffer.alloc(0));
      else {
        const declared = this.declaredBodyLength;
        // A declared length over the limit is refused before reading a byte (Node discards the unread body).
        this.bodyRead = declared > limit ? Promise.reject(bodyTooLarge(limit)) : readStream(this.req, limit);
      }
      this.bodyRead.then(
        (b) => (this.bodyBuffer = b),
        () => {},
      );
      return this.bodyRead;
    }
    // A later caller may have a smaller limit than the one the body was read with.
    return this.bodyRead.then((b) => (b.length > limit ? Promise.reject(bodyTooLarge(limit)) : b));
  }

  replaceBody(body: Buffer): void {
    // Before the read settled, the client's bytes would still be unread (and would overwrite this buffer).
    if (this.bodyRead === undefined || (this.hasBody && this.bodyBuffer === undefined)) throw new Error('replaceBody needs a completed readBody');
    this.bodyBuffer = body;
    this.bodyRead = Promise.resolve(body);
    this.hasBody = true;
    this.setUpstreamHeader('content-length', String(body.length));
  }

  setUpstreamMethod(method: string): void {
    this.upMethod = method;
  }

  setUpstreamPath(path: string): void {
    this.upPath = path;
  }

  // ---- accessors used by the tunnel ---------------------------------------------------------

  get upstreamRequestPath(): string {
    return this.upstreamPath;
  }
  get upstreamRequestHeaders(): string[] {
    return this.upstreamHeaders!;
  }
  get compiledRoute(): CompiledRoute | undefined {
    return this.compiled;
  }
  /** Marks the exchange finished for an upgrade (the tunnel closed). */
  finishUpgrade(): void {
    this.onClientClose();
  }
}

/**
 * The body filters of one response, each feeding the next through a Link; built when the head arrives,
 * only for requests that added filters. A filter whose start() declined is skipped.
 */
class FilterChain {
  private readonly active: boolean[];
  private readonly links: Link[];
  private constructor(
    private readonly ctx: ProxyRequest,
    private readonly filters: ResponseBodyFilter[],
  ) {
    this.active = filters.map(() => false);
    this.links = filters.map((_, i) => new Link(this, i + 1));
  }

  static start(ctx: ProxyRequest, filters: ResponseBodyFilter[], status: number, headers: OutgoingHttpHeaders): FilterChain | undefined {
    const chain = new FilterChain(ctx, filters);
    let any = false;
    for (let i = 0; i < filters.length; i++) {
      try {
        chain.active[i] = filters[i]!.start(status, headers, chain.links[i]!);
      } catch {
        // A filter that cannot start leaves the response as it is; the body is still correct.
        chain.active[i] = false;
      }
      any ||= chain.active[i]!;
    }
    return any ? chain : undefined;
  }

  /** Feeds the first active filter at or after `i`, else the client. */
  write(i: number, chunk: Buffer): void {
    for (; i < this.filters.length; i++) {
      if (!this.active[i]) continue;
      try {
        this.filters[i]!.data(chunk);
      } catch (err) {
        this.destroy(err as Error);
      }
      return;
    }
    this.ctx.clientWrite(chunk);
  }

  end(i: number, chunk: Buffer | undefined): void {
    for (; i < this.filters.length; i++) {
      if (!this.active[i]) continue;
      try {
        if (chunk !== undefined) this.filters[i]!.data(chunk);
        this.filters[i]!.end();
      } catch (err) {
        this.destroy(err as Error);
      }
      return;
    }
    this.ctx.clientEnd(chunk);
  }

  destroy(err: Error): void {
    this.ctx.clientDestroy(err);
  }

  pauseUpstream(): void {
    this.ctx.controller?.pause();
  }

  resumeUpstream(): void {
    this.ctx.controller?.resume();
  }

  abort(): void {
    for (let i = 0; i < this.filters.length; i++) {
      if (!this.active[i]) continue;
      this.active[i] = false;
      try {
        this.filters[i]!.abort();
      } catch {
        // A filter that fails to clean up must not take the others with it.
      }
    }
  }
}

/** The sink a filter writes to: the next active filter, or the client. */
class Link implements BodySink {
  constructor(
    private readonly chain: FilterChain,
    private readonly next: number,
  ) {}
  write(chunk: Buffer): void {
    this.chain.write(this.next, chunk);
  }
  end(chunk?: Buffer): void {
    this.chain.end(this.next, chunk);
  }
  destroy(err: Error): void {
    this.chain.destroy(err);
  }
  pause(): void {
    this.chain.pauseUpstream();
  }
  resume(): void {
    this.chain.resumeUpstream();
  }
}

/** The message of a plugin's answer: a problem's detail (or title), else the body's text. */
function answerMessage(body: string | Buffer | undefined): string {
  if (body === undefined) return '';
  const text = typeof body === 'string' ? body : body.toString('utf8');
  try {
    const p = JSON.parse(text) as { code?: unknown; detail?: unknown; title?: unknown };
    const msg = typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : text;
    return typeof p.code === 'string' ? `${p.code}: ${msg}` : msg;
  } catch {
    return text.slice(0, 1024);
  }
}

function bodyTooLarge(limit: number): GatewayError {
  return new GatewayError('GW_ERR_BODY_TOO_LARGE', `the request body exceeds ${limit} bytes`);
}

/**
 * Reads a request body into one buffer, refusing more than `limit` bytes. Only for requests where a plugin
 * asked for the body, so the closures here are not on the common (streaming) path.
 */
function readStream(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        cleanup();
        // Keep draining (and discarding) so the connection stays usable for the 413.
        req.resume();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('the client closed the connection before the body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function firstAfter(list: readonly ChainEntry[], rank: number): number {
  let i = 0;
  while (i < list.length && list[i]!.rank <= rank) i++;
  return i;
}

/** The first raw header name with an underscore, if any (HTTP/2 pseudo-headers have none). */
function underscoreName(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.includes('_')) return raw[i];
  return undefined;
}

function indexOfName(flat: readonly string[], lc: string): number {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === lc) return i;
  return -1;
}
