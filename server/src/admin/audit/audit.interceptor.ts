/**
 * Records every admin change in the audit log (store/audit-store.ts): a global interceptor, so a new write
 * endpoint is audited without opting in. A change is any POST/PUT/PATCH/DELETE that succeeded, except the
 * read-only POSTs (validate, diff) and logins; failed logins are recorded as `login.failed`.
 *
 * What is recorded, from the route pattern:
 *  - action: `<resource>.<verb>`: resource is the last literal segment naming a thing (`services`,
 *    `credentials`, `admin-users`), verb is create/update/delete by method, `replace` for the whole config,
 *    or the literal after an id (`credentials.rotate`, `versions.rollback`);
 *  - target: the resource and the route's parameters (`credentials`, `alice/3f2c…`);
 *  - before/after: the entity (or credential) read from the store before and after the change, else the
 *    answer's body for creations; for the whole config, the version numbers (config_versions keeps each
 *    whole document). Everything passes through redact() first.
 *
 * The event is written after the change commits and before the answer is sent, so a client that got 2xx
 * can read its event; a failure to write it is logged, not turned into a failed change.
 */
import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { ENTITY_KINDS, type EntityKind } from '../../config/schema.js';
import type { AuditEventInput } from '../../store/audit-store.js';
import type { ConfigStore } from '../../store/config-store.js';
import { ADMIN_LOGGER, ADMIN_STORE, type AdminLogger } from '../admin-env.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { redact } from './redact.js';

const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** POST routes that change nothing. */
const READS = new Set(['/config/validate', '/config/diff', '/config/import/:format', '/auth/login', '/auth/logout', '/auth/refresh']);
const VERB: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' };
/** Literal segments after an id that name an action rather than a sub-resource (`…/:id/rotate`). */
const ACTIONS = new Set(['rotate', 'revoke', 'approve', 'restrict', 'rollback', 'purge', 'clear', 'reset', 'enable', 'disable']);

interface Plan {
  action: string;
  kind: string;
  params: string[];
  read: (() => Promise<unknown>) | undefined;
}

type Req = FastifyRequest & { user?: AdminPrincipal; routeOptions: { url?: string } };

function isEntityKind(k: string | undefined): k is EntityKind {
  return k !== undefined && Object.hasOwn(ENTITY_KINDS, k);
}

@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    @Inject(ADMIN_STORE) private readonly store: ConfigStore,
    @Inject(ADMIN_LOGGER) private readonly logger: AdminLogger,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Req>();
    const pattern = req.routeOptions?.url ?? '';
    if (!CHANGING.has(req.method) || this.store.audit === undefined) return next.handle();
    if (pattern === '/auth/login') return from(this.login(req, next));
    if (READS.has(pattern) || req.user === undefined) return next.handle();
    return from(this.change(context, req, pattern, next));
  }

  private plan(req: Req, pattern: string): Plan {
    const segs = pattern.split('/').filter(Boolean);
    const params = segs.filter((s) => s.startsWith(':')).map((s) => String((req.params as Record<string, string>)[s.slice(1)] ?? ''));
    const last = segs[segs.length - 1];
    const verbAfterId = req.method === 'POST' && segs.length >= 3 && last !== undefined && ACTIONS.has(last) && segs[segs.length - 2]!.startsWith(':');
    const literals = segs.filter((s) => !s.startsWith(':'));
    const kind = (verbAfterId ? literals[literals.length - 2] : literals[literals.length - 1]) ?? '';
    let verb = verbAfterId ? last! : VERB[req.method]!;
    if (pattern === '/config') verb = 'replace';
    const store = this.store;
    let read: Plan['read'];
    if (pattern === '/config' || kind === 'versions') {
      // The version only: the whole document is kept with each version already.
      read = async () => ({ version: store.headVersion ? await store.headVersion() : (await store.current()).version });
    } else if (kind === 'certificates' && params.length >= 1 && store.certificates) {
      // redact() drops key_encrypted; the certificate itself is public.
      const certs = store.certificates;
      read = () => certs.get(params[0]!);
    } else if (kind === 'credentials' && params.length >= 2 && store.credentials) {
      const creds = store.credentials;
      read = () => creds.get(params[0]!, params[1]!);
    } else if (isEntityKind(literals[0]) && params.length >= 1 && segs[1]?.startsWith(':') && (kind === literals[0] || kind === 'targets')) {
      // The entity, or for an upstream's targets the upstream that holds them.
      const k = literals[0];
      read = () => store.get(k, params[0]!);
    }
    return { action: `${kind}.${verb}`, kind, params, read };
  }

  private async change(context: ExecutionContext, req: Req, pattern: string, next: CallHandler): Promise<unknown> {
    const plan = this.plan(req, pattern);
    const before = plan.read ? await plan.read().catch(() => null) : null;
    const result = await lastValueFrom(next.handle(), { defaultValue: undefined });
    let after: unknown = null;
    if (plan.read) after = await plan.read().catch(() => null);
    else if (req.method !== 'DELETE') after = result ?? null;
    let key = plan.params.join('/');
    if (req.method === 'POST' && !plan.read && result && typeof result === 'object') {
      // A creation: the new thing's own key after its parent's (`alice/<credential id>`).
      // An entity by its own key field: a plugin's `name` is its plugin type, its key is the id.
      const r = result as Record<string, unknown>;
      const k = plan.kind in ENTITY_KINDS ? r[ENTITY_KINDS[plan.kind as EntityKind].key] : (r.name ?? r.username ?? r.id);
      if (typeof k === 'string' && k !== '') key = key === '' ? k : `${key}/${k}`;
    }
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    await this.record({
      actor: req.user!.username,
      actor_role: req.user!.role,
      actor_via: req.user!.via,
      action: plan.action,
      target_kind: plan.kind || null,
      target_key: key || null,
      before: redact(before),
      after: redact(after),
      status: reply.statusCode,
      request_id: typeof req.id === 'string' ? req.id : null,
      source_ip: req.ip ?? null,
    });
    return result;
  }

  private async login(req: Req, next: CallHandler): Promise<unknown> {
    try {
      return await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (err) {
      const status = (err as { status?: number }).status ?? (err as { getStatus?: () => number }).getStatus?.();
      if (status === 401 || status === 403) {
        const name = (req.body as { username?: unknown } | undefined)?.username;
        await this.record({
          actor: typeof name === 'string' ? name.slice(0, 128) : '',
          actor_role: '',
          actor_via: 'password',
          action: 'login.failed',
          target_kind: null,
          target_key: null,
          before: null,
          after: null,
          status,
          request_id: typeof req.id === 'string' ? req.id : null,
          source_ip: req.ip ?? null,
        });
      }
      throw err;
    }
  }

  private async record(e: AuditEventInput): Promise<void> {
    try {
      await this.store.audit!.record(e);
    } catch (err) {
      this.logger.error({ err, action: e.action, actor: e.actor }, 'audit: could not record an admin change');
    }
  }
}
