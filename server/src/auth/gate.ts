/**
 * What every authentication plugin (key-auth, basic-auth, hmac-auth, jwt, oauth2-introspection) shares:
 * the common config fields, the identity headers sent upstream, and how several auth plugins on one
 * route combine. A plugin builds one `AuthGate` in its factory and, per request, calls:
 *
 *   if (!gate.begin(ctx)) return;                // strips spoofed identity headers; false = skip this plugin
 *   ... find the credential ...
 *   gate.success(ctx, consumer, credential);     // sets ctx.consumer and the identity headers
 *   gate.fail(ctx, 'GW_ERR_AUTH_INVALID', 'why', false);   // or: missing=true when no credential was sent
 *
 * Combination (per route, computed by the snapshot into `ctx.route.auth`):
 * - `any` (default): auth plugins run in order; the first that authenticates wins and the later ones
 *   skip. A failure is remembered and only turned into a 401 by the LAST auth plugin of the route, so
 *   key-auth OR jwt works. The 401 carries the most specific failure (a presented but invalid credential
 *   beats a missing one) and every failed plugin's WWW-Authenticate challenge.
 * - `all`: every auth plugin must authenticate, and all of them the same consumer; the first failure is
 *   a 401. A route is in `all` mode when any of its auth plugins says `auth_mode: all` (the stricter wins).
 *
 * `anonymous` (a consumer username): when NO credential was presented to any auth plugin of the route,
 * the request continues as that consumer (for open endpoints with per-consumer limits). A presented but
 * invalid credential is still a 401 — silently downgrading a broken key to anonymous hides the error.
 * Upstream then receives `X-Anonymous-Consumer: true`.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { OutgoingHttpHeaders } from 'node:http';
import type { ConsumerConfig } from '../config/schema.js';
import { problem, PROBLEM_CONTENT_TYPE, type ErrorCode } from '../errors/registry.js';
import type { RequestContext } from '../plugins/types.js';
import type { CredentialIndex } from './credential-index.js';
import { GATEWAY_REQUEST_HEADERS } from '../proxy/headers.js';

/** Plugin names that authenticate; the snapshot uses it to build each route's `auth` plan. */
export const AUTH_PLUGIN_NAMES: ReadonlySet<string> = new Set(['key-auth', 'basic-auth', 'hmac-auth', 'jwt', 'oauth2-introspection', 'mtls-auth']);

export const IdentityHeadersSchema = Type.Object(
  {
    consumer_id: Type.String({ minLength: 1, default: 'x-consumer-id', description: "Header carrying the consumer's id (its username, the consumer's key)." }),
    consumer_username: Type.String({ minLength: 1, default: 'x-consumer-username', description: "Header carrying the consumer's username." }),
    consumer_custom_id: Type.String({ minLength: 1, default: 'x-consumer-custom-id', description: "Header carrying the consumer's custom_id (absent when it has none)." }),
    consumer_groups: Type.String({ minLength: 1, default: 'x-consumer-groups', description: "Header carrying the consumer's groups, comma-separated." }),
    credential_identifier: Type.String({
      minLength: 1,
      default: 'x-credential-identifier',
      description: 'Header carrying the credential used: its public key (user name, iss/kid) or, for API keys, its id.',
    }),
    anonymous: Type.String({ minLength: 1, default: 'x-anonymous-consumer', description: 'Header set to `true` when the anonymous consumer was used.' }),
  },
  { default: {}, additionalProperties: false, description: 'Names of the identity headers sent upstream. Client-sent copies are always removed.' },
);
export type IdentityHeaderNames = Static<typeof IdentityHeadersSchema>;

/** Fields every auth plugin's schema spreads in (`...authCommonFields()`), so they behave the same. */
export function authCommonFields() {
  return {
    anonymous: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Username of a consumer used when the request carries no credential at all (open endpoints). Unset: 401.' }),
    ),
    auth_mode: Type.Union([Type.Literal('any'), Type.Literal('all')], {
      default: 'any',
      description: 'How the auth plugins of one route combine: `any` (the first that authenticates wins) or `all` (each must succeed, for the same consumer). `all` on any auth plugin of a route makes the route `all`.',
    }),
    identity_headers: IdentityHeadersSchema,
  };
}

