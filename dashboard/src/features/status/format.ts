/**
 * Display formatting for the status page.
 */
import type { Service } from './types';

/** `3d 4h 5m`, `4h 0m`, `12m 5s`, `42s`. */
export function formatUptime(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h ${m}m`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** Where a service sends traffic, whether written as `url` or as its parts. */
export function serviceTarget(s: Service): string {
  if (s.url) return s.url;
  const protocol = s.protocol ?? 'http';
  return `${protocol}://${s.host ?? '?'}${s.port ? `:${s.port}` : ''}${s.path ?? ''}`;
}
