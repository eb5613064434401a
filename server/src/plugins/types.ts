/**
 * The plugin SDK: what a plugin is, the phases it may hook, and the per-request context it sees.
 *
 * A plugin is a folder `plugins/<name>/` with `schema.ts` (TypeBox config schema, every field
 * described), `plugin.ts` (a `definePlugin` call whose `create` is a named factory) and `plugin.spec.ts`.
 * `create` runs once per config snapshot and per scope instance, off the hot path; it validates and
 * precomputes (compiled regexes, header tuples, limiter handles). The handler it returns has one method
 * per phase it uses; a phase method must not allocate closures per request.
 *
 * Phase order (see order.ts for the plugin order within a phase):
 *   rewrite   before routing: request id, host/path rewrites      (global instances only)
 *   access    auth, ACL, rate limits, validation, IP rules          may answer early
 *   upstream  wraps the upstream call (breakers, retries, cache)    may answer instead of the upstream
 *   response  upstream response head received, before it is sent   may change status and headers
 *   log       after the response is finished                        never throws, never delays the reply
 */
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders } from 'node:http';
import type { Static, TSchema } from '@sinclair/typebox';
import type { LimiterBackends } from '../limits/backends.js';
import type { ConsumerConfig } from '../config/schema.js';
import type { CredentialIndex } from '../auth/credential-index.js';
import type { ErrorCode } from '../errors/registry.js';
import type { CompiledService } from '../proxy/snapshot.js';

export type Phase = 'rewrite' | 'access' | 'upstream' | 'response' | 'log';
export const PHASES: readonly Phase[] = ['rewrite', 'access', 'upstream', 'response', 'log'];

/** Where an instance is attached. Precedence (most specific wins, per plugin name): consumer > route > service > global. */
export type Scope = 'global' | 'service' | 'route' | 'consumer';

/** What a plugin can read about the route it serves; compiled once per snapshot. */
export interface RouteInfo {
  readonly name: string;
  readonly service: string | undefined;
  readonly tags: readonly string[];
  /** Authentication plugins on this route and how they combine; undefined when it has none (see auth/gate.ts). */
  readonly auth?: RouteAuthPlan;
}

/** Computed per route by the snapshot from the route's access chain. */
export interface RouteAuthPlan {
  /** `any`: the first auth plugin that authenticates wins; `all`: each must succeed. */
  readonly mode: 'any' | 'all';
  /** Name of the last auth plugin in the chain: the one that turns remembered failures into a 401. */
  readonly last: string;
  /** Names of the auth plugins, in execution order. */
  readonly plugins: readonly string[];
}