export interface AuthCredential {
  readonly id: string;
  /** Sent upstream as X-Credential-Identifier. */
  readonly identifier: string;
}

interface Failure {
  code: ErrorCode;
  detail: string;
  missing: boolean;
}

/** Per-request authentication state, in `ctx.locals.auth`. */
export class AuthState {
  consumer: ConsumerConfig | undefined = undefined;
  credential: AuthCredential | undefined = undefined;
  /** Plugins that authenticated the request, in order. */
  readonly by: string[] = [];
  failure: Failure | undefined = undefined;
  /** True once some plugin saw a credential (valid or not): anonymous no longer applies. */
  presented = false;
  anonymous: string | undefined = undefined;
  challenges: string[] | undefined = undefined;
  /** Identity header names set by a successful plugin; later plugins' stripping must keep them. */
  headersSet: string[] | undefined = undefined;
}

export const AUTH_LOCALS_KEY = 'auth';

export function authState(ctx: RequestContext): AuthState {
  let st = ctx.locals[AUTH_LOCALS_KEY] as AuthState | undefined;
  if (st === undefined) ctx.locals[AUTH_LOCALS_KEY] = st = new AuthState();
  return st;
}

/** Answers with a problem+json body (and optional headers such as WWW-Authenticate) without throwing. */
export function respondProblem(ctx: RequestContext, code: ErrorCode, detail: string | undefined, headers?: OutgoingHttpHeaders): void {
  const p = problem(code, { request_id: ctx.requestId, instance: ctx.path || undefined, ...(detail ? { detail } : {}) });
  const h: OutgoingHttpHeaders = { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' };
  if (headers) Object.assign(h, headers);
  ctx.respond(p.status, JSON.stringify(p), h);
}

const SINGLE_PLUGIN_PLAN = { mode: 'any' as const, last: '' };

export interface AuthGateOptions {
  identityHeaders: IdentityHeaderNames;
  /** `anonymous` from the config; resolved against the snapshot's consumers at construction. */
  anonymous?: string;
  /** This plugin's WWW-Authenticate challenge on 401, e.g. `Basic realm="api"`. */
  challenge?: string;
  credentials: CredentialIndex | undefined;
}

export class AuthGate {
  private readonly names: IdentityHeaderNames;
  /**
   * The header names begin() strips: the renamed ones only. The proxy drops a client's copies of the default
   * names on every route (GATEWAY_REQUEST_HEADERS), and nothing that runs before the auth plugins sets them.
   */
  private readonly headerList: readonly string[];
  private readonly anonymousConsumer: ConsumerConfig | undefined;
  private readonly challenge: string | undefined;

  constructor(
    readonly plugin: string,
    opts: AuthGateOptions,
  ) {
    const n = opts.identityHeaders;
    this.names = {
      consumer_id: n.consumer_id.toLowerCase(),
      consumer_username: n.consumer_username.toLowerCase(),
      consumer_custom_id: n.consumer_custom_id.toLowerCase(),
      consumer_groups: n.consumer_groups.toLowerCase(),
      credential_identifier: n.credential_identifier.toLowerCase(),
      anonymous: n.anonymous.toLowerCase(),
    };
    this.headerList = Object.values(this.names).filter((h) => !GATEWAY_REQUEST_HEADERS.has(h));
    this.challenge = opts.challenge;
    if (opts.anonymous !== undefined) {
      const c = opts.credentials?.consumer(opts.anonymous);
      // Failing here disables the instance with a visible error instead of letting every request through as nobody.
      if (c === undefined) throw new Error(`anonymous consumer '${opts.anonymous}' does not exist`);
      this.anonymousConsumer = c;
    }
  }

  /**
   * First call of the plugin's access phase. Removes client-sent identity headers (never trusted), then
   * says whether this plugin should try to authenticate: false in `any` mode once another plugin did.
   */
  begin(ctx: RequestContext): boolean {
    const st = authState(ctx);
    const keep = st.headersSet;
    for (let i = 0; i < this.headerList.length; i++) {
      const h = this.headerList[i]!;
      if (keep === undefined || !keep.includes(h)) ctx.removeUpstreamHeader(h);
    }
    // A plugin may authenticate without mapping a consumer (a valid JWT from a configured issuer): in
    // `any` mode that is success too, so later auth plugins must not turn the request into a 401.
    if (st.consumer === undefined && st.by.length === 0) return true;
    return (ctx.route?.auth?.mode ?? 'any') === 'all';
  }

  /** The request authenticated as `consumer`. In `all` mode a second, different consumer is a 401. */
  success(ctx: RequestContext, consumer: ConsumerConfig, credential?: AuthCredential): void {
    const st = authState(ctx);
    st.presented = true;
    if (st.consumer !== undefined && st.consumer.username !== consumer.username) {
      return this.reject(ctx, st, 'GW_ERR_AUTH_CONSUMER_MISMATCH', `${this.plugin} identified '${consumer.username}', ${st.by[0] ?? 'another plugin'} '${st.consumer.username}'`);
    }
    st.by.push(this.plugin);
    this.setIdentity(ctx, st, consumer, credential, false);
  }

  /**
   * This plugin could not authenticate the request. `missing`: no credential for this plugin was sent
   * at all (as opposed to a wrong one).
   */
  fail(ctx: RequestContext, code: ErrorCode, detail: string, missing: boolean): void {
    const st = authState(ctx);
    if (!missing) st.presented = true;
    if (this.challenge !== undefined) (st.challenges ??= []).push(this.challenge);
    const plan = ctx.route?.auth ?? SINGLE_PLUGIN_PLAN;
    if (plan.mode === 'all') return this.reject(ctx, st, code, detail);
    if (st.failure === undefined || (st.failure.missing && !missing)) st.failure = { code, detail, missing };
    if (this.anonymousConsumer !== undefined) st.anonymous ??= this.anonymousConsumer.username;
    // Another auth plugin of this route runs later and may still authenticate the request.
    if (plan.last !== '' && plan.last !== this.plugin) return;
    if (!st.presented && st.anonymous !== undefined) {
      const anon = this.anonymousConsumer?.username === st.anonymous ? this.anonymousConsumer : undefined;
      if (anon !== undefined) return this.setIdentity(ctx, st, anon, undefined, true);
    }
    const f = st.failure;
    this.reject(ctx, st, f.code, f.detail);
  }

  private reject(ctx: RequestContext, st: AuthState, code: ErrorCode, detail: string): void {
    const ch = st.challenges;
    respondProblem(ctx, code, detail, ch === undefined ? undefined : { 'www-authenticate': ch.length === 1 ? ch[0]! : ch });
  }

  private setIdentity(ctx: RequestContext, st: AuthState, consumer: ConsumerConfig, credential: AuthCredential | undefined, anonymous: boolean): void {
    const n = this.names;
    st.consumer = consumer;
    st.credential = credential;
    ctx.consumer = consumer;
    const set = (st.headersSet ??= []);
    ctx.setUpstreamHeader(n.consumer_id, consumer.username);
    ctx.setUpstreamHeader(n.consumer_username, consumer.username);
    set.push(n.consumer_id, n.consumer_username);
    if (consumer.custom_id !== undefined) {
      ctx.setUpstreamHeader(n.consumer_custom_id, consumer.custom_id);
      set.push(n.consumer_custom_id);
    }
    if (consumer.groups.length > 0) {
      ctx.setUpstreamHeader(n.consumer_groups, consumer.groups.join(','));
      set.push(n.consumer_groups);
    }
    if (credential !== undefined) {
      ctx.setUpstreamHeader(n.credential_identifier, credential.identifier);
      set.push(n.credential_identifier);
    }
    if (anonymous) {
      ctx.setUpstreamHeader(n.anonymous, 'true');
      set.push(n.anonymous);
    }
  }
}
