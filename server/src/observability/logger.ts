/**
 * The process logger: pino, JSON lines on stdout. Secrets never go through here in clear (callers log
 * ids, not credentials); `redact` is the safety net for the header names that carry them.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'gatehouse', ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['*.authorization', '*.cookie', '*.password', '*.token', '*.headers.authorization', '*.headers.cookie', '*.headers["x-api-key"]'],
      censor: '[redacted]',
    },
  });
}