/**
 * The per-request object every phase receives. One is allocated per request by the proxy; plugins keep
 * request-scoped state in `locals` under their own name.
 */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** One id per request: kept from a trusted hop's X-Request-Id, else generated; sent upstream and returned. */
  readonly requestId: string;
  /** `performance.now()` when the request head was parsed. */
  readonly startedAt: number;
  /** The client address after applying the trusted-proxy list (never a spoofed X-Forwarded-For). */
  readonly clientIp: string;
  /** `https` when the client used TLS here or a trusted proxy says so (X-Forwarded-Proto); optional for test doubles. */
  readonly scheme?: 'http' | 'https';
  readonly method: string;
  /** Host without port, lower case. */
  host: string;
  /** Normalised path (dot segments resolved, unreserved escapes decoded); rewrite plugins may change it. */
  path: string;
  /** Raw query string without the leading `?` (empty when none). */
  query: string;
  /** The matched route; undefined in the rewrite phase. */
  route: RouteInfo | undefined;
  /** Named captures of a regex path match. */
  params: Readonly<Record<string, string>> | undefined;
  /** Set by an authentication plugin. */
  consumer: ConsumerConfig | undefined;
  /** Scratch space for plugins, keyed by plugin name. */
  readonly locals: Record<string, unknown>;

  /** Adds or replaces a header on the request sent upstream (applied after hop-by-hop stripping). */
  setUpstreamHeader(name: string, value: string): void;
  /** Removes a header from the request sent upstream. */
  removeUpstreamHeader(name: string): void;
  /** Adds or replaces a header on the response sent to the client (any phase). */
  setResponseHeader(name: string, value: string | string[]): void;
  /** Removes a header from the response sent to the client (response phase). */
  removeResponseHeader(name: string): void;
  /** Response status once known (the upstream's, or the early answer's). 0 before. */
  readonly status: number;
  /** Headers of the upstream response as the response phase sees them (lower-case names). */
  readonly responseHeaders: OutgoingHttpHeaders | undefined;
  /**
   * Answers the request now (access/upstream phases). Later phases of the chain are skipped; the
   * response and log phases still run.
   */
  respond(status: number, body?: string | Buffer, headers?: OutgoingHttpHeaders): void;
  /** True once `respond` was called. */
  readonly answered: boolean;
  /**
   * The GW_ERR_* code of an answer a plugin makes itself with a problem body (set it before `respond`):
   * metrics count refusals by it, as they do for the gateway's own errors.
   */
  errorCode?: ErrorCode | undefined;
  /**
   * Buffers the whole request body (once; later calls return the same bytes) for plugins that must read
   * it, e.g. hmac-auth's body digest. The request is then sent upstream from this buffer instead of being
   * streamed. Over `limit` bytes the promise rejects with a 413 GW_ERR_BODY_TOO_LARGE (rendered as
   * problem+json when the plugin lets it propagate). Requests without a body resolve to an empty buffer.
   */
  readBody(limit: number): Promise<Buffer>;
  /**
   * Replaces the request body sent upstream (request-transformer's JSON edits). Only after `readBody`
   * resolved (throws otherwise: the client's body must have been consumed); sets Content-Length to the
   * new length.
   */
  replaceBody(body: Buffer): void;
  /** Sends the request upstream with another method; `method` keeps the client's (logs, routing, limits). */
  setUpstreamMethod(method: string): void;
  /**
   * Sends the request upstream to `path` (the service's base path is still prefixed) instead of the path
   * the route derives from ctx.path with its strip_path/rewrite: a rewrite after routing replaces those,
   * because the matched prefix they rely on describes the client's path. Access or upstream phase.
   */
  setUpstreamPath(path: string): void;
  /**
   * Observes the upstream response as it streams to the client (proxy-cache, the circuit breaker's
   * serve-last-good strategy). Call in the access or upstream phase; the tap sees the head as sent to the
   * client (after the response phase) and every body chunk, without delaying them. Answers the gateway
   * makes itself (`respond`, errors) are not tapped. A tap is a per-request object.
   */
  tapResponse(tap: ResponseTap): void;
  /**
   * Hands the request's upstream exchange to a guard (the circuit breaker): instead of sending the request,
   * the proxy calls `guard.enter`, and reports the outcome to `guard.settle`. Call in the access or
   * upstream phase; the last guard set wins.
   */
  guardUpstream(guard: UpstreamGuard): void;
  /**
   * Refuses the request while its upstream exchange runs (e.g. a streamed body grew over a limit): the
   * upstream request is aborted and the client gets `code` as problem+json, or a cut connection when the
   * response head was already sent.
   */
  abortUpstream(code: ErrorCode, detail?: string): void;
  /**
   * Rewrites the upstream response body as it streams (compression, JSON body transforms). Call before
   * the response head is sent (access, upstream or response phase). Filters run in the order they were
   * added, each feeding the next; taps (tapResponse) see the upstream's body before any filter. Answers
   * made with `respond` are not filtered.
   */
  filterResponseBody(filter: ResponseBodyFilter): void;
  /**
   * Sends this request to another service of the config instead of the route's (traffic split, canary).
   * Call in the access or upstream phase. Returns false, changing nothing, when no such service is enabled.
   */
  useService(name: string): boolean;
  /** The service the request goes to: the route's, or the one chosen with useService. */
  readonly serviceName: string | undefined;
}

/** Where a body filter writes its output: the next filter, or the client. */
export interface BodySink {
  write(chunk: Buffer): void;
  /** Ends the body (after writing `chunk` when given). */
  end(chunk?: Buffer): void;
  /** Fails the response: the head is gone, so the client's connection is cut. */
  destroy(err: Error): void;
  /**
   * Stops the upstream body until `resume()`: a filter whose own buffer is full (zlib's input queue) says so
   * here, so a fast upstream cannot pile a whole body up in memory. The client's socket pauses the
   * upstream by itself when it is full.
   */
  pause(): void;
  resume(): void;
}

/** A per-request rewriter of the upstream response body; see RequestContext.filterResponseBody. */
export interface ResponseBodyFilter {
  /**
   * The upstream head, before it is sent: the filter may change the headers (a filter that changes the
   * length must remove `content-length`) and keeps `sink` for its output. Returning false leaves this
   * response unfiltered (e.g. a content type it does not handle).
   */
  start(status: number, headers: OutgoingHttpHeaders, sink: BodySink): boolean;
  data(chunk: Buffer): void;
  /** The upstream body is complete: flush and end the sink. */
  end(): void;
  /** The response was cut short: release resources, write nothing more. */
  abort(): void;
}

