/** `GET /audit`: the audit log (admin only; it names who did what). */
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { GatewayError } from '../../errors/registry.js';
import type { AuditPage, AuditQuery } from '../../store/audit-store.js';
import type { ConfigStore } from '../../store/config-store.js';
import { ADMIN_STORE } from '../admin-env.js';
import { Roles } from '../auth/roles.decorator.js';

const ALLOWED = new Set(['actor', 'action', 'target', 'since', 'limit', 'cursor']);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

function bad(detail: string): never {
  throw new GatewayError('GW_ERR_ADMIN_VALIDATION', detail);
}

export function parseAuditQuery(raw: Record<string, unknown>): AuditQuery {
  const one = (k: string): string | undefined => {
    const v = raw[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') bad(`'${k}' may be given once`);
    return v;
  };
  for (const k of Object.keys(raw)) if (!ALLOWED.has(k)) bad(`unknown query parameter '${k}'`);
  const q: AuditQuery = { limit: 50 };
  const actor = one('actor');
  const action = one('action');
  const target = one('target');
  if (actor) q.actor = actor;
  if (action) q.action = action;
  if (target) q.target = target;
  const since = one('since');
  if (since !== undefined) {
    const d = new Date(since);
    if (!RFC3339.test(since) || Number.isNaN(d.getTime())) bad("'since' must be an RFC 3339 instant");
    q.since = d;
  }
  const limit = one('limit');
  if (limit !== undefined) {
    if (!/^\d{1,3}$/.test(limit) || Number(limit) < 1 || Number(limit) > 500) bad("'limit' must be an integer from 1 to 500");
    q.limit = Number(limit);
  }
  const cursor = one('cursor');
  if (cursor !== undefined) {
    if (!/^[1-9]\d{0,9}$/.test(cursor)) bad("'cursor' must be a positive integer");
    q.cursor = Number(cursor);
  }
  return q;
}

@Controller('audit')
export class AuditController {
  constructor(@Inject(ADMIN_STORE) private readonly store: ConfigStore) {}

  @Get() @Roles('admin')
  async list(@Query() raw: Record<string, unknown>): Promise<AuditPage> {
    const query = parseAuditQuery(raw);
    return this.store.audit ? this.store.audit.list(query) : { data: [], next_cursor: null };
  }
}
