/**
 * 429 counts for the Limits page from the live stream's ticks (lib/live.ts): each tick carries the
 * 429s of one second (`limited`) for the whole gateway, per route and per service; the page shows
 * their sums over the ticks held (the stream keeps the last `windowSeconds`).
 */
import type { LiveState } from '../../lib/live';
import type { LiveLimited } from './limits-page';

export function sumLimited(live: LiveState, seconds: number): LiveLimited {
  let total = 0;
  const byRoute = new Map<string, number>();
  const byService = new Map<string, number>();
  for (const t of live.ticks) {
    total += t.total.limited;
    for (const r of t.routes) if (r.limited) byRoute.set(r.route, (byRoute.get(r.route) ?? 0) + r.limited);
    for (const s of t.services) if (s.limited) byService.set(s.service, (byService.get(s.service) ?? 0) + s.limited);
  }
  return { status: live.status, seconds, total, byRoute, byService };
}