/** How an upstream attempt failed before a response head arrived. */
export type UpstreamFailureKind = 'connect' | 'timeout' | 'reset' | 'client-abort' | 'other';

/** Takes over a request's upstream exchange (see RequestContext.guardUpstream). */
export interface UpstreamGuard {
  /** Instead of the first attempt: call `ex.proceed()` (now or later), `ex.proceedTo(service)`, or answer. */
  enter(ex: GuardedExchange): void;
  /**
   * The exchange started by `proceed()` ended: `status` is the upstream's once its head arrived (after the
   * service's own retries), else 0 with the kind of failure. Called once per `proceed()`.
   */
  settle(ex: GuardedExchange, status: number, failure: UpstreamFailureKind | undefined): void;
}

/** The request as a guard drives it. */
export interface GuardedExchange extends RequestContext {
  /** The balancing group of the route's service: its upstream's name, else its host and port. */
  readonly serviceGroup: string;
  /** True once the client went away or the response is finished: a delayed guard must stop. */
  readonly finished: boolean;
  /** Per-request scratch space of the guard. */
  guardState: unknown;
  /** Sends the request to the route's service now. */
  proceed(): void;
  /** Sends the request to another service of the config instead (unguarded); false when it does not exist or is disabled. */
  proceedTo(service: string): boolean;
  /** Answers now with this response (response-phase plugins still run). */
  answer(status: number, body: string | Buffer | undefined, headers: OutgoingHttpHeaders): void;
  /** Answers now with the gateway's problem+json error, plus extra headers (e.g. Retry-After). */
  fail(code: ErrorCode, detail: string, headers?: OutgoingHttpHeaders): void;
}

/** A per-request observer of the upstream response; see RequestContext.tapResponse. */
export interface ResponseTap {
  onHead(status: number, headers: Readonly<OutgoingHttpHeaders>): void;
  onData(chunk: Buffer): void;
  /** The whole body was sent to the client. */
  onEnd(): void;
  /** The response was cut short (upstream failure or the client went away): discard what was collected. */
  onAbort(): void;
}

/** A phase method either finishes synchronously or returns a promise; the pipeline only awaits the latter. */
export type PhaseResult = void | Promise<void>;

export interface PluginHandler {
  rewrite?(ctx: RequestContext): PhaseResult;
  access?(ctx: RequestContext): PhaseResult;
  upstream?(ctx: RequestContext): PhaseResult;
  response?(ctx: RequestContext): PhaseResult;
  log?(ctx: RequestContext): void;
  /** Called when the snapshot that built this handler is retired (timers, sockets). */
  close?(): void | Promise<void>;
}

/** Services a plugin factory may use; grows as the gateway does (redis, metrics, logger…). */
export interface PluginDeps {
  readonly logger: PluginLogger;
  /** Where the instance is attached; lets a factory precompute per-scope state. */
  readonly scope: Scope;
  readonly route: RouteInfo | undefined;
  /** Consumers and their credentials, indexed for O(1) lookups (auth plugins); built once per snapshot. */
  readonly credentials?: CredentialIndex;
  /** The entities the instance is attached to (names), e.g. a service-scoped instance's service; limit keys include them. */
  readonly attachedTo?: { readonly service?: string; readonly route?: string; readonly consumer?: string };
  /** One map per snapshot shared by all instances built for it (e.g. rate-limiting overrides find the global instance here). */
  readonly shared?: Map<string, unknown>;
  /** Service name → its balancing group (see GuardedExchange.serviceGroup), for state kept per group. */
  readonly serviceGroups?: ReadonlyMap<string, string>;
  /** Limiter state stores (rate limits, concurrency); defaults to the process-wide ones (limits/backends.ts). */
  readonly limiters?: LimiterBackends;
  /** Every compiled service of the snapshot by name (mirror sends to a shadow service through its pools and balancer). */
  readonly services?: ReadonlyMap<string, CompiledService>;
}

export interface PluginLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PluginDefinition<S extends TSchema = TSchema> {
  /** kebab-case, unique; also the folder name. */
  readonly name: string;
  /** One sentence shown in the dashboard's plugin list. */
  readonly description: string;
  readonly schema: S;
  /** Scopes this plugin can be attached to. */
  readonly scopes: readonly Scope[];
  /** Builds the handler for one instance, once per snapshot. Throwing disables the instance with a visible error. */
  create(config: Static<S>, deps: PluginDeps): PluginHandler;
}

/** Identity function that infers the config type from the schema, so `create` is typed end to end. */
export function definePlugin<S extends TSchema>(def: PluginDefinition<S>): PluginDefinition<S> {
  return def;
}
