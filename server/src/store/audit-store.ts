/**
 * The audit log (issue 7): every admin change — who, when, what, before and after — in `audit_events`.
 * Callers hand over values already redacted (admin/audit/redact.ts); this layer only stores and pages.
 *
 * Paging is by id, newest first: `cursor` is the id of the last event of the previous page, so a page
 * stays stable while new events are appended.
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';

export interface AuditEventInput {
  actor: string;
  actor_role: string;
  actor_via: string;
  action: string;
  target_kind: string | null;
  target_key: string | null;
  before: unknown;
  after: unknown;
  status: number;
  request_id: string | null;
  source_ip: string | null;
}

export interface AuditEvent extends AuditEventInput {
  id: number;
  /** RFC 3339. */
  at: string;
}

export interface AuditQuery {
  actor?: string;
  /** Exact action, or a prefix ending in `.` (e.g. `services.`). */
  action?: string;
  /** `kind` or `kind:key`. */
  target?: string;
  /** Events at or after this instant. */
  since?: Date;
  limit: number;
  /** Id of the last event of the previous page. */
  cursor?: number;
}

export interface AuditPage {
  data: AuditEvent[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: number | null;
}

export interface AuditStore {
  record(event: AuditEventInput): Promise<void>;
  list(query: AuditQuery): Promise<AuditPage>;
}

function toJson(v: unknown): Prisma.InputJsonValue | typeof Prisma.DbNull {
  return v === undefined || v === null ? Prisma.DbNull : (v as Prisma.InputJsonValue);
}

type Row = {
  id: number;
  at: Date;
  actor: string;
  actorRole: string;
  actorVia: string;
  action: string;
  targetKind: string | null;
  targetKey: string | null;
  before: unknown;
  after: unknown;
  status: number;
  requestId: string | null;
  sourceIp: string | null;
};

function fromRow(r: Row): AuditEvent {
  return {
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actor,
    actor_role: r.actorRole,
    actor_via: r.actorVia,
    action: r.action,
    target_kind: r.targetKind,
    target_key: r.targetKey,
    before: r.before ?? null,
    after: r.after ?? null,
    status: r.status,
    request_id: r.requestId,
    source_ip: r.sourceIp,
  };
}

function splitTarget(target: string | undefined): { kind?: string; key?: string } {
  if (!target) return {};
  const i = target.indexOf(':');
  return i === -1 ? { kind: target } : { kind: target.slice(0, i), key: target.slice(i + 1) };
}

export class PrismaAuditStore implements AuditStore {
  constructor(private readonly prisma: PrismaClient) {}

  async record(e: AuditEventInput): Promise<void> {
    await this.prisma.auditEvent.create({
      data: {
        actor: e.actor,
        actorRole: e.actor_role,
        actorVia: e.actor_via,
        action: e.action,
        targetKind: e.target_kind,
        targetKey: e.target_key,
        before: toJson(e.before),
        after: toJson(e.after),
        status: e.status,
        requestId: e.request_id,
        sourceIp: e.source_ip,
      },
    });
  }

  async list(q: AuditQuery): Promise<AuditPage> {
    const { kind, key } = splitTarget(q.target);
    const where: Prisma.AuditEventWhereInput = {
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.action ? (q.action.endsWith('.') ? { action: { startsWith: q.action } } : { action: q.action }) : {}),
      ...(kind ? { targetKind: kind } : {}),
      ...(key !== undefined ? { targetKey: key } : {}),
      ...(q.since ? { at: { gte: q.since } } : {}),
      ...(q.cursor !== undefined ? { id: { lt: q.cursor } } : {}),
    };
    const rows = (await this.prisma.auditEvent.findMany({ where, orderBy: { id: 'desc' }, take: q.limit + 1 })) as Row[];
    const more = rows.length > q.limit;
    const data = rows.slice(0, q.limit).map(fromRow);
    return { data, next_cursor: more ? data[data.length - 1]!.id : null };
  }
}

/** The DB-less store's log: in memory, bounded (that mode refuses config writes; logins and the like remain). */
export class MemoryAuditStore implements AuditStore {
  private readonly events: AuditEvent[] = [];
  private nextId = 1;
  constructor(private readonly max = 10_000) {}

  record(e: AuditEventInput): Promise<void> {
    this.events.push({ ...structuredClone(e), id: this.nextId++, at: new Date().toISOString() });
    if (this.events.length > this.max) this.events.shift();
    return Promise.resolve();
  }

  list(q: AuditQuery): Promise<AuditPage> {
    const { kind, key } = splitTarget(q.target);
    const since = q.since?.toISOString();
    const out: AuditEvent[] = [];
    let more = false;
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if (q.cursor !== undefined && e.id >= q.cursor) continue;
      if (q.actor && e.actor !== q.actor) continue;
      if (q.action && (q.action.endsWith('.') ? !e.action.startsWith(q.action) : e.action !== q.action)) continue;
      if (kind && e.target_kind !== kind) continue;
      if (key !== undefined && e.target_key !== key) continue;
      if (since && e.at < since) continue;
      if (out.length === q.limit) {
        more = true;
        break;
      }
      out.push(structuredClone(e));
    }
    return Promise.resolve({ data: out, next_cursor: more ? out[out.length - 1]!.id : null });
  }
}
