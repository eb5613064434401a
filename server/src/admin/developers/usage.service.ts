/**
 * A developer application's own traffic (`GET /me/applications/:app/usage`): per-minute counts of the
 * requests authenticated as the application's consumer, across the cluster, from the live hub
 * (observability/live-hub.ts keeps the last 24 hours in memory; a restart starts them afresh).
 */
import { Inject, Injectable } from '@nestjs/common';
import { GatewayError } from '../../errors/registry.js';
import type { RawQuery } from '../entities/entities.dto.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { badQuery, onlyQueryParams } from '../common/query.js';
import { LIVE_HUB } from '../live/live-hub.token.js';
import { ApplicationsService } from './applications.service.js';
import type { UsageDto } from './developers.dto.js';

/** What the usage endpoint needs of the admin app's LiveHub (injected as LIVE_HUB). */
export interface ConsumerUsageSource {
  consumerUsage(consumerId: string, sinceMs: number): { at: number; requests: number; errors: number; limited: number }[];
}

export const USAGE_MAX_MINUTES = 24 * 60;
export const USAGE_DEFAULT_MINUTES = 60;

export function parseMinutes(q: RawQuery): number {
  onlyQueryParams(q, ['minutes']);
  const raw = q.minutes;
  if (raw === undefined) return USAGE_DEFAULT_MINUTES;
  const n = typeof raw === 'string' && /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= USAGE_MAX_MINUTES)) {
    throw badQuery('minutes', `expected an integer from 1 to ${USAGE_MAX_MINUTES}`, `minutes must be an integer from 1 to ${USAGE_MAX_MINUTES}`);
  }
  return n;
}

@Injectable()
export class UsageService {
  constructor(
    @Inject(ApplicationsService) private readonly apps: ApplicationsService,
    @Inject(LIVE_HUB) private readonly source: ConsumerUsageSource | null,
  ) {}

  async usage(user: AdminPrincipal, app: string, query: RawQuery): Promise<UsageDto> {
    const minutes = parseMinutes(query);
    // Ownership first: another developer's application is a 404, whatever the hub holds.
    const consumer = (await this.apps.get(user, app)).consumer;
    if (!this.source) throw new GatewayError('GW_ERR_INTERNAL', 'usage is not collected by this admin plane');
    const now = Date.now();
    // Whole minutes: the current (incomplete) minute is the last point.
    const since = Math.floor(now / 60_000) * 60_000 - (minutes - 1) * 60_000;
    const points = this.source.consumerUsage(consumer, since);
    const totals = { requests: 0, errors: 0, limited: 0 };
    for (const p of points) {
      totals.requests += p.requests;
      totals.errors += p.errors;
      totals.limited += p.limited;
    }
    return { application: app, consumer, minutes, data: points.map((p) => ({ at: new Date(p.at).toISOString(), requests: p.requests, errors: p.errors, limited: p.limited })), totals };
  }
}
